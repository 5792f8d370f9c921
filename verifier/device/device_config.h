// DeviceConfig: what the verifier knows about the device it runs on, read
// from ROOT/etc/imabundle/device.conf (manifests/device.conf.md). ROOT plays
// the device's "/" so that tests run against a folder; every path the file
// names is inside ROOT.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/kernel_profile.h"
#include "common/read/kernel_version.h"
#include "common/read/result.h"

namespace imab::verifier {

// Where the configuration lives, relative to ROOT.
inline constexpr const char* kDeviceConfigPath = "etc/imabundle/device.conf";

enum class SlotLayout { kAb, kInPlace };

// Where the kernel finds the certificates it loads into .ima and .evm at
// boot (init/main.c: integrity_load_keys() once the root is mounted): in
// an initramfs the image ships or the device supplies (kImage), or, on a
// device that boots no initramfs at all, in the image's root file system
// (kNone: /etc/keys/x509_ima.der and x509_evm.der).
enum class InitramfsSource { kImage, kNone };

// Where the two images live: folders in slots-dir (today's layout) or
// two partitions, each a fresh ext4 per install.
enum class SlotKind { kDirectory, kBlock };

// What starts a slot at boot; kNone: nothing (the `active` pointer is
// the only record, directory slots only).
enum class BootloaderKind { kNone, kGrub, kUboot, kCustom };

// How the device keeps and boots its slots (manifests/device.conf.md,
// "Slots" and "Bootloader").
struct BootSetup {
  SlotKind slots = SlotKind::kDirectory;
  // slots = block: the partitions as written, "/dev/NAME", "PARTUUID=ID"
  // or "PARTLABEL=NAME". Host names: not resolved beneath ROOT.
  std::string slot_a;
  std::string slot_b;
  // Extra arguments for mkfs.ext4 (the ext4 features), split on blanks.
  std::vector<std::string> mkfs_options;
  // slots = block: the folder of the slot states, lock and results, on a
  // file system both slots mount; relative to ROOT. With directory slots
  // the state stays in slots-dir.
  std::string state_dir = "var/lib/imabundle";
  BootloaderKind bootloader = BootloaderKind::kNone;
  std::string grubenv;            // grub: the grubenv file, relative to ROOT
  std::string fw_env_config;      // uboot: fw_env.config, relative to ROOT
  uint32_t boot_attempts = 3;     // uboot: BOOT_X_LEFT of a fresh slot
  std::string bootloader_script;  // custom: relative to ROOT
  // Scripts called around an install and after a fallback; relative to
  // ROOT, "" for none.
  std::string hook_pre_install;
  std::string hook_post_install;
  std::string hook_on_fallback;
};

// "grub", "uboot", "custom", "none".
const char* BootloaderName(BootloaderKind kind);

// The device's root file system, for the fsmagic=, fsname= and fsuuid=
// conditions of its IMA policy; unset parts are unknown.
struct RootFileSystem {
  std::optional<uint64_t> magic;  // super block s_magic (magic.h)
  std::string type;               // s_type->name, "ext4"
  std::string uuid;               // s_uuid, canonical lower-case text
};

// "0xef53" / "ef53" (as the kernel's fsmagic=) and a UUID as uuid_parse()
// takes it; kInvalidArgument otherwise.
Result<uint64_t> ParseFsMagic(const std::string& text);
// "image" or "none" (device.conf `initramfs`); kInvalidArgument otherwise.
Result<InitramfsSource> ParseInitramfsSource(const std::string& value);
Result<std::string> ParseFsUuid(const std::string& text);

struct DeviceConfig {
  std::string root;        // the device's "/" (absolute, no trailing '/')
  std::string compatible;  // bundles must say the same
  KernelProfile kernel_profile;
  KernelVersion kernel_version;  // decides which keyring rules apply
  // Files inside ROOT (paths relative to ROOT), PEM or DER:
  std::vector<std::string> kernel_cas;  // CAs built into the running kernel
  std::vector<std::string> ima_certs;   // loaded now into .ima
  std::vector<std::string> evm_certs;   // loaded now into .evm
  std::string ima_policy;               // kernel policy syntax; "" = built-in
                                        // appraise_tcb (appraise fowner=0)
  RootFileSystem rootfs;
  bool ima_appraise_modsig = false;  // CONFIG_IMA_APPRAISE_MODSIG
  std::string release_ca;            // PEM; or
  std::string trust_root;            // signed release trust root
  // Bundle signer certificates must carry extendedKeyUsage codeSigning
  // (without it: an EKU, when present, must include codeSigning).
  bool release_require_eku = false;
  // Glob patterns (image paths, no leading '/') of the files the device
  // cannot boot or update without: the default list and the `critical`
  // lines. Their closure is listed first, with what the device would
  // suffer, when the kernel would refuse one at a hook.
  std::vector<std::string> critical;
  // The `critical` lines that are not patterns of the default list: the
  // owner's requirement that the files they name verify even where the
  // IMA policy appraises them at no hook.
  std::vector<std::string> owner_critical;
  // The init the kernel starts (its init= argument), an image path; ""
  // for the kernel's search: /sbin/init, /etc/init, /bin/init, /bin/sh.
  std::string init;
  // CA-store anchors the device needs (link name or certificate file) and
  // how long before expiry an anchor counts as lost.
  std::vector<std::string> required_anchors;
  uint32_t ca_expiry_horizon_days = 365;
  SlotLayout layout = SlotLayout::kAb;
  InitramfsSource initramfs = InitramfsSource::kImage;
  std::string slots_dir = "var/lib/imabundle";  // relative to ROOT
  bool allow_development = false;
  BootSetup boot;
};

// The default critical set: the ELF interpreters, every libc, init, and
// the verifier itself.
const std::vector<std::string>& DefaultCriticalFiles();

// Reads ROOT/etc/imabundle/device.conf. kInvalidArgument when it is missing
// ("device not initialised: ROOT/etc/imabundle/device.conf: ..."),
// kInvalidArgument naming file and line for anything malformed.
Result<DeviceConfig> LoadDeviceConfig(const std::string& root);

// The parser LoadDeviceConfig runs on the file's text, exposed so that it
// can be fuzzed (tests/fuzz/device_config_fuzz.cpp): `root` becomes
// DeviceConfig::root as given; messages name "WHERE:LINE: ..." as
// LoadDeviceConfig's name the file. Touches no file.
Result<DeviceConfig> ParseDeviceConfigText(std::string_view text,
                                           const std::string& root,
                                           const std::string& where);

// The canonical text of `config` (what LoadDeviceConfig reads back).
std::string RenderDeviceConfig(const DeviceConfig& config);

// The real location of ROOT/path, resolved beneath ROOT (DeviceRoot:
// symlinks resolve as if ROOT were "/"). kInvalidArgument naming
// ROOT/path when it does not exist or cannot be resolved.
Result<std::string> DevicePath(const DeviceConfig& config,
                               const std::string& path);

// The real location of the slots folder (slots-dir), resolved beneath ROOT
// as DevicePath() does; nullopt when the device has none. kInvalidArgument
// when the path exists only by following a symlink out of ROOT.
Result<std::optional<std::string>> FindSlotsFolder(const DeviceConfig& config);

// The same, a missing folder being an error too. Resolved beneath ROOT
// as DevicePath() does, so that a symlinked ROOT/var/lib cannot move the
// images and their state outside ROOT. kInvalidArgument ("slots not
// initialised: ...") when it does not exist.
Result<std::string> SlotsFolder(const DeviceConfig& config);

}  // namespace imab::verifier
