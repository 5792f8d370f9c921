// Boot confirmation end to end with the real imab-verify on a device
// folder: a boot is played by writing ROOT/proc/cmdline, then mark-good,
// mark-bad and mark-active, and the floor that becomes final only at
// mark-good (manifests/device.conf.md, "Boot confirmation").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class BootConfirmationTest : public DeviceTest {
 protected:
  void SetUp() override {
    SampleTreeOptions small;
    small.big_file_bytes = 64u << 10;
    MakeSampleTree(rootfs_, small);
  }
  std::string Build(const std::string& version, int generation) {
    std::string bundle = dir_.Sub("v" + version + ".imab");
    BuildVersion(rootfs_, bundle, *keys_, version,
                 device_->ImaBuildFlags() + " --key-generation " +
                     std::to_string(generation));
    return bundle;
  }
  // The kernel command line of a boot into `slot`.
  void Boot(const std::string& slot) {
    fs::create_directories(device_->root() + "/proc");
    WriteFile(device_->root() + "/proc/cmdline",
              "BOOT_IMAGE=/vmlinuz quiet imab.slot=" + slot + "\n");
  }
  CommandResult Mark(const std::string& command) {
    return RunShell(ShellQuote(VerifyBin()) + " " + command + " --root " +
                    ShellQuote(device_->root()));
  }
  // The factory image 1.0 (key generation 1) in slot a, booted.
  void Factory() {
    CommandResult init = device_->Init(
        "--from-bundle " + ShellQuote(Build("1.0", 1)) + " --no-time-check");
    ASSERT_EQ(init.exit_code, 0) << init.err;
    Boot("a");
  }
};

TEST_F(BootConfirmationTest, TheFactoryImageCountsAsConfirmed) {
  Factory();
  CommandResult status = device_->Status();
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("booted slot: a"));
  EXPECT_THAT(status.out, HasSubstr("slot a (active): version 1.0"));
  EXPECT_THAT(status.out, HasSubstr(", confirmed at "));
  EXPECT_EQ(device_->Install(Build("2.0", 2)).exit_code, 0);
}

TEST_F(BootConfirmationTest, TheFloorIsCommittedOnlyAtMarkGood) {
  Factory();
  ASSERT_EQ(device_->Install(Build("2.0", 2)).exit_code, 0);
  const std::string old_keys = Build("3.0", 1);
  // Not rebooted yet: slot b waits, and the running slot a is never
  // written.
  CommandResult waiting = device_->Install(old_keys);
  EXPECT_EQ(waiting.exit_code, 2);
  EXPECT_THAT(waiting.err, HasSubstr("slot b waits for a reboot"));
  Boot("b");
  CommandResult unconfirmed = device_->Install(old_keys);
  EXPECT_EQ(unconfirmed.exit_code, 2);
  EXPECT_THAT(unconfirmed.err, HasSubstr("the booted slot b is not confirmed"));
  CommandResult status = device_->Status();
  EXPECT_THAT(status.out, HasSubstr("booted slot: b"));
  EXPECT_THAT(status.out, HasSubstr("slot b (active): version 2.0"));
  EXPECT_THAT(status.out, HasSubstr(", not confirmed"));

  CommandResult good = Mark("mark-good");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.out, HasSubstr("marked slot b good (version 2.0): key "
                                  "generation floor 2 is final"));
  CommandResult refused = device_->Install(old_keys);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err,
              HasSubstr("key generation 1 is below the device's floor 2"));
  EXPECT_EQ(Mark("mark-good").exit_code, 0);  // again: nothing changes
}

TEST_F(BootConfirmationTest, MarkBadGoesBackAndTheFloorNeverRose) {
  Factory();
  ASSERT_EQ(device_->Install(Build("2.0", 2)).exit_code, 0);
  Boot("b");
  CommandResult bad = RunShell(ShellQuote(VerifyBin()) + " mark-bad --json" +
                               " --root " + ShellQuote(device_->root()));
  ASSERT_EQ(bad.exit_code, 0) << bad.err;
  EXPECT_THAT(bad.out, HasSubstr("\"command\": \"mark-bad\", \"slot\": \"b\""));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  Boot("a");
  // Slot a's confirmed floor, 1, is the one in force.
  CommandResult install = device_->Install(Build("3.0", 1));
  EXPECT_EQ(install.exit_code, 0) << install.err;
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
}

