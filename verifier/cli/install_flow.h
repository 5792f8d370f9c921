// InstallFromFile: `imab-verify install` (and the factory image of `device
// init --from-bundle`) as the main runs it: the device's configuration,
// then, under the install lock, its state, its trust material and the
// bundle, each loaded once (verifier/load/), then the install transaction
// (verifier/device/install.h). Every attempt that got the lock is recorded
// in SLOTS/last-result, load failures included.
#pragma once

#include <string>

#include "common/read/reporter.h"
#include "common/read/result.h"
#include "verifier/device/install.h"

namespace imab::verifier::cli {

struct InstallRequest {
  std::string root;         // the device's "/" (holds etc/imabundle/)
  std::string bundle_path;  // opened here; named so in messages and records
  bool allow_reinstall = false;  // accept the installed version again
  bool in_place = false;         // judge as an in-place update (the image
                                 // still goes to the inactive slot)
  bool check_time = true;        // certificate validity periods
  bool factory_image = false;    // `device init --from-bundle`: recorded
                                 // as confirmed (no boot to confirm it)
};

// A device whose layout is in-place is judged (so that an update it could
// not trust is refused with its reasons) and then refused with
// kInvalidArgument: writing files in place is not implemented. Otherwise
// as InstallTransaction: on success the bundle's image is active, its
// facts are returned and `report.installed` holds the recorded state; on
// failure the active slot is unchanged and `report` holds what ran.
Result<VerifiedBundle> InstallFromFile(const InstallRequest& request,
                                       Reporter& reporter,
                                       InstallReport& report);

}  // namespace imab::verifier::cli
