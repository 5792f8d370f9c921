// The custom backend against a script of the test's own: a small sh script
// keeping the primary slot and each slot's state in files beside it.
#include "verifier/boot/custom_bootloader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "verifier/boot/bootloader.h"

namespace imab::verifier {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::HasValue;
using testing::IsOk;
using testing::StatusIs;

namespace fs = std::filesystem;

constexpr const char* kScriptPath = "usr/lib/imab/boot-glue";

// The documented interface, state in files next to the script.
constexpr const char* kStateScript = R"(#!/bin/sh
d=$(dirname "$0")
case "$1" in
  get-primary) cat "$d/primary" ;;
  set-primary) echo "$2" > "$d/primary" ;;
  get-state) cat "$d/state-$2" ;;
  set-state) echo "$3" > "$d/state-$2" ;;
  *) echo "unknown command: $1" >&2; exit 2 ;;
esac
)";

class CustomBootloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.root = tmp_.path().string();
    config_.boot.bootloader = BootloaderKind::kCustom;
    config_.boot.bootloader_script = kScriptPath;
    fs::create_directories(tmp_.path() / "usr/lib/imab");
    testing::WriteFile(Folder() / "primary", "a\n");
    testing::WriteFile(Folder() / "state-a", "good\n");
    testing::WriteFile(Folder() / "state-b", "bad\n");
  }
  fs::path Folder() const { return tmp_.path() / "usr/lib/imab"; }
  void WriteScript(const std::string& text, unsigned mode = 0755) {
    const fs::path path = tmp_.path() / kScriptPath;
    testing::WriteFile(path, text);
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }
  std::unique_ptr<Bootloader> Open() {
    auto opened = OpenBootloader(config_);
    EXPECT_THAT(opened, HasValue());
    return opened.has_value() ? std::move(*opened) : nullptr;
  }

  testing::TempDir tmp_;
  DeviceConfig config_;
};

TEST_F(CustomBootloaderTest, ReadsAndWritesThroughTheScript) {
  WriteScript(kStateScript);
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_STREQ(boot->Name(), "custom");
  EXPECT_THAT(boot->Primary(), HasValue(SlotId::kA));

  ASSERT_THAT(boot->SetPrimary(SlotId::kB), IsOk());
  EXPECT_EQ(testing::ReadFile(Folder() / "primary"), "b\n");
  EXPECT_THAT(boot->Primary(), HasValue(SlotId::kB));

  auto b = boot->SlotStatus(SlotId::kB);
  ASSERT_THAT(b, HasValue());
  EXPECT_FALSE(b->bootable);
  EXPECT_FALSE(b->confirmed.has_value());
  EXPECT_FALSE(b->attempts_left.has_value());
  ASSERT_THAT(boot->MarkGood(SlotId::kB), IsOk());
  EXPECT_EQ(testing::ReadFile(Folder() / "state-b"), "good\n");
  EXPECT_TRUE(boot->SlotStatus(SlotId::kB)->bootable);

  ASSERT_THAT(boot->MarkBad(SlotId::kA), IsOk());
  EXPECT_EQ(testing::ReadFile(Folder() / "state-a"), "bad\n");
  EXPECT_FALSE(boot->SlotStatus(SlotId::kA)->bootable);
}

TEST_F(CustomBootloaderTest, FailingScriptNamesScriptCommandAndItsMessage) {
  WriteScript("#!/bin/sh\necho \"env partition gone\" >&2\nexit 3\n");
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_THAT(boot->Primary(),
              StatusIs(ErrorCode::kIo,
                       AllOf(HasSubstr(kScriptPath), HasSubstr("get-primary"),
                             HasSubstr("exit status 3"),
                             HasSubstr("env partition gone"))));
  EXPECT_THAT(boot->MarkBad(SlotId::kB),
              StatusIs(ErrorCode::kIo, HasSubstr("set-state b bad")));
}

TEST_F(CustomBootloaderTest, UnexpectedOutputIsAnError) {
  WriteScript("#!/bin/sh\necho c\n");
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_THAT(boot->Primary(),
              StatusIs(ErrorCode::kIo, HasSubstr("expected a or b")));
  EXPECT_THAT(
      boot->SlotStatus(SlotId::kA),
      StatusIs(ErrorCode::kIo, AllOf(HasSubstr("get-state a"),
                                     HasSubstr("expected good or bad"))));
  WriteScript("#!/bin/sh\nprintf 'a\\n\\n'\n");
  EXPECT_THAT(boot->Primary(), StatusIs(ErrorCode::kIo));
}

TEST_F(CustomBootloaderTest, EndlessOutputIsCutAndRefused) {
  WriteScript("#!/bin/sh\nwhile :; do echo aaaaaaaaaaaaaaaa; done\n");
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_THAT(boot->Primary(),
              StatusIs(ErrorCode::kIo, HasSubstr("printed more than")));
}

TEST_F(CustomBootloaderTest, RunsWithoutTheCallersEnvironment) {
  ASSERT_EQ(setenv("IMAB_LEAK_CHECK", "leaked", 1), 0);
  WriteScript("#!/bin/sh\n[ -z \"$IMAB_LEAK_CHECK\" ] && echo a\n");
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_THAT(boot->Primary(), HasValue(SlotId::kA));
  unsetenv("IMAB_LEAK_CHECK");
}

TEST_F(CustomBootloaderTest, MissingOrNotExecutableScriptIsRefusedAtOpen) {
  EXPECT_THAT(
      OpenBootloader(config_),
      StatusIs(ErrorCode::kInvalidArgument,
               AllOf(HasSubstr("bootloader-script"), HasSubstr(kScriptPath))));
  WriteScript(kStateScript, 0644);
  // Without an x bit even root may not run it (access(2), X_OK).
  EXPECT_THAT(OpenBootloader(config_), StatusIs(ErrorCode::kInvalidArgument));
}

TEST(OpenBootloaderTest, NoneIsNoBootloader) {
  DeviceConfig config;
  config.root = "/nonexistent";
  auto opened = OpenBootloader(config);
  ASSERT_THAT(opened, HasValue());
  EXPECT_EQ(*opened, nullptr);
}

}  // namespace
}  // namespace imab::verifier
