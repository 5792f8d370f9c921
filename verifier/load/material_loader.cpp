#include "verifier/load/material_loader.h"

#include <sys/stat.h>

#include <charconv>

#include "common/read/input_file.h"
#include "common/read/limits.h"
#include "common/read/x509_util.h"
#include "verifier/boot/bootloader.h"
#include "verifier/device/boot_control.h"
#include "verifier/device/booted_slot.h"
#include "verifier/device/device_root.h"
#include "verifier/slots/directory_slots.h"
#include "verifier/slots/open_slots.h"
#include "verifier/trust/ima_policy.h"

namespace imab::verifier {
namespace {

// A policy is a few hundred lines; the cap keeps /dev/zero-like files out.
constexpr size_t kMaxImaPolicyBytes = 1u << 20;

// A file of one or more certificates: PEM (several allowed) or one DER.
Result<std::vector<Ptr<X509>>> LoadCertificates(const std::string& path) {
  Result<std::vector<Ptr<X509>>> pem = LoadPemCertificates(path);
  if (pem.has_value()) {
    return pem;
  }
  Result<Ptr<X509>> one = LoadCertificate(path);
  if (!one.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path + ": " + one.error().message);
  }
  std::vector<Ptr<X509>> out;
  out.push_back(std::move(*one));
  return out;
}

Status AddAll(const DeviceConfig& config, const std::vector<std::string>& paths,
              std::vector<Ptr<X509>>& to) {
  for (const std::string& path : paths) {
    IMAB_ASSIGN_OR_RETURN(std::string real, DevicePath(config, path));
    IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> certs, LoadCertificates(real));
    for (Ptr<X509>& cert : certs) {
      to.push_back(std::move(cert));
    }
  }
  return OkStatus();
}

// The same certificates once more, sharing each (X509_up_ref): device init
// names one file for both keyrings unless --evm-cert names another, and
// the loader reads each file once.
Result<std::vector<Ptr<X509>>> Shared(const std::vector<Ptr<X509>>& certs) {
  std::vector<Ptr<X509>> copies;
  for (const Ptr<X509>& cert : certs) {
    if (X509_up_ref(cert.get()) != 1) {
      return MakeError(ErrorCode::kInternal, "X509_up_ref");
    }
    copies.emplace_back(cert.get());  // owns the reference just taken
  }
  return copies;
}

// Certificates the device recorded itself (DER).
Status AddRecorded(const std::vector<std::string>& ders, const char* what,
                   std::vector<Ptr<X509>>& to) {
  for (const std::string& der : ders) {
    Result<Ptr<X509>> cert = ParseCertificateDer(
        der, std::string("device state: a recorded ") + what);
    // The device's own state, not the bundle, is broken.
    if (!cert.has_value()) {
      return MakeError(ErrorCode::kIo, cert.error().message);
    }
    to.push_back(std::move(*cert));
  }
  return OkStatus();
}

Status ApplyRecordedKernel(const DeviceState& state, DeviceTrust& trust) {
  if (!state.kernel_profile.empty()) {
    Result<KernelProfile> profile = ParseKernelProfile(state.kernel_profile);
    if (!profile.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "recorded kernel-profile: " + profile.error().message);
    }
    trust.profile = *profile;
  }
  if (!state.kernel_version.empty()) {
    const std::string& text = state.kernel_version;
    KernelVersion version;
    const char* end = text.data() + text.size();
    auto major = std::from_chars(text.data(), end, version.major);
    auto minor =
        major.ec == std::errc() && major.ptr != end && *major.ptr == '.'
            ? std::from_chars(major.ptr + 1, end, version.minor)
            : std::from_chars_result{end, std::errc::invalid_argument};
    if (minor.ec != std::errc() || minor.ptr != end) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "recorded kernel-version " + text + ": not MAJOR.MINOR");
    }
    trust.kernel_version = version;
  }
  return OkStatus();
}

// The device's IMA policy file, parsed as the kernel would, into `trust`.
Status LoadPolicy(const DeviceConfig& config, DeviceTrust& trust) {
  IMAB_ASSIGN_OR_RETURN(const std::string path,
                        DevicePath(config, config.ima_policy));
  Result<std::string> text = ReadInputFile(path, kMaxImaPolicyBytes);
  if (!text.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "IMA policy " + text.error().message);
  }
  trust.policy_context = PolicyContextOf(config);
  IMAB_ASSIGN_OR_RETURN(trust.policy,
                        ImaPolicy::Parse(*text, path, trust.policy_context));
  trust.policy_text = std::move(*text);
  trust.policy_where = path;
  return OkStatus();
}

// A trust root's bytes, parsed; `name` for messages.
Result<ReleaseAnchors> HeldRoot(std::string bytes, const std::string& name) {
  Result<SignedTrustRoot> root = ParseSignedTrustRoot(bytes);
  if (!root.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     name + ": " + root.error().message);
  }
  ReleaseAnchors anchors;
  anchors.trust_root = HeldTrustRoot{std::move(bytes), std::move(*root)};
  return anchors;
}

