// The real imab-verify on block slots (loop devices; root only, skipped
// elsewhere): `device init` with slots = block makes the state-dir layout
// and refuses a state-dir on a slot partition; `status` shows where each
// slot's partition was found.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/block_device.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/loop_device.h"
#include "tests/testutil/sample_tree.h"
#include "verifier/slots/private_mounts.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

class BlockDeviceTest : public DeviceTest {
 protected:
  void SetUp() override {
    if (auto why = BlockTestsUnavailable()) {
      GTEST_SKIP() << *why;
    }
    label_ = "imab-dev-" + std::to_string(::getpid());
    if (auto why = disk_.Attach(dir_.Sub("disk.img"),
                                {{label_ + "-a", 16}, {label_ + "-b", 16}})) {
      GTEST_SKIP() << *why;
    }
    // An empty environment block, as grub-editenv create writes it.
    std::string block = "# GRUB Environment Block\n";
    block.resize(1024, '#');
    std::filesystem::create_directories(device_->root() + "/boot/grub");
    WriteFile(device_->root() + "/boot/grub/grubenv", block);
  }

  // device init's --set lines for block slots on the loop disk, state in
  // ROOT/data/imabundle.
  std::string BlockSettings() const {
    return "--set slots=block --set " +
           ShellQuote("slot-a=PARTLABEL=" + label_ + "-a") + " --set " +
           ShellQuote("slot-b=PARTUUID=" + disk_.PartUuid(2)) +
           " --set state-dir=/data/imabundle --set bootloader=grub"
           " --set grubenv=/boot/grub/grubenv"
           " --set 'mkfs-options=-O ^metadata_csum'";
  }

  LoopDisk disk_;
  std::string label_;
};

TEST_F(BlockDeviceTest, InitMakesTheStateLayoutAndStatusShowsThePartitions) {
  CommandResult init = device_->Init(BlockSettings());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string state = device_->root() + "/data/imabundle";
  EXPECT_EQ(ReadFile(state + "/active"), "a\n");
  EXPECT_TRUE(std::filesystem::is_directory(state + "/slot-a"));
  EXPECT_TRUE(std::filesystem::is_directory(state + "/slot-b"));
  const std::string conf =
      ReadFile(device_->root() + "/etc/imabundle/device.conf");
  EXPECT_THAT(conf, HasSubstr("slots = block"));
  EXPECT_THAT(conf, HasSubstr("mkfs-options = -O ^metadata_csum"));
  CommandResult status = device_->Status();
  ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_THAT(status.out, HasSubstr("partition PARTLABEL=" + label_ + "-a -> " +
                                    disk_.Partition(1)));
  EXPECT_THAT(status.out, HasSubstr("partition PARTUUID=" + disk_.PartUuid(2) +
                                    " -> " + disk_.Partition(2)));
}

TEST_F(BlockDeviceTest, InitRefusesAStateDirOnASlotPartition) {
  // ROOT/data is slot b's file system, as on a device whose state-dir
  // sits on its root file system. Mounted in this process's own mount
  // namespace, which the imab-verify it starts inherits.
  ASSERT_EQ(RunShell("mkfs.ext4 -F -q " + disk_.Partition(2)).exit_code, 0);
  ASSERT_TRUE(verifier::EnterPrivateMountNamespace().ok());
  std::filesystem::create_directories(device_->root() + "/data");
  ASSERT_TRUE(
      verifier::MountExt4(disk_.Partition(2), device_->root() + "/data", false)
          .ok());
  CommandResult init = device_->Init(BlockSettings());
  EXPECT_TRUE(verifier::Unmount(device_->root() + "/data", false).ok());
  EXPECT_NE(init.exit_code, 0);
  EXPECT_THAT(init.err, HasSubstr("is on slot partition " + disk_.Partition(2) +
                                  " (PARTUUID="));
  EXPECT_FALSE(
      std::filesystem::exists(device_->root() + "/etc/imabundle/device.conf"));
}

TEST_F(BlockDeviceTest, InitRefusesAPartitionThatIsNotThere) {
  CommandResult init = device_->Init(
      BlockSettings() + " --set slot-a=PARTLABEL=" + label_ + "-missing");
  EXPECT_NE(init.exit_code, 0);
  EXPECT_THAT(init.err,
              HasSubstr("slot PARTLABEL=" + label_ + "-missing: no partition"));
}

// Installs with the real imab-verify onto the loop slots, grub as the
// boot loader.
class BlockInstallTest : public DeviceTest {
 protected:
  void SetUp() override {
    block_ = std::make_unique<BlockTestDevice>(dir_.Sub(""), *device_);
    if (auto why = block_->Attach(24)) {
      GTEST_SKIP() << *why;
    }
    SampleTreeOptions small;
    small.big_file_bytes = 1u << 20;
    MakeSampleTree(rootfs_, small);
    ASSERT_EQ(block_->Init().exit_code, 0);
  }

