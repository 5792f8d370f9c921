#include "verifier/device/device_init.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include "common/read/atomic_file.h"
#include "common/read/handles.h"
#include "common/read/input_file.h"
#include "common/read/kernel_keyring.h"
#include "common/read/manifest.h"
#include "common/read/trust_root.h"
#include "common/read/x509_util.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_root.h"
#include "verifier/device/small_file.h"
#include "verifier/slots/directory_slots.h"
#include "verifier/trust/ima_policy.h"

namespace imab::verifier {
namespace {

namespace fs = std::filesystem;

// Inputs are certificates, policies and trust roots; anything this large is
// the wrong file.
constexpr size_t kMaxInputBytes = 1u << 20;
constexpr const char* kConfigDir = "etc/imabundle";

// One file to copy into ROOT/etc/imabundle/.
struct Copy {
  std::string from;
  std::string name;  // in kConfigDir
  std::string bytes;
};

// Inputs may be symlinks (x509_ima.der often links to x509_evm.der), so
// this read follows them, unlike the reads of the device's own files.
Result<std::string> ReadInput(const std::string& option,
                              const std::string& path) {
  Result<std::string> bytes = ReadInputFile(path, kMaxInputBytes);
  if (!bytes.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     option + " " + bytes.error().message);
  }
  return bytes;
}

Result<KernelVersion> ParseVersion(const std::string& text) {
  Result<KernelVersion> version = ParseKernelVersion(text);
  if (!version.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--kernel-version: " + version.error().message);
  }
  return version;
}

// Reads and checks one certificate input; names it NAME.der or NAME.pem as
// given, so the file keeps the encoding the kernel tools expect.
Result<Copy> CertificateCopy(const std::string& option, const std::string& path,
                             const std::string& name) {
  IMAB_ASSIGN_OR_RETURN(std::string bytes, ReadInput(option, path));
  Result<Ptr<X509>> cert = LoadCertificate(path);
  if (!cert.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     option + " " + path + ": " + cert.error().message);
  }
  bool pem = bytes.rfind("-----BEGIN", 0) == 0;
  return Copy{path, name + (pem ? ".pem" : ".der"), std::move(bytes)};
}

Result<Copy> PemCopy(const std::string& option, const std::string& path,
                     const std::string& name) {
  IMAB_ASSIGN_OR_RETURN(std::string bytes, ReadInput(option, path));
  Result<std::vector<Ptr<X509>>> certs = LoadPemCertificates(path);
  if (!certs.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     option + " " + path + ": " + certs.error().message);
  }
  return Copy{path, name, std::move(bytes)};
}

// The kernel loads into .ima/.evm only a certificate its built-in CA
// issued (and, in 6.12, one fit for signing): any other would leave the
// device trusting nothing after its first boot.
Status CheckKernelLoads(const std::string& option, const std::string& path,
                        const InitOptions& options,
                        const KernelVersion& version) {
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, LoadCertificate(path));
  IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> cas,
                        LoadPemCertificates(options.kernel_ca));
  std::vector<X509*> ca_ptrs;
  for (const Ptr<X509>& ca : cas) {
    ca_ptrs.push_back(ca.get());
  }
  Status accepted = CheckKernelAcceptsCertificate(
      cert.get(), ca_ptrs, KernelTarget::ForVersion(version));
  if (!accepted.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     option + " " + path + ": the kernel (--kernel-ca " +
                         options.kernel_ca +
                         ") would refuse it: " + accepted.error().message);
  }
  return OkStatus();
}

Result<Copy> TrustRootCopy(const std::string& path) {
  IMAB_ASSIGN_OR_RETURN(std::string bytes, ReadInput("--trust-root", path));
  Result<SignedTrustRoot> root = ParseSignedTrustRoot(bytes);
  Status signed_ok =
      root.has_value() ? CheckTrustRootSelfSigned(*root) : root.error();
  if (!signed_ok.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--trust-root " + path + ": " + signed_ok.error().message);
  }
  return Copy{path, "trust-root", std::move(bytes)};
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
Status PrepareImaEvmCerts(const InitOptions& options, DeviceConfig& config,
                          std::vector<Copy>& copies) {
  const std::string dir = std::string(kConfigDir) + "/";
  IMAB_ASSIGN_OR_RETURN(Copy ima,
                        CertificateCopy("--ima-cert", options.ima_cert, "ima"));
  IMAB_RETURN_IF_ERROR(CheckKernelLoads("--ima-cert", options.ima_cert, options,
                                        config.kernel_version));
  config.ima_certs = {dir + ima.name};
  config.evm_certs = config.ima_certs;
  copies.push_back(std::move(ima));
  if (!options.evm_cert.empty()) {
    IMAB_ASSIGN_OR_RETURN(
        Copy evm, CertificateCopy("--evm-cert", options.evm_cert, "evm"));
    IMAB_RETURN_IF_ERROR(CheckKernelLoads("--evm-cert", options.evm_cert,
                                          options, config.kernel_version));
    config.evm_certs = {dir + evm.name};
    copies.push_back(std::move(evm));
  }
  return OkStatus();
}

// The --ima-policy, if any, parsed as the kernel would before it is copied.
Status PreparePolicy(const InitOptions& options, DeviceConfig& config,
                     std::vector<Copy>& copies) {
  if (options.ima_policy.empty()) {
    return OkStatus();
  }
  IMAB_ASSIGN_OR_RETURN(std::string policy,
                        ReadInput("--ima-policy", options.ima_policy));
  // A policy the verifier cannot read, or the kernel would refuse, would
  // refuse every later update: refuse it now, while nothing is written.
  Result<ImaPolicy> parsed = ImaPolicy::Parse(
      policy, "--ima-policy " + options.ima_policy, PolicyContextOf(config));
  if (!parsed.has_value()) {
    return parsed.error();
  }
  config.ima_policy = std::string(kConfigDir) + "/ima-policy";
  copies.push_back(Copy{options.ima_policy, "ima-policy", std::move(policy)});
  return OkStatus();
}

// Checks every option and input, filling `config` and `copies`; writes
// nothing.
Status Prepare(const InitOptions& options, DeviceConfig& config,
               std::vector<Copy>& copies) {
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
  if (options.release_ca.empty() == options.trust_root.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "give exactly one of --release-ca and --trust-root");
  }
  const std::string dir = std::string(kConfigDir) + "/";
  IMAB_ASSIGN_OR_RETURN(
      Copy kernel_ca,
      PemCopy("--kernel-ca", options.kernel_ca, "kernel-ca.pem"));
  config.kernel_cas = {dir + kernel_ca.name};
  copies.push_back(std::move(kernel_ca));
  if (!options.release_ca.empty()) {
    IMAB_ASSIGN_OR_RETURN(
        Copy release,
        PemCopy("--release-ca", options.release_ca, "release-ca.pem"));
    config.release_ca = dir + release.name;
    copies.push_back(std::move(release));
  } else {
    IMAB_ASSIGN_OR_RETURN(Copy root, TrustRootCopy(options.trust_root));
    config.trust_root = dir + root.name;
    copies.push_back(std::move(root));
  }
  IMAB_RETURN_IF_ERROR(PrepareImaEvmCerts(options, config, copies));
  IMAB_RETURN_IF_ERROR(PrepareRootFs(options, config));
  IMAB_RETURN_IF_ERROR(PreparePolicy(options, config, copies));
  return OkStatus();
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

Result<std::string> InitDevice(const InitOptions& options, Reporter& reporter) {
  DeviceConfig config;
  std::vector<Copy> copies;
  IMAB_RETURN_IF_ERROR(Prepare(options, config, copies));
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
