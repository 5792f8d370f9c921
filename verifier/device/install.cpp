#include "verifier/device/install.h"

#include <algorithm>
#include <optional>

#include "common/read/atomic_file.h"
#include "common/read/hex.h"
#include "common/read/trust_root.h"
#include "verifier/device/boot_control.h"
#include "verifier/device/booted_slot.h"
#include "verifier/device/hooks.h"
#include "verifier/device/last_result.h"
#include "verifier/slots/directory_slots.h"
#include "verifier/slots/open_slots.h"

namespace imab::verifier {
namespace {

LastResult DescribeOutcome(const std::string& bundle_name,
                           const Status& outcome, uint64_t now) {
  LastResult last;
  last.time = now;
  last.bundle = bundle_name;
  if (outcome.ok()) {
    last.outcome = "accepted";
    return last;
  }
  last.outcome =
      IsVerificationFailure(outcome.error().code) ? "rejected" : "error";
  const std::string& message = outcome.error().message;
  last.reason = message.substr(0, message.find('\n'));
  return last;
}

// After the reboot the device runs with the keys the decision predicted,
// and with the kernel the image shipped, or the one it booted before.
void TakeBootKeys(const DeviceState& previous,
                  const std::optional<TrustVerdict>& trust, DeviceState& next) {
  next.kernel_profile = previous.kernel_profile;
  next.kernel_version = previous.kernel_version;
  if (!trust.has_value()) {
    next.kernel_cas = previous.kernel_cas;
    next.ima_certs = previous.ima_certs;
    next.evm_certs = previous.evm_certs;
    return;
  }
  if (trust->kernel_profile.has_value()) {
    next.kernel_profile = KernelProfileName(*trust->kernel_profile);
  }
  if (trust->kernel_version.has_value()) {
    next.kernel_version = KernelVersionName(*trust->kernel_version);
  }
  next.kernel_cas = trust->kernel_ca_ders;
  next.ima_certs = trust->ima_cert_ders;
  next.evm_certs = trust->evm_cert_ders;
}

// Runs hook-pre-install once the manifest is read, before the slot's
// writer starts (and so before the inactive slot is touched).
class PreInstallHookSink : public EntrySink {
 public:
  PreInstallHookSink(const DeviceConfig& config, HookEnvironment env,
                     std::unique_ptr<EntrySink> inner, std::string& version,
                     Reporter& reporter)
      : config_(config),
        env_(std::move(env)),
        inner_(std::move(inner)),
        version_(version),
        reporter_(reporter) {}

  Status Start(const ManifestHeader& header) override {
    env_.version = version_ = header.image_version;
    Status hook = RunHook(config_, HookKind::kPreInstall, env_, reporter_);
    if (!hook.ok()) {
      return MakeError(
          ErrorCode::kPolicyRefused,
          "refused by " + hook.error().message + "; nothing was changed");
    }
    return inner_->Start(header);
  }
  Status Begin(const Entry& entry) override { return inner_->Begin(entry); }
  Status Content(std::span<const uint8_t> data) override {
    return inner_->Content(data);
  }
  Status End(const Entry& entry) override { return inner_->End(entry); }
  Status Commit() override { return inner_->Commit(); }
  void Abort() override { inner_->Abort(); }