  // Builds `version` of the rootfs; returns the bundle, `image` gets the
  // tree as the bundle carries it (security.ima/evm added by the build).
  std::string Build(const std::string& version, std::string& image) {
    WriteFile(rootfs_ + "/etc/version", version + "\n");
    std::string bundle = dir_.Sub(version + ".imab");
    BuildVersion(rootfs_, bundle, *keys_, version, device_->ImaBuildFlags());
    image = bundle + ".tree";
    EXPECT_EQ(RunExtract(bundle, keys_->ca().cert_path, image).exit_code, 0);
    return bundle;
  }

  CommandResult Install(const std::string& bundle) {
    return device_->Install(bundle);
  }

  std::unique_ptr<BlockTestDevice> block_;
};

TEST_F(BlockInstallTest, InstallWritesTheInactiveSlotAndReadsItBack) {
  std::string image;
  std::string bundle = Build("1.0", image);
  std::string before = block_->PartitionDigest("a");
  CommandResult install = Install(bundle);
  ASSERT_EQ(install.exit_code, 0) << install.err;
  EXPECT_EQ(block_->Active(), "b");
  EXPECT_EQ(block_->Primary(), "b");
  EXPECT_THAT(block_->State("b"), HasSubstr("version 1.0"));
  // The slot holds exactly the image: files, owners, modes, xattrs.
  std::vector<std::string> diffs = block_->CompareSlot("b", image);
  EXPECT_TRUE(diffs.empty()) << ::testing::PrintToString(diffs);
  EXPECT_EQ(block_->PartitionDigest("a"), before) << "slot a was written";
  CommandResult status = device_->Status();
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("consistent: yes"));
  // A second install goes to the other slot; the first stays as it was.
  std::string image2;
  std::string bundle2 = Build("2.0", image2);
  std::string slot_b = block_->PartitionDigest("b");
  ASSERT_EQ(Install(bundle2).exit_code, 0);
  EXPECT_EQ(block_->Active(), "a");
  EXPECT_EQ(block_->Primary(), "a");
  diffs = block_->CompareSlot("a", image2);
  EXPECT_TRUE(diffs.empty()) << ::testing::PrintToString(diffs);
  EXPECT_EQ(block_->PartitionDigest("b"), slot_b);
  EXPECT_THAT(block_->State("b"), HasSubstr("version 1.0"));
}

// Boot confirmation on the loop slots: the booted slot told by the
// partition on the command line (root=PARTUUID=), mark-good read back
// by grub-editenv, an install from the unconfirmed slot refused, and a
// fallback grub took from the next update reported and taken.
TEST_F(BlockInstallTest, BootConfirmationFollowsTheBootedPartition) {
  if (!HaveTool("grub-editenv")) {
    GTEST_SKIP() << "grub-editenv not installed (apt-get install grub-common)";
  }
  const std::string grubenv = device_->root() + "/boot/grub/grubenv";
  auto editenv = [&](const std::string& args) {
    CommandResult r =
        RunShell("grub-editenv " + ShellQuote(grubenv) + " " + args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  auto boot = [&](const std::string& slot) {
    std::filesystem::create_directories(device_->root() + "/proc");
    WriteFile(device_->root() + "/proc/cmdline",
              "BOOT_IMAGE=/vmlinuz root=PARTUUID=" +
                  block_->disk().PartUuid(slot == "a" ? 1 : 2) + " ro\n");
  };
  auto mark = [&](const std::string& command) {
    return RunShell(ShellQuote(VerifyBin()) + " " + command + " --root " +
                    ShellQuote(device_->root()));
  };
  std::string image;
  ASSERT_EQ(Install(Build("1.0", image)).exit_code, 0);
  EXPECT_THAT(editenv("list"), HasSubstr("ORDER=B A\n"));
  boot("b");
  const std::string next = Build("1.1", image);
  CommandResult early = Install(next);
  EXPECT_EQ(early.exit_code, 2);
  EXPECT_THAT(early.err, HasSubstr("the booted slot b is not confirmed"));
  // verify --root judges as install would, on block slots too.
  CommandResult verify =
      RunShell(ShellQuote(VerifyBin()) + " verify " + ShellQuote(next) +
               " --no-time-check --root " + ShellQuote(device_->root()));
  EXPECT_EQ(verify.exit_code, 2);
  EXPECT_THAT(verify.err, HasSubstr("the booted slot b is not confirmed"));
  CommandResult good = mark("mark-good");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(editenv("list"), HasSubstr("B_OK=1\nB_TRY=0\n"));
  EXPECT_THAT(block_->State("b"), HasSubstr("confirmed-at"));
  // 2.0 into slot a; grub tries it once, it fails, b starts again.
  ASSERT_EQ(Install(Build("2.0", image)).exit_code, 0);
  EXPECT_EQ(block_->Primary(), "a");
  editenv("set A_TRY=1");
  CommandResult status = device_->Status();
  EXPECT_THAT(status.out, HasSubstr("booted slot: b"));
  EXPECT_THAT(status.out, HasSubstr("fell back from a to b (not handled yet"));
  ASSERT_EQ(mark("mark-good").exit_code, 0);
  EXPECT_EQ(block_->Active(), "b");
  EXPECT_EQ(block_->Primary(), "b");
  EXPECT_THAT(editenv("list"), HasSubstr("A_OK=0\n"));
  EXPECT_THAT(device_->Status().out, HasSubstr("fell back from a to b at "));
}

}  // namespace
}  // namespace imab::testing
