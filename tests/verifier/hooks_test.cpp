#include "verifier/device/hooks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using imab::testing::ReadFile;
using imab::testing::TempDir;
using imab::testing::WriteFile;
using ::testing::HasSubstr;

class HooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.root = dir_.path().string();
    std::filesystem::create_directories(dir_.path() / "etc/hooks");
  }
  // ROOT/etc/hooks/NAME, executable, running `body` with /bin/sh.
  std::string Script(const std::string& name, const std::string& body) {
    const std::filesystem::path path = dir_.path() / "etc/hooks" / name;
    WriteFile(path, "#!/bin/sh\n" + body + "\n");
    ::chmod(path.c_str(), 0755);
    return "etc/hooks/" + name;
  }

  TempDir dir_;
  DeviceConfig config_;
};

TEST_F(HooksTest, NoHookRunsNothing) {
  EXPECT_TRUE(RunHook(config_, HookKind::kPreInstall, {}).ok());
}

TEST_F(HooksTest, PassesTheDocumentedEnvironmentOnly) {
  const std::string out = dir_.Sub("env");
  config_.boot.hook_post_install = Script("post", "env > " + out);
  setenv("IMAB_LEAK", "1", 1);
  Status run = RunHook(config_, HookKind::kPostInstall,
                       {"b", "a", "2.0", "/tmp/x.imab", "ok"});
  unsetenv("IMAB_LEAK");
  ASSERT_TRUE(run.ok()) << run.error().message;
  const std::string env = ReadFile(out);
  for (const std::string& line : std::vector<std::string>{
           "IMAB_HOOK=post-install\n", "IMAB_SLOT=b\n", "IMAB_BOOTED_SLOT=a\n",
           "IMAB_VERSION=2.0\n", "IMAB_BUNDLE=/tmp/x.imab\n",
           "IMAB_RESULT=ok\n", "IMAB_ROOT=" + config_.root + "\n"}) {
    EXPECT_THAT(env, HasSubstr(line));
  }
  EXPECT_THAT(env, ::testing::Not(HasSubstr("IMAB_LEAK")));
}

TEST_F(HooksTest, ANonZeroExitIsAnErrorNamingTheHook) {
  config_.boot.hook_pre_install = Script("pre", "exit 3");
  Status run = RunHook(config_, HookKind::kPreInstall, {});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, ErrorCode::kIo);
  EXPECT_THAT(run.error().message, HasSubstr("hook-pre-install"));
  EXPECT_THAT(run.error().message, HasSubstr("exited with status 3"));
}

TEST_F(HooksTest, AMissingOrStuckHookFails) {
  config_.boot.hook_on_fallback = "etc/hooks/missing";
  EXPECT_FALSE(RunHook(config_, HookKind::kOnFallback, {}).ok());
  config_.boot.hook_on_fallback = Script("stuck", "exec sleep 30");
  Status run = RunHook(config_, HookKind::kOnFallback, {},
                       std::chrono::milliseconds(200));
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.error().message, HasSubstr("killed after"));
}

}  // namespace
}  // namespace imab::verifier
