#include "verifier/device/booted_slot.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using imab::testing::TempDir;
using imab::testing::WriteFile;

BootSetup Block() {
  BootSetup boot;
  boot.slots = SlotKind::kBlock;
  boot.slot_a = "PARTUUID=0fc63daf-8483-4772-8e79-3d69d8477de4";
  boot.slot_b = "PARTLABEL=rootfs-b";
  return boot;
}

TEST(BootedSlotTest, ImabSlotNamesEitherKind) {
  EXPECT_EQ(BootedSlotFromCmdline("quiet imab.slot=b ro", BootSetup{}),
            SlotId::kB);
  EXPECT_EQ(BootedSlotFromCmdline("imab.slot=a\n", Block()), SlotId::kA);
  // The last one counts, as the kernel takes its parameters.
  EXPECT_EQ(BootedSlotFromCmdline("imab.slot=a imab.slot=b", BootSetup{}),
            SlotId::kB);
}

TEST(BootedSlotTest, DirectorySlotsOnlyReadImabSlot) {
  EXPECT_EQ(BootedSlotFromCmdline("rauc.slot=A root=/dev/sda2", BootSetup{}),
            std::nullopt);
  EXPECT_EQ(BootedSlotFromCmdline("", BootSetup{}), std::nullopt);
  EXPECT_EQ(BootedSlotFromCmdline("imab.slot=c imab.slot", BootSetup{}),
            std::nullopt);
  EXPECT_EQ(BootedSlotFromCmdline("myimab.slot=a", BootSetup{}), std::nullopt);
}

TEST(BootedSlotTest, BlockSlotsReadRaucSlotAndRoot) {
  EXPECT_EQ(BootedSlotFromCmdline("rauc.slot=B", Block()), SlotId::kB);
  EXPECT_EQ(BootedSlotFromCmdline(
                "root=PARTUUID=0FC63DAF-8483-4772-8E79-3D69D8477DE4 rootwait",
                Block()),
            SlotId::kA);
  EXPECT_EQ(BootedSlotFromCmdline("root=PARTLABEL=rootfs-b", Block()),
            SlotId::kB);
  EXPECT_EQ(BootedSlotFromCmdline("root=PARTLABEL=ROOTFS-B", Block()),
            std::nullopt);
  // imab.slot wins over what root= says.
  EXPECT_EQ(
      BootedSlotFromCmdline("root=PARTLABEL=rootfs-b imab.slot=a", Block()),
      SlotId::kA);
  BootSetup paths = Block();
  paths.slot_a = "/dev/mmcblk0p2";
  paths.slot_b = "/dev/mmcblk0p3";
  EXPECT_EQ(BootedSlotFromCmdline("console=ttyS0 root=/dev/mmcblk0p3", paths),
            SlotId::kB);
  EXPECT_EQ(BootedSlotFromCmdline("root=/dev/mmcblk0p3 root=/dev/sda1", paths),
            std::nullopt);
  EXPECT_EQ(BootedSlotFromCmdline("root=/dev/mmcblk0p2 x=\"a b\"", paths),
            SlotId::kA);
}

TEST(BootedSlotTest, ReadsRootProcCmdline) {
  TempDir dir;
  DeviceConfig config;
  config.root = dir.path().string();
  Result<std::optional<SlotId>> none = ReadBootedSlot(config);
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_EQ(*none, std::nullopt);
  std::filesystem::create_directories(dir.path() / "proc");
  WriteFile(dir.path() / "proc/cmdline", "BOOT_IMAGE=/vmlinuz imab.slot=b\n");
  Result<std::optional<SlotId>> b = ReadBootedSlot(config);
  ASSERT_TRUE(b.has_value()) << b.error().message;
  EXPECT_EQ(*b, SlotId::kB);
}

}  // namespace
}  // namespace imab::verifier
