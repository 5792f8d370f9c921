// A device folder for install tests: `imab-verify device init` with the
// test release keys, and wrappers around install and status.
#pragma once

#include <string>

#include "tests/testutil/bundle_fixture.h"

namespace imab::testing {

class TestDevice {
 public:
  // `root` is the device's "/" (not created until Init()); `keys` is
  // borrowed and must outlive the device.
  TestDevice(std::string root, const ReleaseKeys& keys);

  // `imab-verify device init` with the release CA as release and kernel
  // CA and the signing certificate as IMA certificate, plus `extra`.
  CommandResult Init(const std::string& extra = "") const;
  // `imab-verify install BUNDLE --root ROOT --no-time-check` plus `extra`.
  CommandResult Install(const std::string& bundle,
                        const std::string& extra = "") const;
  // The same command line, for spawning it without a shell.
  std::string InstallCommand(const std::string& bundle,
                             const std::string& extra = "") const;
  // `imab-verify status --root ROOT` plus `extra`.
  CommandResult Status(const std::string& extra = "") const;

  const std::string& root() const { return root_; }
  std::string SlotsDir() const;
  // "slot-a" or "slot-b", read from the pointer ("" if unreadable).
  std::string ActiveSlotName() const;
  std::string SlotPath(const std::string& name) const;

 private:
  std::string root_;
  const ReleaseKeys& keys_;
};

// `imab-build build` of `rootfs` as version `version` for test-board, with
// SOURCE_DATE_EPOCH fixed; `extra` is appended. Fails the test on error.
void BuildVersion(const std::string& rootfs, const std::string& output,
                  const ReleaseKeys& keys, const std::string& version,
                  const std::string& extra = "");

}  // namespace imab::testing
