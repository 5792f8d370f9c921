#include "verifier/device/install.h"

#include <gtest/gtest.h>

namespace imab::verifier {
namespace {

VerifiedBundle BundleReport(const std::string& version, uint64_t generation) {
  VerifiedBundle report;
  report.header.image_version = version;
  report.header.compatible = "board";
  KeysSection keys;
  keys.key_generation = generation;
  report.header.keys = keys;
  report.manifest_sha256.fill(0xab);
  return report;
}

TEST(NextDeviceStateTest, TakesTheBundlesIdentity) {
  DeviceState previous;
  DeviceState next = NextDeviceState(previous, BundleReport("2.0", 4), 77);
  EXPECT_EQ(next.image_version, "2.0");
  EXPECT_EQ(next.compatible, "board");
  EXPECT_EQ(next.key_generation, 4u);
  EXPECT_EQ(next.installed_at, 77u);
  std::string expected;
  for (int i = 0; i < 32; ++i) {
    expected += "ab";
  }
  EXPECT_EQ(next.bundle_sha256, expected);
}

TEST(NextDeviceStateTest, KeyGenerationFloorNeverFalls) {
  DeviceState previous;
  previous.key_generation = 9;
  EXPECT_EQ(NextDeviceState(previous, BundleReport("2.0", 4), 1).key_generation,
            9u);
  VerifiedBundle without_keys = BundleReport("2.0", 0);
  without_keys.header.keys.reset();
  EXPECT_EQ(NextDeviceState(previous, without_keys, 1).key_generation, 9u);
}

TEST(NextDeviceStateTest, KeepsTheAdoptedTrustRootWhenTheBundleHasNone) {
  DeviceState previous;
  previous.trust_root = "root bytes";
  previous.trust_root_version = 3;
  DeviceState next = NextDeviceState(previous, BundleReport("2.0", 0), 1);
  EXPECT_EQ(next.trust_root, previous.trust_root);
  EXPECT_EQ(next.trust_root_version, 3u);
}

TEST(NextDeviceStateTest, IgnoresAnUnparsableRootRatherThanLoweringTheFloor) {
  DeviceState previous;
  previous.trust_root = "root bytes";
  previous.trust_root_version = 3;
  VerifiedBundle report = BundleReport("2.0", 0);
  report.adopt_trust_root = "not a trust root";
  DeviceState next = NextDeviceState(previous, report, 1);
  EXPECT_EQ(next.trust_root_version, 3u);
  EXPECT_EQ(next.trust_root, previous.trust_root);
}

}  // namespace
}  // namespace imab::verifier
