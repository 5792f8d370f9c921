// A device folder for install tests: `imab-verify device init` with the
// test release keys, a kernel CA and an IMA/EVM certificate it issued, and
// wrappers around install and status.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/temp_dir.h"

namespace imab::testing {

class TestDevice {
 public:
  // `root` is the device's "/" (not created until Init()); the kernel CA
  // and IMA key are made in `key_dir`; `keys` is borrowed and must outlive
  // the device.
  TestDevice(std::string root, const ReleaseKeys& keys,
             const std::string& key_dir);

  // `imab-verify device init` with the release CA, the kernel CA, and the
  // IMA certificate (DER) loaded, plus `extra`.
  CommandResult Init(const std::string& extra = "") const;
  // The same with the signed trust root `trust_root` instead of the
  // release CA.
  CommandResult InitWithTrustRoot(const std::string& trust_root,
                                  const std::string& extra = "") const;
  // imab-build options that sign every file for this device's IMA key, so
  // that the device's trust decision accepts the image.
  std::string ImaBuildFlags() const;
  // `imab-verify install BUNDLE --root ROOT --no-time-check` plus `extra`.
  CommandResult Install(const std::string& bundle,
                        const std::string& extra = "") const;
  // The same command line, for spawning it without a shell.
  std::string InstallCommand(const std::string& bundle,
                             const std::string& extra = "") const;
  // `imab-verify status --root ROOT` plus `extra`.
  CommandResult Status(const std::string& extra = "") const;

  const std::string& root() const { return root_; }
  // The CA built into the device's kernel, to issue rotated keys with.
  const TestIdentity& kernel_ca() const { return kernel_ca_; }
  std::string SlotsDir() const;
  // "slot-a" or "slot-b", read from the pointer ("" if unreadable).
  std::string ActiveSlotName() const;
  std::string SlotPath(const std::string& name) const;

 private:
  std::string root_;
  const ReleaseKeys& keys_;
  TestIdentity kernel_ca_;
  TestIdentity ima_;
  std::string ima_der_;
};

// The start most device tests share: a fresh folder, release keys and a
// TestDevice (not yet initialised) in it, and where the image tree goes.
class DeviceTest : public ::testing::Test {
 protected:
  DeviceTest();

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  std::unique_ptr<TestDevice> device_;
  std::string rootfs_;
};

// A device folder written by hand instead of by `device init`: the kernel
// CA (PEM), the loaded IMA certificate (DER) and the release CA (PEM)
// copied into ROOT/etc/imabundle and named in its device.conf for
// test-board, followed by the lines `extra_conf`.
void WriteDeviceFolder(const std::string& root,
                       const std::string& kernel_ca_pem,
                       const std::string& ima_der,
                       const std::string& release_ca_pem,
                       const std::string& extra_conf = "");

// Two signed trust roots made with `imab-build trust-root`, root keys
// root-{a,b,c,d}.key generated in `dir`: version 1 for the release CA of
// `first` (keys a b c, threshold 2, signed by a and b) and its successor,
// version 2 for the release CA of `second` (keys b c d, threshold 2, signed
// by a, b and d). The files are DIR/root-1.trust and DIR/root-2.trust.
struct TrustRootPair {
  std::string first;
  std::string second;
};
TrustRootPair MakeTrustRootPair(const std::string& dir,
                                const ReleaseKeys& first,
                                const ReleaseKeys& second);

// `imab-build build` of `rootfs` as version `version` for test-board, with
// SOURCE_DATE_EPOCH fixed; `extra` is appended. Fails the test on error.
void BuildVersion(const std::string& rootfs, const std::string& output,
                  const ReleaseKeys& keys, const std::string& version,
                  const std::string& extra = "");

}  // namespace imab::testing
