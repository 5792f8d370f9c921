// InstallTransaction: the on-device install transaction (`imab-verify
// install`). Locks the device's slots, verifies a bundle against the
// device's trust material streaming it into the inactive slot, and switches
// slot and state in one atomic step. The trust material and the bundle are
// loaded and opened by the caller (the main, verifier/load/) between
// Prepare() and Install(), under the lock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/read/reporter.h"
#include "common/read/result.h"
#include "verifier/bundle/bundle_verifier.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_state.h"
#include "verifier/device/install_lock.h"
#include "verifier/slots/slot_backend.h"

namespace imab::verifier {

class Bootloader;

struct InstallReport {
  VerifyReport verify;    // every check that ran
  DeviceState previous;   // the state before (valid once loaded)
  DeviceState installed;  // the state now in force (valid on success)
};

class InstallTransaction {
 public:
  // For an A/B device (an in-place one is only judged, the caller's
  // part): opens the slots `config` asks for (OpenSlots) with `bootloader`
  // (borrowed, may be null; must outlive the transaction), takes the
  // install lock (STATE/lock, refused at once if held) and reads the
  // booted slot (ROOT/proc/cmdline). kInvalidArgument ("slots not
  // initialised: ...") when the slots were never created; kIo for a held
  // lock.
  static Result<InstallTransaction> Begin(const DeviceConfig& config,
                                          Bootloader* bootloader);

  // Cleans up what an interrupted install left, handles a fallback the
  // boot loader took (NoticeFallback), refuses an install the boot state
  // does not allow (CheckInstallStart: an update waiting for its reboot,
  // an unconfirmed booted slot; kInvalidArgument) and reads the active
  // slot's state (the state the bundle is judged against).
  Result<DeviceState> Prepare(uint64_t now, Reporter& reporter);

  // Verifies `verify`'s bundle (its trust material the device's, loaded
  // with `previous`) streaming it into the inactive slot; only if every
  // check passed, records NextDeviceState(previous, bundle, now) beside
  // that slot and switches the active pointer (DirectorySlots::Activate).
  // Success: the bundle's image is active, `report.installed` holds the
  // recorded state and the bundle's facts are returned. Failure: the active
  // slot and its state are unchanged, nothing half-written remains;
  // verification failures carry their ErrorCode (IsVerificationFailure),
  // I/O problems kIo. A crash at any point leaves the previous slot active.
  // hook-pre-install runs once the manifest is read, before the inactive
  // slot is touched (a non-zero exit refuses the install: kPolicyRefused,
  // nothing changed). `bundle_name` is for the hooks.
  Result<VerifiedBundle> Install(const VerifyOptions& verify,
                                 const DeviceState& previous,
                                 const std::string& bundle_name, uint64_t now,
                                 Reporter& reporter, InstallReport& report);

  // Records `outcome` of the attempt to install `bundle_name` in
  // STATE/last-result, runs hook-post-install (IMAB_RESULT ok, refused or
  // error; its failure a warning) and returns `outcome`; once the install
  // succeeded a failure to record is only a warning through `reporter`.
  Status Finish(const std::string& bundle_name, Status outcome, uint64_t now,
                Reporter& reporter);

  // The state folder's real location (slots-dir or state-dir).
  const std::string& slots_dir() const { return slots_->StateDir(); }
  // Bytes the slot's writer puts before each image path.
  size_t path_reserve() const { return slots_->ImagePathReserve(); }
  // The factory image of `device init --from-bundle`: recorded as
  // confirmed, since no boot is there to confirm it.
  void set_factory_image() { factory_image_ = true; }

 private:
  InstallTransaction(const DeviceConfig& config, Bootloader* bootloader,
                     std::unique_ptr<SlotBackend> slots, InstallLock lock,
                     std::optional<SlotId> booted)
      : config_(config),
        bootloader_(bootloader),
        slots_(std::move(slots)),
        lock_(std::move(lock)),
        booted_(booted) {}

  DeviceConfig config_;
  Bootloader* bootloader_;
  std::unique_ptr<SlotBackend> slots_;
  InstallLock lock_;
  std::optional<SlotId> booted_;
  bool factory_image_ = false;
  // Of the bundle being installed, for the hooks: its version (once its
  // manifest was read) and the slot written.
  std::string version_;
  std::string target_;
};

// The device's settings for judging a bundle, into `options`: development
// bundles and the signer's EKU requirement as device.conf says (the command
// line may add either, never lift the device's), and the path reserve of
// its slots folder `slots_dir`. Pure.
void ApplyDeviceSettings(const DeviceConfig& config,
                         const std::string& slots_dir, VerifyOptions& options);

// The state to record after installing `bundle` over `previous`: the
// bundle's version and compatible; floors that only rise (key generation =
// max of the two; the adopted trust root when the bundle carried a newer
// one, else the previous); install time `now`.
DeviceState NextDeviceState(const DeviceState& previous,
                            const VerifiedBundle& bundle, uint64_t now);

}  // namespace imab::verifier
