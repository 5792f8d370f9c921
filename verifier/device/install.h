// InstallBundle: the on-device install transaction (`imab-verify install`).
// Verifies a bundle against the device's configuration and state, writes it
// into the inactive slot and switches slot and state in one atomic step.
#pragma once

#include <cstdint>
#include <string>

#include "common/read/reporter.h"
#include "common/read/result.h"
#include "verifier/bundle/bundle_verifier.h"
#include "verifier/device/device_state.h"

namespace imab::verifier {

struct InstallOptions {
  std::string root;  // the device's "/" (holds etc/imabundle/)
  std::string bundle_path;
  bool allow_reinstall = false;  // accept the installed version again
  bool in_place = false;         // judge as an in-place update (the
                                 // image still goes to the inactive slot)
  bool check_time = true;        // certificate validity periods
  uint64_t now = 0;              // recorded install time; 0: the clock
};

struct InstallReport {
  VerifyReport verify;    // every check that ran
  DeviceState previous;   // the state before (valid once loaded)
  DeviceState installed;  // the state now in force (valid on success)
};

// Steps: read ROOT's device.conf (layout must be ab: kInvalidArgument for
// in-place, which is not implemented); take the install lock (SLOTS/lock,
// refused at once if held); clean up what an interrupted install left;
// read the active slot's state; verify the bundle with the device's trust
// source, configuration and state, streaming it into the inactive slot;
// only if every check passed, record the new state beside that slot and
// switch the active pointer (DirectorySlots::Activate).
// Success: the bundle's image is active and `report.installed` holds the
// recorded state. Failure: the active slot and its state are unchanged,
// nothing half-written remains; verification failures carry their
// ErrorCode (IsVerificationFailure), configuration, lock and I/O problems
// kInvalidArgument/kIo. Every attempt that got the lock is recorded in
// SLOTS/last-result. A crash at any point leaves the previous slot active.
Status InstallBundle(const InstallOptions& options, Reporter& reporter,
                     InstallReport& report);

// Sets what the device trusts for bundle signatures: the trust root it
// adopted last (options.trust_root_bytes, from `state`; nothing is written),
// else the configured trust root or release CA (options.trust_root or
// options.release_ca, paths inside the device).
Status ChooseTrustSource(const DeviceConfig& config, const DeviceState& state,
                         VerifyOptions& options);

// For `verify --root`: loads ROOT's configuration and the active slot's
// state (empty when no slot folder exists yet) and points `options` at
// them, taking the trust source from the device unless `options` already
// names one. `config` and `state` must outlive the verification.
Status PrepareDeviceVerify(const std::string& root, DeviceConfig& config,
                           DeviceState& state, VerifyOptions& options);

// The state to record after installing the bundle described by `verify`
// over `previous`: the bundle's version and compatible; floors that only
// rise (key generation = max of the two; the adopted trust root when the
// bundle carried a newer one, else the previous); install time `now`.
DeviceState NextDeviceState(const DeviceState& previous,
                            const VerifyReport& verify, uint64_t now);

}  // namespace imab::verifier
