// InstallTransaction: the on-device install transaction (`imab-verify
// install`). Locks the device's slots, verifies a bundle against the
// device's trust material streaming it into the inactive slot, and switches
// slot and state in one atomic step. The trust material and the bundle are
// loaded and opened by the caller (the main, verifier/load/) between
// Prepare() and Install(), under the lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/read/reporter.h"
#include "common/read/result.h"
#include "verifier/bundle/bundle_verifier.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_state.h"
#include "verifier/device/install_lock.h"
#include "verifier/slots/directory_slots.h"

namespace imab::verifier {

struct InstallReport {
  VerifyReport verify;    // every check that ran
  DeviceState previous;   // the state before (valid once loaded)
  DeviceState installed;  // the state now in force (valid on success)
};

class InstallTransaction {
 public:
  // For an A/B device (an in-place one is only judged, the caller's
  // part): resolves the slots folder of `config` beneath ROOT, opens it
  // and takes the install lock (SLOTS/lock, refused at once if held).
  // kInvalidArgument ("slots not initialised: ...") when the slots were
  // never created; kIo for a held lock.
  static Result<InstallTransaction> Begin(const DeviceConfig& config);

  // Cleans up what an interrupted install left and reads the active slot's
  // state (the state the bundle is judged against).
  Result<DeviceState> Prepare();

  // Verifies `verify`'s bundle (its trust material the device's, loaded
  // with `previous`) streaming it into the inactive slot; only if every
  // check passed, records NextDeviceState(previous, bundle, now) beside
  // that slot and switches the active pointer (DirectorySlots::Activate).
  // Success: the bundle's image is active, `report.installed` holds the
  // recorded state and the bundle's facts are returned. Failure: the active
  // slot and its state are unchanged, nothing half-written remains;
  // verification failures carry their ErrorCode (IsVerificationFailure),
  // I/O problems kIo. A crash at any point leaves the previous slot active.
  Result<VerifiedBundle> Install(const VerifyOptions& verify,
                                 const DeviceState& previous, uint64_t now,
                                 Reporter& reporter, InstallReport& report);

  // Records `outcome` of the attempt to install `bundle_name` in
  // SLOTS/last-result and returns it; once the install succeeded a failure
  // to record is only a warning through `reporter`.
  Status Finish(const std::string& bundle_name, Status outcome, uint64_t now,
                Reporter& reporter);

  // The slots folder's real location.
  const std::string& slots_dir() const { return slots_dir_; }

 private:
  InstallTransaction(std::string slots_dir,
                     std::unique_ptr<DirectorySlots> slots, InstallLock lock)
      : slots_dir_(std::move(slots_dir)),
        slots_(std::move(slots)),
        lock_(std::move(lock)) {}

  std::string slots_dir_;
  std::unique_ptr<DirectorySlots> slots_;
  InstallLock lock_;
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