TEST_F(BootConfirmationTest, MarkActiveGivesUpAWaitingUpdate) {
  Factory();
  ASSERT_EQ(device_->Install(Build("2.0", 2)).exit_code, 0);
  CommandResult empty = Mark("mark-active b");
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  CommandResult active = Mark("mark-active a");
  ASSERT_EQ(active.exit_code, 0) << active.err;
  EXPECT_THAT(active.out, HasSubstr("slot a (version 1.0) is active"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  EXPECT_EQ(device_->Install(Build("2.1", 2)).exit_code, 0);
  CommandResult usage = Mark("mark-active c");
  EXPECT_EQ(usage.exit_code, 2);
}

TEST_F(BootConfirmationTest, MarkGoodRefusesAnEmptyBootedSlot) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  Boot("a");
  CommandResult good = Mark("mark-good");
  EXPECT_EQ(good.exit_code, 2);
  EXPECT_THAT(good.err, HasSubstr("slot a holds no complete image"));
}

// The custom boot loader, a script of the test's own keeping its variables
// in files (manifests/device.conf.md, "Bootloader", custom), and a played
// failed boot: the boot script gives up on the new slot and starts the old.
class CustomBootTest : public BootConfirmationTest {
 protected:
  void WriteScript(const std::string& name, const std::string& body) {
    fs::create_directories(device_->root() + "/etc/imabundle");
    const std::string path = device_->root() + "/etc/imabundle/" + name;
    WriteFile(path, "#!/bin/sh\n" + body);
    fs::permissions(path, fs::perms(0755));
  }
  void InitWithScript() {
    vars_ = dir_.Sub("bootvars");
    fs::create_directories(vars_);
    WriteScript("boot.sh", "d=" + ShellQuote(vars_) + R"(
case "$1" in
  get-primary) cat "$d/primary" 2>/dev/null || echo a ;;
  set-primary) echo "$2" > "$d/primary"; echo good > "$d/state-$2" ;;
  get-state) cat "$d/state-$2" 2>/dev/null || echo good ;;
  set-state) echo "$3" > "$d/state-$2" ;;
  *) exit 2 ;;
esac
)");
    WriteScript("fallback.sh",
                "env > " + ShellQuote(dir_.Sub("fallback.env")) + "\n");
    CommandResult init = device_->Init(
        "--bootloader custom --bootloader-script /etc/imabundle/boot.sh "
        "--hook-on-fallback /etc/imabundle/fallback.sh --from-bundle " +
        ShellQuote(Build("1.0", 1)) + " --no-time-check");
    ASSERT_EQ(init.exit_code, 0) << init.err;
    Boot("a");
  }
  CommandResult Verify(const std::string& bundle) {
    return RunShell(ShellQuote(VerifyBin()) + " verify " + ShellQuote(bundle) +
                    " --no-time-check --root " + ShellQuote(device_->root()));
  }
  std::string Var(const std::string& name) {
    return ReadFile(vars_ + "/" + name);
  }

  std::string vars_;
};

TEST_F(CustomBootTest, InstallConfirmAndAPlayedFallback) {
  InitWithScript();
  EXPECT_EQ(Var("primary"), "a\n");
  ASSERT_EQ(device_->Install(Build("2.0", 2)).exit_code, 0);
  EXPECT_EQ(Var("primary"), "b\n");
  Boot("b");
  CommandResult good = Mark("mark-good");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(Var("state-b"), "good\n");
  CommandResult status = device_->Status();
  EXPECT_THAT(status.out, HasSubstr("bootloader: custom"));
  EXPECT_THAT(status.out, HasSubstr("primary slot: b"));
  EXPECT_THAT(status.out, HasSubstr("slot b boot: bootable yes"));

  // 3.0 goes to slot a; its boot fails and the boot script starts b again.
  ASSERT_EQ(device_->Install(Build("3.0", 3)).exit_code, 0);
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  WriteFile(vars_ + "/state-a", "bad\n");
  status = device_->Status();
  EXPECT_THAT(status.out, HasSubstr("fell back from a to b (not handled yet"));
  CommandResult json = device_->Status("--json");
  EXPECT_THAT(json.out, HasSubstr("\"fallback\": {\"from\": \"a\", "
                                  "\"to\": \"b\""));
  good = Mark("mark-good");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.err, HasSubstr("fell back from a to b"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
  EXPECT_EQ(Var("primary"), "b\n");
  status = device_->Status();
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_THAT(status.out, HasSubstr("fell back from a to b at "));
  EXPECT_THAT(status.out, ::testing::Not(HasSubstr("not handled yet")));
  const std::string env = ReadFile(dir_.Sub("fallback.env"));
  EXPECT_THAT(env, HasSubstr("IMAB_HOOK=on-fallback\n"));
  EXPECT_THAT(env, HasSubstr("IMAB_SLOT=a\n"));
  EXPECT_THAT(env, HasSubstr("IMAB_BOOTED_SLOT=b\n"));
  EXPECT_THAT(env, HasSubstr("IMAB_VERSION=3.0\n"));
  // Slot b's confirmed floor, 2, is in force again, not a's 3.
  CommandResult install = device_->Install(Build("3.1", 2));
  EXPECT_EQ(install.exit_code, 0) << install.err;
}

TEST_F(CustomBootTest, MarkBadAndMarkActiveTellTheBootLoader) {
  InitWithScript();
  ASSERT_EQ(device_->Install(Build("2.0", 2)).exit_code, 0);
  Boot("b");
  ASSERT_EQ(Mark("mark-bad").exit_code, 0);
  EXPECT_EQ(Var("state-b"), "bad\n");
  EXPECT_EQ(Var("primary"), "a\n");
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  CommandResult active = Mark("mark-active b");
  ASSERT_EQ(active.exit_code, 0) << active.err;
  EXPECT_EQ(Var("primary"), "b\n");
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
  // With a boot loader, mark-good needs to know the booted slot.
  fs::remove(device_->root() + "/proc/cmdline");
  CommandResult unknown = Mark("mark-good");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("cannot tell the booted slot"));
}

