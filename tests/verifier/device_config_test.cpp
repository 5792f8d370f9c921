#include "verifier/device/device_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using imab::testing::TempDir;
using imab::testing::WriteFile;
using ::testing::HasSubstr;

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
  EXPECT_EQ(config->initramfs, InitramfsSource::kImage);
  EXPECT_EQ(config->kernel_version, (KernelVersion{6, 6}));
  EXPECT_EQ(config->critical, DefaultCriticalFiles());
  // Resolved beneath ROOT: an existing file is found, a missing one is an
  // error naming it.
  WriteFile(dir_.Sub("etc/x"), "x");
  Result<std::string> found = DevicePath(*config, "etc/x");
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_EQ(*found, std::filesystem::canonical(dir_.Sub("etc/x")).string());
  Result<std::string> missing = DevicePath(*config, "etc/y");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, HasSubstr("etc/y: does not exist"));
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
                                     "initramfs = none\n"
                                     "slots-dir = /data/slots\n"
                                     "allow-development = yes\n"
                                     "init = /usr/lib/systemd/systemd\n"
                                     "release-require-eku = yes\n");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_TRUE(config->release_require_eku);
  EXPECT_EQ(config->kernel_version, (KernelVersion{5, 15}));
  EXPECT_EQ(config->init, "usr/lib/systemd/systemd");
  EXPECT_EQ(config->critical, std::vector<std::string>{"opt/app/bin/main"});
  EXPECT_EQ(config->layout, SlotLayout::kInPlace);
  EXPECT_EQ(config->initramfs, InitramfsSource::kNone);
  EXPECT_EQ(config->slots_dir, "data/slots");
  EXPECT_TRUE(config->allow_development);

  Result<DeviceConfig> again = Load(RenderDeviceConfig(*config));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(RenderDeviceConfig(*again), RenderDeviceConfig(*config));
  EXPECT_EQ(again->evm_certs, config->evm_certs);
  EXPECT_EQ(again->kernel_profile, config->kernel_profile);
  EXPECT_EQ(again->init, config->init);
  EXPECT_EQ(again->initramfs, InitramfsSource::kNone);
  EXPECT_TRUE(again->release_require_eku);
}

// The owner's own `critical` lines must verify whatever the policy says;
// a line repeating a default pattern (device init writes them all out)
// stays a default, judged at the kernel's hooks only.
TEST_F(DeviceConfigTest, OwnCriticalLinesAreThoseBeyondTheDefaults) {
  Result<DeviceConfig> config = Load(kMinimal);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_TRUE(config->owner_critical.empty());
  config = Load(std::string(kMinimal) + "critical = /opt/app/bin/main\n");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->owner_critical,
            std::vector<std::string>{"opt/app/bin/main"});
  EXPECT_EQ(config->critical.size(), DefaultCriticalFiles().size() + 1);
  std::string written = RenderDeviceConfig(*config);
  Result<DeviceConfig> again = Load(written);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->owner_critical, config->owner_critical);
  EXPECT_EQ(again->critical, config->critical);
  EXPECT_THAT(written,
              HasSubstr("critical = " + DefaultCriticalFiles().front()));
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
  EXPECT_THAT(config.error().message, HasSubstr(GetParam().message));
  EXPECT_THAT(config.error().message, HasSubstr("device.conf"));
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
        BadCase{"EscapingInit",
                std::string(kMinimal) + "init = /sbin/../../init\n",
                "leaves the root"},
        BadCase{"InitTwice",
                std::string(kMinimal) + "init = /sbin/init\ninit = /bin/sh\n",
                "given twice"},
        BadCase{"BadLayout", std::string(kMinimal) + "layout = abc\n",
                "not ab or in-place"},
        BadCase{"BadInitramfs", std::string(kMinimal) + "initramfs = no\n",
                ":5: initramfs: 'no' is not image or none"},
        BadCase{"InitramfsTwice",
                std::string(kMinimal) + "initramfs = none\ninitramfs = none\n",
                "initramfs given twice"},
        BadCase{"BadProfile", std::string(kMinimal) + "kernel-profile = x\n",
                "kernel-profile"},
        BadCase{"BadVersion", std::string(kMinimal) + "kernel-version = 6\n",
                "expected MAJOR.MINOR"},
        BadCase{"NoCompatible", "kernel-ca = /a\nrelease-ca = /b\n",
                "compatible is missing"},
        BadCase{"NoKernelCa", "compatible = x\nrelease-ca = /b\n",
                "kernel-ca is missing"},
        BadCase{"BothAnchors",
                std::string(kMinimal) + "trust-root = /etc/imabundle/root\n",
                "exactly one of release-ca and trust-root"},
        BadCase{"EmptyValue", std::string(kMinimal) + "critical =\n",
                "critical: empty value"},
        BadCase{"EmptyPattern", std::string(kMinimal) + "critical = /\n",
                ":5: critical: empty pattern"},
        BadCase{"BlankAfterSlash",
                std::string(kMinimal) + "critical = / opt/app\n",
                ":5: critical: pattern starts with a blank"},
        BadCase{
            "NulInPath",
            std::string(kMinimal) + std::string("init = /sbin/init\0x\n", 20),
            ":5: control character in line"},
        BadCase{"CarriageReturn", std::string(kMinimal) + "layout = ab\r\n",
                ":5: control character in line"},
        BadCase{"BadRequireEku",
                std::string(kMinimal) + "release-require-eku = maybe\n",
                ":5: release-require-eku: 'maybe' is not yes or no"}),
    [](const auto& test) { return std::string(test.param.name); });