// Inputs of device init are certificates, policies and trust roots;
// anything this large is the wrong file.
constexpr size_t kMaxInitInputBytes = 1u << 20;

Result<InitInput> ReadInitInput(const std::string& option,
                                const std::string& path) {
  Result<std::string> bytes = ReadInputFile(path, kMaxInitInputBytes);
  if (!bytes.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     option + " " + bytes.error().message);
  }
  return InitInput{path, std::move(*bytes), {}};
}

// Every certificate of a PEM file (`pem_list`), or one certificate, PEM
// or DER.
Result<std::vector<Ptr<X509>>> CertificatesOf(const std::string& path,
                                              bool pem_list) {
  if (pem_list) {
    return LoadPemCertificates(path);
  }
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> one, LoadCertificate(path));
  std::vector<Ptr<X509>> certs;
  certs.push_back(std::move(one));
  return certs;
}

// A certificate input; nothing when `path` is empty and not `required`.
Result<InitInput> LoadInitCertificates(const std::string& option,
                                       const std::string& path, bool pem_list,
                                       bool required) {
  if (path.empty() && !required) {
    return InitInput{};
  }
  IMAB_ASSIGN_OR_RETURN(InitInput input, ReadInitInput(option, path));
  Result<std::vector<Ptr<X509>>> certs = CertificatesOf(path, pem_list);
  if (!certs.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     option + " " + path + ": " + certs.error().message);
  }
  input.certs = std::move(*certs);
  return input;
}

// Whether `device init` created the slots of `config`: the slots folder
// `found` for directory slots, the active pointer in state-dir for block
// slots.
Result<bool> SlotsCreated(const DeviceConfig& config,
                          const std::optional<std::string>& found) {
  if (config.boot.slots != SlotKind::kBlock) {
    return found.has_value();
  }
  IMAB_ASSIGN_OR_RETURN(DeviceRoot device, DeviceRoot::Open(config.root));
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> state_dir,
                        device.Find(config.boot.state_dir, true));
  struct stat st {};
  return state_dir.has_value() &&
         ::lstat((*state_dir + "/" + kActivePointerName).c_str(), &st) == 0;
}

// The state an install would be judged against (StateToJudgeAgainst)
// and its path reserve, read without the install lock and without
// writing anything.
Status StateAnInstallUses(const DeviceConfig& config, DeviceState& state,
                          size_t& path_reserve) {
  IMAB_ASSIGN_OR_RETURN(std::unique_ptr<Bootloader> bootloader,
                        OpenBootloader(config));
  IMAB_ASSIGN_OR_RETURN(std::unique_ptr<SlotBackend> slots,
                        OpenSlots(config, nullptr));
  IMAB_ASSIGN_OR_RETURN(std::optional<SlotId> booted, ReadBootedSlot(config));
  const BootContext context{config, *slots, bootloader.get(), booted};
  IMAB_ASSIGN_OR_RETURN(state, StateToJudgeAgainst(context));
  path_reserve = slots->ImagePathReserve();
  return OkStatus();
}

}  // namespace

Status OpenBundle(const std::string& path, LoadedRun& run) {
  IMAB_ASSIGN_OR_RETURN(run.bundle, FileByteSource::Open(path));
  run.options.bundle = run.bundle.get();
  run.options.trust = &run.trust;
  return OkStatus();
}

Result<InitInputs> LoadInitInputs(const InitOptions& options) {
  InitInputs in;
  IMAB_ASSIGN_OR_RETURN(
      in.kernel_ca,
      LoadInitCertificates("--kernel-ca", options.kernel_ca, true, true));
  IMAB_ASSIGN_OR_RETURN(
      in.release_ca,
      LoadInitCertificates("--release-ca", options.release_ca, true, false));
  if (!options.trust_root.empty()) {
    IMAB_ASSIGN_OR_RETURN(in.trust_root,
                          ReadInitInput("--trust-root", options.trust_root));
  }
  IMAB_ASSIGN_OR_RETURN(
      in.ima_cert,
      LoadInitCertificates("--ima-cert", options.ima_cert, false, true));
  IMAB_ASSIGN_OR_RETURN(
      in.evm_cert,
      LoadInitCertificates("--evm-cert", options.evm_cert, false, false));
  if (!options.ima_policy.empty()) {
    IMAB_ASSIGN_OR_RETURN(in.ima_policy,
                          ReadInitInput("--ima-policy", options.ima_policy));
  }
  return in;
}

Result<ReleaseAnchors> LoadReleaseAnchors(const std::string& release_ca,
                                          const std::string& trust_root) {
  if (release_ca.empty() == trust_root.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "give either --release-ca or --trust-root");
  }
  return release_ca.empty() ? LoadTrustRootFile(trust_root)
                            : LoadReleaseCaFile(release_ca);
}