// verify --root judges against the state an install would use: slot b's
// unconfirmed record (key generation floor 2) is never the one, slot a's
// confirmed record (floor 1) is once the boot loader fell back to a.
TEST_F(CustomBootTest, VerifyJudgesAgainstTheStateAnInstallUses) {
  InitWithScript();
  ASSERT_EQ(device_->Install(Build("2.0", 2)).exit_code, 0);
  const std::string old_keys = Build("3.0", 1);
  Boot("b");
  CommandResult judged = Verify(old_keys);
  CommandResult install = device_->Install(old_keys);
  EXPECT_EQ(judged.exit_code, 2) << judged.err;
  EXPECT_EQ(install.exit_code, 2) << install.err;
  EXPECT_THAT(judged.err, HasSubstr("the booted slot b is not confirmed"));
  EXPECT_THAT(install.err, HasSubstr("the booted slot b is not confirmed"));

  // b fails; the boot script starts a. Verify takes the fallback only in
  // thought: nothing changes until the install.
  WriteFile(vars_ + "/state-b", "bad\n");
  Boot("a");
  judged = Verify(old_keys);
  EXPECT_EQ(judged.exit_code, 0) << judged.err;
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
  EXPECT_FALSE(fs::exists(device_->SlotsDir() + "/last-fallback"));
  install = device_->Install(old_keys);
  EXPECT_EQ(install.exit_code, 0) << install.err;
  EXPECT_THAT(install.err, HasSubstr("fell back from b to a"));
  // Now 3.0 waits in b: both refuse alike again.
  judged = Verify(Build("3.1", 1));
  EXPECT_EQ(judged.exit_code, 2);
  EXPECT_THAT(judged.err, HasSubstr("slot b waits for a reboot"));
}

