// hook-pre-install and hook-post-install with the real imab-verify: the
// documented environment reaches the scripts, and a refusing pre-install
// hook leaves the device exactly as it was (manifests/device.conf.md,
// "Hooks").
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

class HookTest : public DeviceTest {
 protected:
  void SetUp() override {
    SampleTreeOptions small;
    small.big_file_bytes = 64u << 10;
    MakeSampleTree(rootfs_, small);
    bundle_ = dir_.Sub("v1.imab");
    BuildVersion(rootfs_, bundle_, *keys_, "1.0", device_->ImaBuildFlags());
  }
  // ROOT/etc/imabundle/NAME: a script saving its environment to
  // ROOT/NAME.env, then exiting with `code`.
  std::string Hook(const std::string& name, int code) {
    fs::create_directories(device_->root() + "/etc/imabundle");
    const std::string path = device_->root() + "/etc/imabundle/" + name;
    WriteFile(path, "#!/bin/sh\nenv > \"$IMAB_ROOT/" + name +
                        ".env\"\necho hook says hello\nexit " +
                        std::to_string(code) + "\n");
    ::chmod(path.c_str(), 0755);
    return "/etc/imabundle/" + name;
  }
  std::string Env(const std::string& name) {
    return ReadFile(device_->root() + "/" + name + ".env");
  }

  std::string bundle_;
};

TEST_F(HookTest, HooksRunWithTheirEnvironment) {
  const std::string pre = Hook("pre", 0);
  const std::string post = Hook("post", 0);
  ASSERT_EQ(
      device_
          ->Init("--hook-pre-install " + pre + " --hook-post-install " + post)
          .exit_code,
      0);
  EXPECT_THAT(ReadFile(device_->root() + "/etc/imabundle/device.conf"),
              HasSubstr("hook-pre-install = /etc/imabundle/pre"));
  fs::create_directories(device_->root() + "/proc");
  WriteFile(device_->root() + "/proc/cmdline", "imab.slot=a\n");
  CommandResult install = device_->Install(bundle_, "--json");
  ASSERT_EQ(install.exit_code, 0) << install.err;
  // The hooks' output goes to stderr, never into the JSON report.
  EXPECT_THAT(install.out, Not(HasSubstr("hook says hello")));
  EXPECT_THAT(install.err, HasSubstr("hook-pre-install: hook says hello"));
  for (const std::string& name : {std::string("pre"), std::string("post")}) {
    const std::string env = Env(name);
    EXPECT_THAT(env, HasSubstr("IMAB_SLOT=b\n"));
    EXPECT_THAT(env, HasSubstr("IMAB_BOOTED_SLOT=a\n"));
    EXPECT_THAT(env, HasSubstr("IMAB_VERSION=1.0\n"));
    EXPECT_THAT(env, HasSubstr("IMAB_BUNDLE=" + bundle_ + "\n"));
    EXPECT_THAT(env, HasSubstr("IMAB_ROOT=" + device_->root() + "\n"));
  }
  EXPECT_THAT(Env("pre"), HasSubstr("IMAB_HOOK=pre-install\n"));
  EXPECT_THAT(Env("post"), HasSubstr("IMAB_HOOK=post-install\n"));
  EXPECT_THAT(Env("post"), HasSubstr("IMAB_RESULT=ok\n"));
}

TEST_F(HookTest, ARefusingPreInstallHookChangesNothing) {
  const std::string post = Hook("post", 1);  // a warning only
  ASSERT_EQ(device_
                ->Init("--hook-pre-install " + Hook("pre", 7) +
                       " --hook-post-install " + post)
                .exit_code,
            0);
  const std::string before = device_->Status("--json").out;
  CommandResult install = device_->Install(bundle_);
  EXPECT_EQ(install.exit_code, 1);
  EXPECT_THAT(install.err, HasSubstr("refused by hook-pre-install"));
  EXPECT_THAT(install.err, HasSubstr("exit status 7"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  EXPECT_TRUE(fs::is_empty(device_->SlotPath("slot-a")));
  EXPECT_TRUE(fs::is_empty(device_->SlotPath("slot-b")));
  CommandResult after = device_->Status();
  EXPECT_EQ(after.exit_code, 0) << after.out;
  EXPECT_THAT(after.out, HasSubstr("last install: rejected"));
  EXPECT_THAT(Env("post"), HasSubstr("IMAB_RESULT=refused\n"));
  EXPECT_FALSE(before.empty());
}

TEST_F(HookTest, AFailingPostInstallHookIsAWarning) {
  ASSERT_EQ(device_->Init("--hook-post-install " + Hook("post", 3)).exit_code,
            0);
  CommandResult install = device_->Install(bundle_);
  EXPECT_EQ(install.exit_code, 0) << install.err;
  EXPECT_THAT(install.err, HasSubstr("hook-post-install"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
}

// A hook killed by a signal: the pre-install hook refuses the install in
// one line naming the hook and the signal, the post-install one only warns.
TEST_F(HookTest, AHookKilledByASignalIsNamed) {
  fs::create_directories(device_->root() + "/etc/imabundle");
  const std::string path = device_->root() + "/etc/imabundle/killed";
  WriteFile(path, "#!/bin/sh\nkill -9 $$\n");
  ::chmod(path.c_str(), 0755);
  ASSERT_EQ(device_->Init("--hook-pre-install /etc/imabundle/killed").exit_code,
            0);
  CommandResult refused = device_->Install(bundle_);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("refused by hook-pre-install "));
  EXPECT_THAT(refused.err,
              HasSubstr("/etc/imabundle/killed: killed by signal KILL (9); "
                        "nothing was changed\n"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  EXPECT_TRUE(fs::is_empty(device_->SlotPath("slot-b")));

  // The same script as the post-install hook.
  const std::string conf = device_->root() + "/etc/imabundle/device.conf";
  std::string text = ReadFile(conf);
  const size_t key = text.find("hook-pre-install");
  ASSERT_NE(key, std::string::npos);
  text.replace(key, 16, "hook-post-install");
  WriteFile(conf, text);
  CommandResult warned = device_->Install(bundle_);
  EXPECT_EQ(warned.exit_code, 0) << warned.err;
  EXPECT_THAT(warned.err, HasSubstr("hook-post-install "));
  EXPECT_THAT(warned.err,
              HasSubstr("/etc/imabundle/killed: killed by signal KILL (9)\n"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
}

}  // namespace
}  // namespace imab::testing
