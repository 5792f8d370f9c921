#include "verifier/device/device_init.h"

#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "common/read/atomic_file.h"
#include "common/read/handles.h"
#include "common/read/kernel_keyring.h"
#include "common/read/manifest.h"
#include "common/read/trust_root.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_root.h"
#include "verifier/device/init_boot_settings.h"
#include "verifier/device/small_file.h"
#include "verifier/slots/block_slots.h"
#include "verifier/slots/directory_slots.h"
#include "verifier/slots/partition_lookup.h"
#include "verifier/trust/ima_policy.h"

namespace imab::verifier {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfigDir = "etc/imabundle";

// One file to copy into ROOT/etc/imabundle/.
struct Copy {
  std::string from;
  std::string name;  // in kConfigDir
  std::string bytes;
};

Result<KernelVersion> ParseVersion(const std::string& text) {
  Result<KernelVersion> version = ParseKernelVersion(text);
  if (!version.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--kernel-version: " + version.error().message);
  }
  return version;
}

// One certificate input, named NAME.der or NAME.pem as given, so the file
// keeps the encoding the kernel tools expect.
Copy CertificateCopy(const InitInput& input, const std::string& name) {
  bool pem = input.bytes.rfind("-----BEGIN", 0) == 0;
  return Copy{input.path, name + (pem ? ".pem" : ".der"), input.bytes};
}

// The kernel loads into .ima/.evm only a certificate its built-in CA
// issued (and, in 6.12, one fit for signing): any other would leave the
// device trusting nothing after its first boot.
Status CheckKernelLoads(const std::string& option, const InitInput& cert,
                        const InitInput& kernel_ca,
                        const KernelVersion& version) {
  if (cert.certs.size() != 1) {
    return MakeError(ErrorCode::kInternal, option + ": not loaded");
  }
  std::vector<X509*> ca_ptrs;
  for (const Ptr<X509>& ca : kernel_ca.certs) {
    ca_ptrs.push_back(ca.get());
  }
  Status accepted = CheckKernelAcceptsCertificate(
      cert.certs[0].get(), ca_ptrs, KernelTarget::ForVersion(version));
  if (!accepted.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     option + " " + cert.path + ": the kernel (--kernel-ca " +
                         kernel_ca.path +
                         ") would refuse it: " + accepted.error().message);
  }
  return OkStatus();
}

Result<Copy> TrustRootCopy(const InitInput& input) {
  Result<SignedTrustRoot> root = ParseSignedTrustRoot(input.bytes);
  Status signed_ok =
      root.has_value() ? CheckTrustRootSelfSigned(*root) : root.error();
  if (!signed_ok.ok()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "--trust-root " + input.path + ": " + signed_ok.error().message);
  }
  return Copy{input.path, "trust-root", input.bytes};
}

// The root file system description and kernel option of the options.
Status PrepareRootFs(const InitOptions& options, DeviceConfig& config) {
  if (!options.rootfs_magic.empty()) {
    Result<uint64_t> magic = ParseFsMagic(options.rootfs_magic);
    if (!magic.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--rootfs-magic: " + magic.error().message);
    }
    config.rootfs.magic = *magic;
  }
  if (!options.rootfs_uuid.empty()) {
    Result<std::string> uuid = ParseFsUuid(options.rootfs_uuid);
    if (!uuid.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--rootfs-uuid: " + uuid.error().message);
    }
    config.rootfs.uuid = *uuid;
  }
  config.rootfs.type = options.rootfs_type;
  config.ima_appraise_modsig = options.ima_appraise_modsig;
  return OkStatus();
}

// The IMA certificate (also the EVM one unless --evm-cert names another),
// each checked to load under the device's kernel.
Status PrepareImaEvmCerts(const InitInputs& inputs, DeviceConfig& config,
                          std::vector<Copy>& copies) {
  const std::string dir = std::string(kConfigDir) + "/";
  Copy ima = CertificateCopy(inputs.ima_cert, "ima");
  IMAB_RETURN_IF_ERROR(CheckKernelLoads(
      "--ima-cert", inputs.ima_cert, inputs.kernel_ca, config.kernel_version));
  config.ima_certs = {dir + ima.name};
  config.evm_certs = config.ima_certs;
  copies.push_back(std::move(ima));
  if (!inputs.evm_cert.path.empty()) {
    Copy evm = CertificateCopy(inputs.evm_cert, "evm");
    IMAB_RETURN_IF_ERROR(CheckKernelLoads("--evm-cert", inputs.evm_cert,
                                          inputs.kernel_ca,
                                          config.kernel_version));
    config.evm_certs = {dir + evm.name};
    copies.push_back(std::move(evm));
  }
  return OkStatus();
}