 private:
  const DeviceConfig& config_;
  HookEnvironment env_;
  std::unique_ptr<EntrySink> inner_;
  std::string& version_;
  Reporter& reporter_;
};

const char* HookResult(const Status& outcome) {
  if (outcome.ok()) {
    return "ok";
  }
  return IsVerificationFailure(outcome.error().code) ? "refused" : "error";
}

std::string BootedName(std::optional<SlotId> booted) {
  return booted.has_value() ? SlotName(*booted) : "";
}

}  // namespace

Result<InstallTransaction> InstallTransaction::Begin(const DeviceConfig& config,
                                                     Bootloader* bootloader) {
  // Opened before the lock, whose file lives there, for a clear message
  // when the slots were never created.
  IMAB_ASSIGN_OR_RETURN(auto slots, OpenSlots(config, bootloader));
  IMAB_ASSIGN_OR_RETURN(
      InstallLock lock,
      InstallLock::Acquire(slots->StateDir() + "/" + kLockFileName));
  IMAB_ASSIGN_OR_RETURN(std::optional<SlotId> booted, ReadBootedSlot(config));
  return InstallTransaction(config, bootloader, std::move(slots),
                            std::move(lock), booted);
}

Result<DeviceState> InstallTransaction::Prepare(uint64_t now,
                                                Reporter& reporter) {
  IMAB_RETURN_IF_ERROR(slots_->CleanUp());
  const BootContext context{config_, *slots_, bootloader_, booted_};
  IMAB_RETURN_IF_ERROR(NoticeFallback(context, now, reporter));
  // The fallback taken, the same rule as `verify --root`.
  return StateToJudgeAgainst(context);
}

Result<VerifiedBundle> InstallTransaction::Install(
    const VerifyOptions& verify, const DeviceState& previous,
    const std::string& bundle_name, uint64_t now, Reporter& reporter,
    InstallReport& report) {
  IMAB_ASSIGN_OR_RETURN(SlotId target, slots_->InactiveSlot());
  target_ = SlotName(target);
  IMAB_ASSIGN_OR_RETURN(auto writer, slots_->OpenInactiveForWrite(reporter));
  HookEnvironment env{SlotName(target), BootedName(booted_), "", bundle_name,
                      ""};
  PreInstallHookSink sink(config_, std::move(env), std::move(writer), version_,
                          reporter);
  IMAB_ASSIGN_OR_RETURN(VerifiedBundle bundle,
                        VerifyBundle(verify, sink, report.verify));
  DeviceState next = NextDeviceState(previous, bundle, now);
  if (factory_image_) {
    next.confirmed_at = now;
  }
  IMAB_RETURN_IF_ERROR(slots_->Activate(next));
  IMAB_ASSIGN_OR_RETURN(report.installed, slots_->ActiveState());
  return bundle;
}

Status InstallTransaction::Finish(const std::string& bundle_name,
                                  Status outcome, uint64_t now,
                                  Reporter& reporter) {
  Status recorded = WriteFileAtomically(
      slots_->StateDir() + "/" + kLastResultFileName,
      EncodeLastResult(DescribeOutcome(bundle_name, outcome, now)));
  HookEnvironment env{target_, BootedName(booted_), version_, bundle_name,
                      HookResult(outcome)};
  Status hook = RunHook(config_, HookKind::kPostInstall, env, reporter);
  if (!hook.ok()) {
    reporter.Warn(hook.error().message);
  }
  if (!outcome.ok()) {
    return outcome;
  }
  // The install itself is complete and durable; only the note failed.
  if (!recorded.ok()) {
    reporter.Warn(recorded.error().message);
  }
  return OkStatus();
}

void ApplyDeviceSettings(const DeviceConfig& config,
                         const std::string& slots_dir, VerifyOptions& options) {
  options.allow_development =
      options.allow_development || config.allow_development;
  // The command line may add the requirement, never lift the device's.
  options.signature.require_eku =
      options.signature.require_eku || config.release_require_eku;
  options.path_reserve = DirectorySlots::PathReserve(slots_dir);
}

DeviceState NextDeviceState(const DeviceState& previous,
                            const VerifiedBundle& bundle, uint64_t now) {
  DeviceState next;
  next.image_version = bundle.header.image_version;
  next.compatible = bundle.header.compatible;
  uint64_t generation =
      bundle.header.keys.has_value() ? bundle.header.keys->key_generation : 0;
  next.key_generation = std::max(previous.key_generation, generation);
  next.trust_root = previous.trust_root;
  next.trust_root_version = previous.trust_root_version;
  if (bundle.adopt_trust_root.has_value()) {
    // VerifyBundle checked it as the current root or its successor; the
    // version comparison only keeps a floor from ever going down.
    Result<SignedTrustRoot> root =
        ParseSignedTrustRoot(*bundle.adopt_trust_root);
    if (root.has_value() && root->body.version >= previous.trust_root_version) {
      next.trust_root = *bundle.adopt_trust_root;
      next.trust_root_version = root->body.version;
    }
  }
  TakeBootKeys(previous, bundle.trust, next);
  next.installed_at = now;
  next.bundle_sha256 = HexEncode(std::span<const uint8_t>(
      bundle.manifest_sha256.data(), bundle.manifest_sha256.size()));
  return next;
}

}  // namespace imab::verifier