// Every leading '/' of a critical pattern goes, as for paths, so that what
// RenderDeviceConfig writes reads back as the same pattern (found by
// tests/fuzz/device_config_fuzz.cpp: "//x" was kept as "/x", written out
// as "critical = /x" and read back as "x").
TEST_F(DeviceConfigTest, CriticalPatternLosesEveryLeadingSlash) {
  Result<DeviceConfig> config = Load(std::string(kMinimal) +
                                     "critical-defaults = no\n"
                                     "critical = //opt/app/*\n");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->critical, std::vector<std::string>{"opt/app/*"});
  Result<DeviceConfig> again = Load(RenderDeviceConfig(*config));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->critical, config->critical);
}

TEST_F(DeviceConfigTest, MissingFileSaysDeviceNotInitialised) {
  Result<DeviceConfig> config = LoadDeviceConfig(dir_.path().string());
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, HasSubstr("device not initialised"));
}

TEST_F(DeviceConfigTest, RootFileSystemKeysRoundTrip) {
  Result<DeviceConfig> config =
      Load(std::string(kMinimal) +
           "rootfs-magic = 0xEF53\n"
           "rootfs-type = ext4\n"
           "rootfs-uuid = 6F1E2C3B-AAAA-4BBB-8CCC-0123456789AB\n"
           "ima-appraise-modsig = yes\n");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->rootfs.magic, std::optional<uint64_t>(0xef53));
  EXPECT_EQ(config->rootfs.type, "ext4");
  EXPECT_EQ(config->rootfs.uuid, "6f1e2c3b-aaaa-4bbb-8ccc-0123456789ab");
  EXPECT_TRUE(config->ima_appraise_modsig);
  Result<DeviceConfig> again = Load(RenderDeviceConfig(*config));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(RenderDeviceConfig(*again), RenderDeviceConfig(*config));
  EXPECT_EQ(again->rootfs.magic, config->rootfs.magic);

  Result<DeviceConfig> unset = Load(kMinimal);
  ASSERT_TRUE(unset.has_value());
  EXPECT_FALSE(unset->rootfs.magic.has_value());
  EXPECT_FALSE(unset->ima_appraise_modsig);
}

TEST_F(DeviceConfigTest, BadRootFileSystemValuesAreRefused) {
  for (const char* line :
       {"rootfs-magic = ext4\n", "rootfs-magic = 0x\n",
        "rootfs-uuid = 6f1e2c3b-aaaa-4bbb-8ccc\n",
        "rootfs-uuid = 6f1e2c3b+aaaa-4bbb-8ccc-0123456789ab\n",
        "ima-appraise-modsig = maybe\n"}) {
    Result<DeviceConfig> config = Load(std::string(kMinimal) + line);
    ASSERT_FALSE(config.has_value()) << line;
    EXPECT_THAT(config.error().message, HasSubstr(":5: "));
  }
}

constexpr const char* kBlockGrub =
    "slots = block\n"
    "slot-a = PARTLABEL=rootfs-a\n"
    "slot-b = /dev/disk/by-x/rootfs-b\n"
    "mkfs-options = -O ^metadata_csum  -I 256\n"
    "state-dir = /data/imabundle\n"
    "bootloader = grub\n"
    "grubenv = /boot/grub/grubenv\n"
    "hook-pre-install = /etc/imabundle/pre\n"
    "hook-post-install = /etc/imabundle/post\n"
    "hook-on-fallback = /etc/imabundle/fallback\n";