// The --ima-policy, if any, parsed as the kernel would before it is copied.
Status PreparePolicy(const InitInput& policy, DeviceConfig& config,
                     std::vector<Copy>& copies) {
  if (policy.path.empty()) {
    return OkStatus();
  }
  // A policy the verifier cannot read, or the kernel would refuse, would
  // refuse every later update: refuse it now, while nothing is written.
  Result<ImaPolicy> parsed = ImaPolicy::Parse(
      policy.bytes, "--ima-policy " + policy.path, PolicyContextOf(config));
  if (!parsed.has_value()) {
    return parsed.error();
  }
  config.ima_policy = std::string(kConfigDir) + "/ima-policy";
  copies.push_back(Copy{policy.path, "ima-policy", policy.bytes});
  return OkStatus();
}

// The option values that are not files.
Status PrepareSettings(const InitOptions& options, DeviceConfig& config) {
  IMAB_RETURN_IF_ERROR(CheckCompatibleName(options.compatible));
  config.compatible = options.compatible;
  IMAB_ASSIGN_OR_RETURN(config.kernel_profile,
                        ParseKernelProfile(options.kernel_profile));
  IMAB_ASSIGN_OR_RETURN(config.kernel_version,
                        ParseVersion(options.kernel_version));
  if (options.layout != "ab" && options.layout != "in-place") {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "--layout " + options.layout + ": expected ab or in-place");
  }
  config.layout =
      options.layout == "ab" ? SlotLayout::kAb : SlotLayout::kInPlace;
  Result<InitramfsSource> initramfs = ParseInitramfsSource(options.initramfs);
  if (!initramfs.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--initramfs " + initramfs.error().message);
  }
  config.initramfs = *initramfs;
  config.allow_development = options.allow_development;
  config.release_require_eku = options.release_require_eku;
  config.critical = DefaultCriticalFiles();
  return OkStatus();
}

// Checks every option and input, filling `config` and `copies`; writes
// nothing.
Status Prepare(const InitOptions& options, const InitInputs& inputs,
               DeviceConfig& config, std::vector<Copy>& copies) {
  IMAB_RETURN_IF_ERROR(PrepareSettings(options, config));
  if (inputs.release_ca.path.empty() == inputs.trust_root.path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "give exactly one of --release-ca and --trust-root");
  }
  const std::string dir = std::string(kConfigDir) + "/";
  copies.push_back(
      Copy{inputs.kernel_ca.path, "kernel-ca.pem", inputs.kernel_ca.bytes});
  config.kernel_cas = {dir + "kernel-ca.pem"};
  if (!inputs.release_ca.path.empty()) {
    copies.push_back(Copy{inputs.release_ca.path, "release-ca.pem",
                          inputs.release_ca.bytes});
    config.release_ca = dir + "release-ca.pem";
  } else {
    IMAB_ASSIGN_OR_RETURN(Copy root, TrustRootCopy(inputs.trust_root));
    config.trust_root = dir + root.name;
    copies.push_back(std::move(root));
  }
  IMAB_RETURN_IF_ERROR(PrepareImaEvmCerts(inputs, config, copies));
  IMAB_RETURN_IF_ERROR(PrepareRootFs(options, config));
  IMAB_RETURN_IF_ERROR(PreparePolicy(inputs.ima_policy, config, copies));
  return ApplyBootSettings(options, config);
}

// Block slots: both partitions found, and state-dir on neither (it would
// be formatted away by the next install). Judged on the nearest folder of
// state-dir that exists: the one it will be made in. Writes nothing.
Status CheckBlockSetup(const DeviceRoot& root, const DeviceConfig& config) {
  IMAB_ASSIGN_OR_RETURN(Partition a, LookUpPartition(config.boot.slot_a));
  IMAB_ASSIGN_OR_RETURN(Partition b, LookUpPartition(config.boot.slot_b));
  fs::path relative = config.boot.state_dir;
  for (;;) {
    IMAB_ASSIGN_OR_RETURN(std::optional<std::string> found,
                          root.Find(relative.string(), true));
    if (found.has_value()) {
      return CheckStateDirOffSlots(*found, a, b);
    }
    if (relative.empty()) {
      return MakeError(ErrorCode::kInternal, "the device root is missing");
    }
    relative = relative.parent_path();
  }
}