Result<ReleaseAnchors> LoadReleaseCaFile(const std::string& path) {
  Result<std::vector<Ptr<X509>>> certs = LoadPemCertificates(path);
  if (!certs.has_value()) {
    // A file that cannot be read was the trust-root check's failure.
    return certs.error().code == ErrorCode::kInvalidArgument
               ? certs.error()
               : WithContext(certs.error(), "trust-root");
  }
  ReleaseAnchors anchors;
  anchors.release_cas = std::move(*certs);
  anchors.source = path;
  return anchors;
}

Result<ReleaseAnchors> LoadTrustRootFile(const std::string& path) {
  Result<std::string> bytes = ReadInputFile(path, kMaxTrustRootBytes);
  if (!bytes.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument, bytes.error().message);
  }
  return HeldRoot(std::move(*bytes), path);
}

Result<ReleaseAnchors> LoadDeviceReleaseAnchors(const DeviceConfig& config,
                                                const DeviceState& state) {
  // The adopted root is handed over as bytes: judging a bundle writes
  // nothing (`verify --root` may run on a read-only device).
  if (state.trust_root.has_value()) {
    return HeldRoot(*state.trust_root, "adopted trust root");
  }
  if (!config.trust_root.empty()) {
    IMAB_ASSIGN_OR_RETURN(std::string path,
                          DevicePath(config, config.trust_root));
    return LoadTrustRootFile(path);
  }
  IMAB_ASSIGN_OR_RETURN(std::string path,
                        DevicePath(config, config.release_ca));
  return LoadReleaseCaFile(path);
}

Result<RequiredCas> LoadRequiredCas(const std::vector<std::string>& specs,
                                    uint32_t horizon_days) {
  IMAB_ASSIGN_OR_RETURN(std::vector<RequiredAnchor> anchors,
                        ResolveRequiredAnchors(specs));
  return RequiredCas{std::move(anchors), horizon_days};
}

Result<RequiredCas> LoadDeviceRequiredCas(const DeviceConfig& config,
                                          std::vector<std::string> specs) {
  for (const std::string& anchor : config.required_anchors) {
    if (anchor.find('/') == std::string::npos) {
      specs.push_back(anchor);
      continue;
    }
    IMAB_ASSIGN_OR_RETURN(std::string path, DevicePath(config, anchor));
    specs.push_back(std::move(path));
  }
  return LoadRequiredCas(specs, config.ca_expiry_horizon_days);
}

Result<DeviceTrust> LoadDeviceTrust(const DeviceConfig& config,
                                    const DeviceState& state) {
  DeviceTrust trust;
  if (!state.kernel_cas.empty()) {
    IMAB_RETURN_IF_ERROR(
        AddRecorded(state.kernel_cas, "kernel CA", trust.kernel_cas));
  } else {
    IMAB_RETURN_IF_ERROR(AddAll(config, config.kernel_cas, trust.kernel_cas));
  }
  if (!state.ima_certs.empty() || !state.evm_certs.empty()) {
    IMAB_RETURN_IF_ERROR(
        AddRecorded(state.ima_certs, "IMA certificate", trust.ima_certs));
    IMAB_RETURN_IF_ERROR(
        AddRecorded(state.evm_certs, "EVM certificate", trust.evm_certs));
  } else {
    IMAB_RETURN_IF_ERROR(AddAll(config, config.ima_certs, trust.ima_certs));
    if (config.evm_certs == config.ima_certs) {
      IMAB_ASSIGN_OR_RETURN(trust.evm_certs, Shared(trust.ima_certs));
    } else {
      IMAB_RETURN_IF_ERROR(AddAll(config, config.evm_certs, trust.evm_certs));
    }
  }
  trust.profile = config.kernel_profile;
  trust.kernel_version = config.kernel_version;
  // The kernel the installed image shipped, when it counted.
  IMAB_RETURN_IF_ERROR(ApplyRecordedKernel(state, trust));
  trust.critical = config.critical;
  trust.owner_critical = config.owner_critical;
  trust.init = config.init;
  trust.in_place = config.layout == SlotLayout::kInPlace;
  trust.boots_without_initramfs = config.initramfs == InitramfsSource::kNone;
  if (!config.ima_policy.empty()) {
    IMAB_RETURN_IF_ERROR(LoadPolicy(config, trust));
  }
  return trust;
}

Result<DeviceMaterial> LoadDeviceConfigAndState(const std::string& root,
                                                std::string& slots_dir) {
  IMAB_ASSIGN_OR_RETURN(DeviceConfig config, LoadDeviceConfig(root));
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> found,
                        FindSlotsFolder(config));
  // Without slots (a device never initialised for installs) the checks
  // run against an empty state; the trust source then never needs them.
  slots_dir = found.value_or(config.slots_dir);
  IMAB_ASSIGN_OR_RETURN(bool created, SlotsCreated(config, found));
  DeviceMaterial device{std::move(config), DeviceState{}, DeviceTrust{}};
  if (created) {
    IMAB_RETURN_IF_ERROR(
        StateAnInstallUses(device.config, device.state, device.path_reserve));
  }
  return device;
}

}  // namespace imab::verifier
