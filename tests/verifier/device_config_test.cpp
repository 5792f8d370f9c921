#include "verifier/device_config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using imab::testing::TempDir;
using imab::testing::WriteFile;

constexpr const char* kMinimal =
    "compatible = board-x\n"
    "kernel-ca = /etc/imabundle/kernel-ca.pem\n"
    "ima-cert = /etc/imabundle/ima.der\n"
    "release-ca = /etc/imabundle/release-ca.pem\n";

class DeviceConfigTest : public ::testing::Test {
 protected:
  Result<DeviceConfig> Load(const std::string& text) {
    std::filesystem::create_directories(dir_.path() / "etc/imabundle");
    WriteFile(dir_.path() / kDeviceConfigPath, text);
    return LoadDeviceConfig(dir_.path().string());
  }
  TempDir dir_;
};

TEST_F(DeviceConfigTest, MinimalFileGetsDefaults) {
  Result<DeviceConfig> config = Load(kMinimal);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->compatible, "board-x");
  EXPECT_EQ(config->kernel_cas,
            std::vector<std::string>{"etc/imabundle/kernel-ca.pem"});
  // One key signs IMA and EVM unless evm-cert says otherwise.
  EXPECT_EQ(config->evm_certs, config->ima_certs);
  EXPECT_EQ(config->layout, SlotLayout::kAb);
  EXPECT_EQ(config->kernel_version, (KernelVersion{6, 6}));
  EXPECT_EQ(config->critical, DefaultCriticalFiles());
  EXPECT_EQ(DevicePath(*config, "etc/x"), dir_.Sub("etc/x"));
}

TEST_F(DeviceConfigTest, EveryKeyRoundTripsThroughRender) {
  Result<DeviceConfig> config = Load(std::string(kMinimal) +
                                     "# a comment\n\n"
                                     "kernel-profile = be32\n"
                                     "kernel-version = 5.15.120\n"
                                     "evm-cert = /etc/imabundle/evm.der\n"
                                     "ima-policy = /etc/imabundle/ima-policy\n"
                                     "critical-defaults = no\n"
                                     "critical = /opt/app/bin/main\n"
                                     "required-anchor = ISRG_Root_X1.pem\n"
                                     "ca-expiry-horizon-days = 30\n"
                                     "layout = in-place\n"
                                     "slots-dir = /data/slots\n"
                                     "allow-development = yes\n"
                                     "release-require-eku = yes\n");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_TRUE(config->release_require_eku);
  EXPECT_EQ(config->kernel_version, (KernelVersion{5, 15}));
  EXPECT_EQ(config->critical, std::vector<std::string>{"opt/app/bin/main"});
  EXPECT_EQ(config->layout, SlotLayout::kInPlace);
  EXPECT_EQ(config->slots_dir, "data/slots");
  EXPECT_TRUE(config->allow_development);

  Result<DeviceConfig> again = Load(RenderDeviceConfig(*config));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(RenderDeviceConfig(*again), RenderDeviceConfig(*config));
  EXPECT_EQ(again->evm_certs, config->evm_certs);
  EXPECT_EQ(again->kernel_profile, config->kernel_profile);
  EXPECT_TRUE(again->release_require_eku);
}

TEST_F(DeviceConfigTest, ReleaseRequireEkuDefaultsToNo) {
  Result<DeviceConfig> config = Load(kMinimal);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_FALSE(config->release_require_eku);
  config = Load(std::string(kMinimal) + "release-require-eku = no\n");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_FALSE(config->release_require_eku);
}

struct BadCase {
  const char* name;
  std::string text;
  const char* message;  // part of the error
};

class DeviceConfigBadTest : public DeviceConfigTest,
                            public ::testing::WithParamInterface<BadCase> {};

TEST_P(DeviceConfigBadTest, RefusedNamingTheLine) {
  Result<DeviceConfig> config = Load(GetParam().text);
  ASSERT_FALSE(config.has_value());
  EXPECT_NE(config.error().message.find(GetParam().message),
            std::string::npos)
      << config.error().message;
  EXPECT_NE(config.error().message.find("device.conf"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DeviceConfigBadTest,
    ::testing::Values(
        BadCase{"UnknownKey", std::string(kMinimal) + "colour = blue\n",
                ":5: colour: unknown key"},
        BadCase{"NoEquals", std::string(kMinimal) + "layout ab\n",
                ":5: expected 'key = value'"},
        BadCase{"Twice", std::string(kMinimal) + "compatible = y\n",
                "compatible given twice"},
        BadCase{"EscapingPath",
                std::string(kMinimal) + "ima-policy = /etc/../../x\n",
                "leaves the root"},
        BadCase{"BadLayout", std::string(kMinimal) + "layout = abc\n",
                "not ab or in-place"},
        BadCase{"BadProfile", std::string(kMinimal) + "kernel-profile = x\n",
                "kernel-profile"},
        BadCase{"BadVersion", std::string(kMinimal) + "kernel-version = 6\n",
                "not MAJOR.MINOR"},
        BadCase{"NoCompatible", "kernel-ca = /a\nrelease-ca = /b\n",
                "compatible is missing"},
        BadCase{"NoKernelCa", "compatible = x\nrelease-ca = /b\n",
                "kernel-ca is missing"},
        BadCase{"BothAnchors",
                std::string(kMinimal) + "trust-root = /etc/imabundle/root\n",
                "exactly one of release-ca and trust-root"},
        BadCase{"EmptyValue", std::string(kMinimal) + "critical =\n",
                "critical: empty value"},
        BadCase{"BadRequireEku",
                std::string(kMinimal) + "release-require-eku = maybe\n",
                ":5: release-require-eku: 'maybe' is not yes or no"}),
    [](const auto& test) { return std::string(test.param.name); });

TEST_F(DeviceConfigTest, MissingFileSaysDeviceNotInitialised) {
  Result<DeviceConfig> config = LoadDeviceConfig(dir_.path().string());
  ASSERT_FALSE(config.has_value());
  EXPECT_NE(config.error().message.find("device not initialised"),
            std::string::npos);
}

}  // namespace
}  // namespace imab::verifier