// Makes the state-dir layout of block slots unless it exists.
Status WriteBlockSlots(const InitOptions& options, const DeviceRoot& root,
                       const DeviceConfig& config, Reporter& reporter) {
  IMAB_ASSIGN_OR_RETURN(std::string state_dir,
                        root.MakeDirectories(config.boot.state_dir));
  if (fs::exists(fs::symlink_status(state_dir + "/" + kActivePointerName))) {
    reporter.Info("keeping the existing slots and their state in " +
                  root.Display(config.boot.state_dir));
    return OkStatus();
  }
  return BlockSlots::Create(
      state_dir, options.from_bundle.empty() ? SlotId::kA : SlotId::kB);
}

// Makes ROOT/etc/imabundle and ROOT/<slots-dir>, resolved beneath ROOT,
// and the slots unless they exist; copies the inputs. The configuration
// itself is written last by the caller.
Status WriteDeviceFiles(const InitOptions& options, const DeviceRoot& root,
                        const DeviceConfig& config,
                        const std::vector<Copy>& copies, Reporter& reporter) {
  // Both folders first: a symlink that leads nowhere is refused before
  // any file is written.
  IMAB_ASSIGN_OR_RETURN(std::string config_dir,
                        root.MakeDirectories(kConfigDir));
  if (config.boot.slots == SlotKind::kBlock) {
    for (const Copy& copy : copies) {
      IMAB_RETURN_IF_ERROR(
          WriteFileAtomically(config_dir + "/" + copy.name, copy.bytes));
    }
    return WriteBlockSlots(options, root, config, reporter);
  }
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                        root.Find(config.slots_dir, true));
  IMAB_ASSIGN_OR_RETURN(std::string slots_dir,
                        root.MakeDirectories(config.slots_dir));
  for (const Copy& copy : copies) {
    IMAB_RETURN_IF_ERROR(
        WriteFileAtomically(config_dir + "/" + copy.name, copy.bytes));
  }
  if (existing.has_value() && DirectorySlots::Open(slots_dir).has_value()) {
    // The floors recorded there must survive a re-initialisation.
    reporter.Info("keeping the existing slots and their state in " +
                  root.Display(config.slots_dir));
    return OkStatus();
  }
  // With a factory image the pointer starts at the empty slot-b, so the
  // image lands in slot-a, as on every later first boot.
  return DirectorySlots::Create(
      slots_dir, options.from_bundle.empty() ? SlotId::kA : SlotId::kB);
}

}  // namespace

Result<std::string> InitDevice(const InitOptions& options,
                               const InitInputs& inputs, Reporter& reporter) {
  DeviceConfig config;
  std::vector<Copy> copies;
  IMAB_RETURN_IF_ERROR(Prepare(options, inputs, config, copies));
  std::error_code ec;
  config.root = fs::absolute(options.root, ec).lexically_normal().string();
  while (config.root.size() > 1 && config.root.back() == '/') {
    config.root.pop_back();
  }
  // ROOT itself is the user's choice and may be made here; everything
  // below it is resolved beneath it (DeviceRoot).
  fs::create_directories(config.root, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, config.root + ": " + ec.message());
  }
  IMAB_ASSIGN_OR_RETURN(DeviceRoot root, DeviceRoot::Open(config.root));
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                        root.Find(kDeviceConfigPath));
  if (existing.has_value() && !options.force) {
    return MakeError(ErrorCode::kInvalidArgument,
                     root.Display(kDeviceConfigPath) +
                         " exists (use --force to replace it)");
  }
  if (config.boot.slots == SlotKind::kBlock) {
    IMAB_RETURN_IF_ERROR(CheckBlockSetup(root, config));
  }
  IMAB_RETURN_IF_ERROR(
      WriteDeviceFiles(options, root, config, copies, reporter));
  IMAB_ASSIGN_OR_RETURN(std::string config_path,
                        root.ResolveForCreate(kDeviceConfigPath));
  // Written last: a device counts as initialised once this file exists.
  IMAB_RETURN_IF_ERROR(
      WriteFileAtomically(config_path, RenderDeviceConfig(config)));
  IMAB_RETURN_IF_ERROR(LoadDeviceConfig(config.root));
  return config.root;
}

}  // namespace imab::verifier