// The grub backend, its grubenv read back by grub-editenv, and a fallback
// played as grub.cfg's snippet leaves it: slot b tried once and failed
// (B_TRY=1), then slot a started (A_TRY=1).
TEST_F(BootConfirmationTest, AGrubFallbackIsReportedAndTaken) {
  if (!HaveTool("grub-editenv")) {
    GTEST_SKIP() << "grub-editenv not installed (apt-get install grub-common)";
  }
  const std::string grubenv = device_->root() + "/boot/grub/grubenv";
  fs::create_directories(device_->root() + "/boot/grub");
  auto editenv = [&](const std::string& args) {
    CommandResult r =
        RunShell("grub-editenv " + ShellQuote(grubenv) + " " + args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  editenv("create");
  CommandResult init = device_->Init(
      "--bootloader grub --grubenv /boot/grub/grubenv --from-bundle " +
      ShellQuote(Build("1.0", 1)) + " --no-time-check");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  Boot("a");
  ASSERT_EQ(device_->Install(Build("2.0", 2)).exit_code, 0);
  EXPECT_THAT(editenv("list"), HasSubstr("ORDER=B A\n"));
  editenv("set B_TRY=1 A_TRY=1");  // b failed, a runs
  CommandResult status = device_->Status();
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_THAT(status.out, HasSubstr("primary slot: b"));
  EXPECT_THAT(status.out, HasSubstr("slot b boot: bootable no"));
  EXPECT_THAT(status.out, HasSubstr("fell back from b to a (not handled yet"));
  CommandResult good = Mark("mark-good");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.err, HasSubstr("fell back from b to a"));
  const std::string vars = editenv("list");
  EXPECT_THAT(vars, HasSubstr("ORDER=A B\n"));
  EXPECT_THAT(vars, HasSubstr("A_OK=1\nA_TRY=0\n"));
  EXPECT_THAT(vars, HasSubstr("B_OK=0\n"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  EXPECT_THAT(device_->Status().out, HasSubstr("fell back from b to a at "));
  // Slot a's floor, 1, holds: 2.0's key generation never became final.
  CommandResult install = device_->Install(Build("2.1", 1));
  EXPECT_EQ(install.exit_code, 0) << install.err;
}

// The uboot backend on an environment kept in a plain file, made by
// fw_setenv and read back by fw_printenv (libubootenv-tool), as the boot
// script boot/boot.cmd would leave it between the commands.
class UbootBootTest : public BootConfirmationTest {
 protected:
  void InitWithUboot() {
    fs::create_directories(device_->root() + "/etc");
    const std::string env = dir_.Sub("uboot.env");
    WriteFile(config_, env + " 0x0 0x2000\n");
    WriteFile(env, std::string(0x2000, '\0'));
    WriteFile(dir_.Sub("initial.env"), "bootcmd=run distro_bootcmd\n");
    Setenv("-f " + ShellQuote(dir_.Sub("initial.env")));
    CommandResult init = device_->Init(
        "--bootloader uboot --fw-env-config /etc/fw_env.config "
        "--boot-attempts 4 --from-bundle " +
        ShellQuote(Build("1.0", 1)) + " --no-time-check");
    ASSERT_EQ(init.exit_code, 0) << init.err;
    Boot("a");
  }
  void Setenv(const std::string& arguments) {
    CommandResult set =
        RunShell("fw_setenv -c " + ShellQuote(config_) + " " + arguments);
    ASSERT_EQ(set.exit_code, 0) << set.err;
  }
  std::string Printenv() {
    CommandResult printed = RunShell("fw_printenv -c " + ShellQuote(config_));
    EXPECT_EQ(printed.exit_code, 0) << printed.err;
    return printed.out;
  }

  std::string config_ = device_->root() + "/etc/fw_env.config";
};

TEST_F(UbootBootTest, InstallConfirmMarkAndAPlayedFallback) {
  if (!HaveTool("fw_printenv") || !HaveTool("fw_setenv")) {
    GTEST_SKIP() << "fw_printenv not installed (apt-get install "
                    "libubootenv-tool)";
  }
  InitWithUboot();
  ASSERT_EQ(device_->Install(Build("2.0", 2)).exit_code, 0);
  EXPECT_THAT(Printenv(), HasSubstr("BOOT_B_LEFT=4\nBOOT_ORDER=B A\n"));

  // The boot script started b once; b works.
  Setenv("BOOT_B_LEFT 3");
  Boot("b");
  EXPECT_THAT(device_->Status().out,
              HasSubstr("slot b boot: bootable yes, confirmed no, attempts "
                        "left 3"));
  CommandResult good = Mark("mark-good");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(Printenv(), HasSubstr("BOOT_B_LEFT=4\n"));

  CommandResult bad = Mark("mark-bad");
  ASSERT_EQ(bad.exit_code, 0) << bad.err;
  std::string vars = Printenv();
  EXPECT_THAT(vars, HasSubstr("BOOT_B_LEFT=0\n"));
  EXPECT_THAT(vars, HasSubstr("BOOT_ORDER=A B\n"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  CommandResult active = Mark("mark-active b");
  ASSERT_EQ(active.exit_code, 0) << active.err;
  vars = Printenv();
  EXPECT_THAT(vars, HasSubstr("BOOT_B_LEFT=4\n"));
  EXPECT_THAT(vars, HasSubstr("BOOT_ORDER=B A\n"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");

  // b used up its starts and the script started a.
  Setenv("BOOT_B_LEFT 0");
  Boot("a");
  CommandResult status = device_->Status();
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_THAT(status.out, HasSubstr("bootloader: uboot"));
  EXPECT_THAT(status.out, HasSubstr("primary slot: b"));
  EXPECT_THAT(status.out, HasSubstr("slot b boot: bootable no"));
  EXPECT_THAT(status.out, HasSubstr("fell back from b to a (not handled yet"));
  good = Mark("mark-good");
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.err, HasSubstr("fell back from b to a"));
  vars = Printenv();
  EXPECT_THAT(vars, HasSubstr("BOOT_A_LEFT=4\n"));
  EXPECT_THAT(vars, HasSubstr("BOOT_ORDER=A B\n"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  EXPECT_THAT(device_->Status().out, HasSubstr("fell back from b to a at "));
}

}  // namespace
}  // namespace imab::testing