TEST_F(DeviceConfigTest, BootSetupKeysRoundTripThroughRender) {
  Result<DeviceConfig> config = Load(std::string(kMinimal) + kBlockGrub);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  const BootSetup& boot = config->boot;
  EXPECT_EQ(boot.slots, SlotKind::kBlock);
  EXPECT_EQ(boot.slot_a, "PARTLABEL=rootfs-a");
  EXPECT_EQ(boot.slot_b, "/dev/disk/by-x/rootfs-b");
  EXPECT_EQ(boot.mkfs_options,
            (std::vector<std::string>{"-O", "^metadata_csum", "-I", "256"}));
  EXPECT_EQ(boot.state_dir, "data/imabundle");
  EXPECT_EQ(boot.bootloader, BootloaderKind::kGrub);
  EXPECT_EQ(boot.grubenv, "boot/grub/grubenv");
  EXPECT_EQ(boot.hook_on_fallback, "etc/imabundle/fallback");
  Result<DeviceConfig> again = Load(RenderDeviceConfig(*config));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(RenderDeviceConfig(*again), RenderDeviceConfig(*config));
  EXPECT_EQ(again->boot.mkfs_options, boot.mkfs_options);
  EXPECT_EQ(again->boot.hook_pre_install, boot.hook_pre_install);

  config = Load(std::string(kMinimal) +
                "bootloader = uboot\nfw-env-config = /etc/fw_env.config\n"
                "boot-attempts = 5\n");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->boot.slots, SlotKind::kDirectory);
  EXPECT_EQ(config->boot.boot_attempts, 5u);
  again = Load(RenderDeviceConfig(*config));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->boot.fw_env_config, "etc/fw_env.config");
  EXPECT_EQ(again->boot.boot_attempts, 5u);
  // Without the keys nothing new is written.
  config = Load(kMinimal);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->boot.bootloader, BootloaderKind::kNone);
  EXPECT_EQ(config->boot.boot_attempts, 3u);
  EXPECT_THAT(RenderDeviceConfig(*config),
              ::testing::Not(HasSubstr("bootloader")));
}

TEST_F(DeviceConfigTest, BootSetupRefusesWhatDoesNotFit) {
  const std::string block =
      "slots = block\nslot-a = /dev/vda2\nslot-b = /dev/vda3\n";
  const std::string grub = "bootloader = grub\ngrubenv = /boot/grubenv\n";
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"slots = lvm\n", "'lvm' is not directory or block"},
      {"slot-a = /dev/vda2\n", "slot-a applies to slots = block"},
      {"state-dir = /data\n", "state-dir applies to slots = block"},
      {"slots = block\nslot-a = /dev/vda2\n" + grub,
       "slots = block needs slot-a and slot-b"},
      {"slots = block\nslot-a = /dev/vda2\nslot-b = /dev/vda2\n" + grub,
       "slot-a and slot-b name the same partition (/dev/vda2)"},
      {block, "slots = block needs a bootloader"},
      {block + grub + "slots-dir = /x\n",
       "slots-dir applies to slots = "
       "directory"},
      {block + grub + "layout = in-place\n", "slots = block is for layout"},
      {"slots = block\nslot-a = vda2\n", "'vda2' is not a device path"},
      {"slots = block\nslot-a = PARTUUID=\n", "names no partition"},
      {"bootloader = lilo\n", "'lilo' is not grub, uboot, custom or none"},
      {"bootloader = grub\n", "bootloader = grub needs grubenv"},
      {"bootloader = uboot\n", "bootloader = uboot needs fw-env-config"},
      {"bootloader = custom\n",
       "bootloader = custom needs "
       "bootloader-script"},
      {"grubenv = /boot/grubenv\n", "grubenv applies to bootloader = grub"},
      {grub + "boot-attempts = 2\n",
       "boot-attempts applies to bootloader = uboot"},
      {"bootloader = uboot\nfw-env-config = /etc/fw\nboot-attempts = 0\n",
       "boot-attempts: 0 is not between 1 and 1000"},
      {"hook-pre-install = /../x\n", "leaves the root"},
  };
  for (const Case& c : cases) {
    Result<DeviceConfig> config = Load(std::string(kMinimal) + c.text);
    ASSERT_FALSE(config.has_value()) << c.text;
    EXPECT_THAT(config.error().message, HasSubstr(c.error)) << c.text;
  }
}

}  // namespace
}  // namespace imab::verifier
