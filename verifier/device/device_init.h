// InitDevice: provisions a device (`imab-verify device init`): copies its
// certificates and policy into ROOT/etc/imabundle/, writes device.conf,
// creates the A/B slots, ready for the factory image.
#pragma once

#include <string>
#include <vector>

#include "common/read/handles.h"
#include "common/read/reporter.h"
#include "common/read/result.h"

namespace imab::verifier {

struct InitOptions {
  std::string root;  // the device's "/" (created if missing)
  std::string compatible;
  std::string release_ca;  // PEM; or
  std::string trust_root;  // signed trust root (FORMAT.md §8)
  std::string kernel_ca;   // PEM, the CA built into the kernel
  std::string ima_cert;    // PEM or DER
  std::string evm_cert;    // "": the IMA certificate serves EVM too
  std::string kernel_profile = "le64";
  std::string kernel_version = "6.6";
  std::string ima_policy;  // "": the built-in appraise_tcb
  // The root file system and kernel option the policy is judged with.
  std::string rootfs_magic, rootfs_type, rootfs_uuid;  // "": unknown
  bool ima_appraise_modsig = false;
  std::string layout = "ab";  // "ab" or "in-place"
  // "image" (an initramfs comes with the image or from outside it) or
  // "none" (the device boots no initramfs: its keys come from the image's
  // /etc/keys).
  std::string initramfs = "image";
  bool allow_development = false;
  bool release_require_eku = false;  // signer must carry EKU codeSigning
  bool force = false;                // replace an existing device.conf
  std::string from_bundle;           // factory image to install, or ""
  // "KEY=VALUE" lines of device.conf's "Slots" and "Bootloader" sections
  // (slots, slot-a, slot-b, mkfs-options, state-dir, bootloader, ...,
  // hook-*), checked as LoadDeviceConfig checks them (`--set`).
  std::vector<std::string> boot_settings;
  // The boot loader and hooks as options of their own (device.conf's keys of
  // the same names, paths inside the device; "" leaves a key out; --set wins).
  std::string bootloader;  // grub, uboot, custom, none
  std::string grubenv, fw_env_config, bootloader_script;
  std::string boot_attempts;
  std::string hook_pre_install, hook_post_install, hook_on_fallback;
};

// One input file of `device init`, read once by the main
// (verifier/load/material_loader.h): its bytes, copied into the device, and
// for a certificate file its certificates. Empty when the option was not
// given.
struct InitInput {
  std::string path;  // as given, for messages
  std::string bytes;
  std::vector<Ptr<X509>> certs;  // certificate inputs only
};

// The files InitOptions names, loaded: the kernel CA (PEM), the release CA
// (PEM) or the trust root, the IMA and EVM certificates (PEM or DER, one
// certificate each) and the IMA policy.
struct InitInputs {
  InitInput kernel_ca;
  InitInput release_ca;
  InitInput trust_root;
  InitInput ima_cert;
  InitInput evm_cert;
  InitInput ima_policy;
};

// Validates every option and input (`inputs`, loaded from the files
// `options` names; only read) before writing anything
// (kInvalidArgument naming the option or file). Refuses an existing
// device.conf unless `force` (kInvalidArgument). Then writes, each file
// atomically: etc/imabundle/{release-ca.pem | trust-root, kernel-ca.pem,
// ima.der|ima.pem, evm.der|evm.pem, ima-policy} and, last, device.conf;
// creates the slots (active slot empty: version "", floors 0) unless they
// already exist, in which case they and their floors are kept. With
// `from_bundle` the active pointer starts at the empty slot-b, so that the
// factory image the caller then installs (as `install` does) lands in
// slot-a. With slots = block the slots are the layout in state-dir
// (BlockSlots::Create); a state-dir whose file system is one of the slot
// partitions is refused before anything is written. Returns the device's
// root as device.conf records it (absolute).
Result<std::string> InitDevice(const InitOptions& options,
                               const InitInputs& inputs, Reporter& reporter);

}  // namespace imab::verifier
