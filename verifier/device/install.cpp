#include "verifier/device/install.h"

#include <algorithm>
#include <ctime>
#include <optional>

#include "common/read/atomic_file.h"
#include "common/read/hex.h"
#include "common/read/trust_root.h"
#include "verifier/device/device_config.h"
#include "verifier/device/install_lock.h"
#include "verifier/device/last_result.h"
#include "verifier/slots/directory_slots.h"

namespace imab::verifier {
namespace {

// The CA anchors the device requires: a value with a '/' names a
// certificate file inside ROOT, anything else a link name.
Status ApplyDeviceCaPolicy(const DeviceConfig& config, VerifyOptions& options) {
  for (const std::string& anchor : config.required_anchors) {
    if (anchor.find('/') == std::string::npos) {
      options.ca.required.push_back(anchor);
      continue;
    }
    IMAB_ASSIGN_OR_RETURN(std::string path, DevicePath(config, anchor));
    options.ca.required.push_back(std::move(path));
  }
  options.ca.expiry_horizon_days = config.ca_expiry_horizon_days;
  return OkStatus();
}

uint64_t NowOr(uint64_t now) {
  return now != 0 ? now : static_cast<uint64_t>(std::time(nullptr));
}

}  // namespace

Status ChooseTrustSource(const DeviceConfig& config, const DeviceState& state,
                         VerifyOptions& options) {
  // The adopted root is handed over as bytes: judging a bundle writes
  // nothing (`verify --root` may run on a read-only device).
  if (state.trust_root.has_value()) {
    options.trust_root_bytes = state.trust_root;
    return OkStatus();
  }
  if (!config.trust_root.empty()) {
    IMAB_ASSIGN_OR_RETURN(options.trust_root,
                          DevicePath(config, config.trust_root));
    return OkStatus();
  }
  IMAB_ASSIGN_OR_RETURN(options.release_ca,
                        DevicePath(config, config.release_ca));
  return OkStatus();
}

namespace {

Status InstallLocked(const InstallOptions& options, const DeviceConfig& config,
                     const std::string& slots_dir, Reporter& reporter,
                     InstallReport& report) {
  IMAB_ASSIGN_OR_RETURN(auto slots, DirectorySlots::Open(slots_dir));
  IMAB_RETURN_IF_ERROR(slots->CleanUp());
  IMAB_ASSIGN_OR_RETURN(report.previous, slots->ActiveState());

  VerifyOptions verify;
  verify.bundle_path = options.bundle_path;
  IMAB_RETURN_IF_ERROR(ChooseTrustSource(config, report.previous, verify));
  verify.signature.check_time = options.check_time;
  verify.signature.require_eku = config.release_require_eku;
  verify.allow_development = config.allow_development;
  verify.device = &config;
  verify.device_state = &report.previous;
  verify.allow_reinstall = options.allow_reinstall;
  verify.in_place = options.in_place;
  verify.path_reserve = DirectorySlots::PathReserve(slots_dir);
  IMAB_RETURN_IF_ERROR(ApplyDeviceCaPolicy(config, verify));

  IMAB_ASSIGN_OR_RETURN(auto sink, slots->OpenInactiveForWrite(reporter));
  IMAB_RETURN_IF_ERROR(VerifyBundle(verify, *sink, report.verify));
  DeviceState next =
      NextDeviceState(report.previous, report.verify, NowOr(options.now));
  IMAB_RETURN_IF_ERROR(slots->Activate(next));
  IMAB_ASSIGN_OR_RETURN(report.installed, slots->ActiveState());
  return OkStatus();
}

Status RecordLastResult(const std::string& slots_dir,
                        const InstallOptions& options, const Status& status) {
  LastResult last;
  last.time = NowOr(options.now);
  last.bundle = options.bundle_path;
  if (status.ok()) {
    last.outcome = "accepted";
  } else {
    last.outcome =
        IsVerificationFailure(status.error().code) ? "rejected" : "error";
    const std::string& message = status.error().message;
    last.reason = message.substr(0, message.find('\n'));
  }
  return WriteFileAtomically(slots_dir + "/" + kLastResultFileName,
                             EncodeLastResult(last));
}

}  // namespace

Status PrepareDeviceVerify(const std::string& root, DeviceConfig& config,
                           DeviceState& state, VerifyOptions& options) {
  IMAB_ASSIGN_OR_RETURN(config, LoadDeviceConfig(root));
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> found,
                        FindSlotsFolder(config));
  // Without slots (a device never initialised for installs) the checks
  // run against an empty state; the trust source then never needs them.
  const std::string slots_dir = found.value_or(config.slots_dir);
  state = DeviceState{};
  if (found.has_value()) {
    IMAB_ASSIGN_OR_RETURN(auto slots, DirectorySlots::Open(slots_dir));
    IMAB_ASSIGN_OR_RETURN(state, slots->ActiveState());
  }
  if (options.release_ca.empty() && options.trust_root.empty()) {
    IMAB_RETURN_IF_ERROR(ChooseTrustSource(config, state, options));
  }
  options.allow_development =
      options.allow_development || config.allow_development;
  // The command line may add the requirement, never lift the device's.
  options.signature.require_eku =
      options.signature.require_eku || config.release_require_eku;
  options.device = &config;
  options.device_state = &state;
  options.path_reserve = DirectorySlots::PathReserve(slots_dir);
  return ApplyDeviceCaPolicy(config, options);
}

DeviceState NextDeviceState(const DeviceState& previous,
                            const VerifyReport& verify, uint64_t now) {
  DeviceState next;
  next.image_version = verify.header.image_version;
  next.compatible = verify.header.compatible;
  uint64_t generation =
      verify.header.keys.has_value() ? verify.header.keys->key_generation : 0;
  next.key_generation = std::max(previous.key_generation, generation);
  next.trust_root = previous.trust_root;
  next.trust_root_version = previous.trust_root_version;
  if (verify.adopt_trust_root.has_value()) {
    // VerifyBundle checked it as the current root or its successor; the
    // version comparison only keeps a floor from ever going down.
    Result<SignedTrustRoot> root =
        ParseSignedTrustRoot(*verify.adopt_trust_root);
    if (root.has_value() && root->body.version >= previous.trust_root_version) {
      next.trust_root = *verify.adopt_trust_root;
      next.trust_root_version = root->body.version;
    }
  }
  // After the reboot the device runs with the keys the decision predicted,
  // and with the kernel the image shipped, or the one it booted before.
  next.kernel_profile = previous.kernel_profile;
  next.kernel_version = previous.kernel_version;
  if (verify.trust.has_value() && verify.trust->kernel_profile.has_value()) {
    next.kernel_profile = KernelProfileName(*verify.trust->kernel_profile);
  }
  if (verify.trust.has_value() && verify.trust->kernel_version.has_value()) {
    next.kernel_version = std::to_string(verify.trust->kernel_version->major) +
                          "." +
                          std::to_string(verify.trust->kernel_version->minor);
  }
  if (verify.trust.has_value()) {
    next.kernel_cas = verify.trust->kernel_ca_ders;
    next.ima_certs = verify.trust->ima_cert_ders;
    next.evm_certs = verify.trust->evm_cert_ders;
  } else {
    next.kernel_cas = previous.kernel_cas;
    next.ima_certs = previous.ima_certs;
    next.evm_certs = previous.evm_certs;
  }
  next.installed_at = now;
  next.bundle_sha256 = HexEncode(std::span<const uint8_t>(
      verify.manifest_sha256.data(), verify.manifest_sha256.size()));
  return next;
}

Status InstallBundle(const InstallOptions& options, Reporter& reporter,
                     InstallReport& report) {
  IMAB_ASSIGN_OR_RETURN(DeviceConfig config, LoadDeviceConfig(options.root));
  if (config.layout == SlotLayout::kInPlace) {
    // Judge the update first, so that one the device could not trust is
    // refused with its reasons; writing files in place is not implemented,
    // and writing A/B slots would not update what such a device boots.
    DeviceConfig judged_config;
    DeviceState state;
    VerifyOptions verify;
    verify.bundle_path = options.bundle_path;
    verify.signature.check_time = options.check_time;
    verify.allow_reinstall = options.allow_reinstall;
    verify.in_place = true;
    IMAB_RETURN_IF_ERROR(
        PrepareDeviceVerify(options.root, judged_config, state, verify));
    NullSink judge_only;
    IMAB_RETURN_IF_ERROR(VerifyBundle(verify, judge_only, report.verify));
    return MakeError(ErrorCode::kInvalidArgument,
                     "device layout is in-place: the update would be "
                     "trusted, but only A/B installs are implemented "
                     "(layout = ab)");
  }
  IMAB_ASSIGN_OR_RETURN(std::string slots_dir, SlotsFolder(config));
  // Opened before the lock, whose file lives there, for a clear message
  // when the slots were never created.
  IMAB_RETURN_IF_ERROR(DirectorySlots::Open(slots_dir));
  IMAB_ASSIGN_OR_RETURN(InstallLock lock,
                        InstallLock::Acquire(slots_dir + "/" + kLockFileName));
  Status status = InstallLocked(options, config, slots_dir, reporter, report);
  Status recorded = RecordLastResult(slots_dir, options, status);
  if (!status.ok()) {
    return status;
  }
  // The install itself is complete and durable; only the note failed.
  if (!recorded.ok()) {
    reporter.Warn(recorded.error().message);
  }
  return OkStatus();
}

}  // namespace imab::verifier
