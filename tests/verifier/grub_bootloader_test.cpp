// The grubenv codec and the grub backend, checked against GRUB's own
// grub-editenv (grub-common): what we write it lists, what it writes we
// read, and damaged blocks are refused.
#include "verifier/boot/grub_bootloader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/testutil/run.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "verifier/boot/grubenv.h"

namespace imab::verifier {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::HasValue;
using testing::IsOk;
using testing::ShellQuote;
using testing::StatusIs;

namespace fs = std::filesystem;

std::string Block(const std::string& lines) {
  std::string block = std::string(kGrubEnvSignature) + lines;
  block.append(kGrubEnvBytes - block.size(), '#');
  return block;
}

TEST(GrubEnvTest, ReadsVariablesCommentsAndEscapes) {
  auto env = GrubEnv::Parse(
      Block("# a comment\nORDER=B A\nX=a\\\\b\\\nc\nsaved_entry=\n"), "t");
  ASSERT_THAT(env, HasValue());
  ASSERT_EQ(env->items().size(), 4u);
  EXPECT_TRUE(env->items()[0].comment);
  EXPECT_EQ(*env->Find("ORDER"), "B A");
  EXPECT_EQ(*env->Find("X"), "a\\b\nc");
  EXPECT_EQ(*env->Find("saved_entry"), "");
  EXPECT_EQ(env->Find("A_OK"), nullptr);
  auto again = env->Render();
  ASSERT_THAT(again, HasValue());
  EXPECT_EQ(*again,
            Block("# a comment\nORDER=B A\nX=a\\\\b\\\nc\nsaved_entry=\n"));
}

TEST(GrubEnvTest, DamagedBlocksAreRefusedInOneLine) {
  const std::string good = Block("ORDER=A B\n");
  struct Case {
    std::string block;
    std::string says;
  } cases[] = {
      {good.substr(0, 1023), "1023 bytes"},
      {good + "#", "1025 bytes"},
      {"# GRUB Environment Blok\n" + good.substr(24), "not a GRUB environment"},
      {Block("ORDER\nA B\n"), "without '='"},
      {Block("=x\n"), "without a name"},
      {Block(std::string("A_OK=1\0\n", 8)), "NUL"},
      {Block("A_OK=1\nA_OK=0\n"), "A_OK twice"},
      {good.substr(0, 1023) + "x", "without its newline"},
      {Block("A_OK=1").substr(0, 1023) + "\\", "without its newline"},
  };
  for (const Case& c : cases) {
    auto env = GrubEnv::Parse(c.block, "ROOT/boot/grub/grubenv");
    EXPECT_THAT(env, StatusIs(ErrorCode::kMalformed,
                              AllOf(HasSubstr("ROOT/boot/grub/grubenv"),
                                    HasSubstr(c.says))))
        << c.says;
    if (!env.has_value()) {
      EXPECT_EQ(env.error().message.find('\n'), std::string::npos);
    }
  }
}

TEST(GrubEnvTest, OverlongVariablesDoNotRender) {
  GrubEnv env;
  ASSERT_THAT(env.Set("big", std::string(1000, 'x')), IsOk());
  EXPECT_THAT(env.Render(), StatusIs(ErrorCode::kLimitExceeded));
  EXPECT_THAT(env.Set("a=b", "1"), StatusIs(ErrorCode::kInvalidArgument));
}

class GrubBootloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveTool("grub-editenv")) {
      GTEST_SKIP() << "grub-editenv (grub-common) is not installed";
    }
    ASSERT_EQ(Editenv("create").exit_code, 0);
  }
  testing::CommandResult Editenv(const std::string& command) {
    return testing::RunShell("grub-editenv " + ShellQuote(path_) + " " +
                             command);
  }
  std::string List() {
    auto listed = Editenv("list");
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    return listed.out;
  }

  testing::TempDir tmp_;
  std::string path_ = tmp_.Sub("grubenv");
  GrubBootloader boot_{path_};
};

TEST_F(GrubBootloaderTest, OurWritesAreWhatGrubEditenvLists) {
  ASSERT_THAT(boot_.SetPrimary(SlotId::kB), IsOk());
  EXPECT_EQ(List(), "ORDER=B A\nA_OK=0\nA_TRY=0\nB_OK=1\nB_TRY=0\n");
  EXPECT_EQ(fs::file_size(path_), kGrubEnvBytes);
  ASSERT_THAT(boot_.MarkBad(SlotId::kB), IsOk());
  ASSERT_THAT(boot_.MarkGood(SlotId::kA), IsOk());
  EXPECT_EQ(List(), "ORDER=B A\nA_OK=1\nA_TRY=0\nB_OK=0\nB_TRY=0\n");
  // Our variables lead the block now: a change stays within the first
  // sector and is written in place (same inode).
  struct stat before {};
  ASSERT_EQ(stat(path_.c_str(), &before), 0);
  ASSERT_THAT(boot_.SetPrimary(SlotId::kA), IsOk());
  struct stat after {};
  ASSERT_EQ(stat(path_.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(List(), "ORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=0\nB_TRY=0\n");
}

TEST_F(GrubBootloaderTest, KeepsOtherVariablesAndTheirEscapes) {
  ASSERT_EQ(Editenv("set saved_entry=linux-b 'odd=a\\b'").exit_code, 0);
  ASSERT_THAT(boot_.SetPrimary(SlotId::kA), IsOk());
  EXPECT_EQ(List(),
            "ORDER=A B\nA_OK=1\nA_TRY=0\nB_OK=0\nB_TRY=0\n"
            "saved_entry=linux-b\nodd=a\\b\n");
}

TEST_F(GrubBootloaderTest, AChangePastTheFirstSectorReplacesTheFile) {
  ASSERT_EQ(Editenv("set filler=" + std::string(600, 'x')).exit_code, 0);
  struct stat before {};
  ASSERT_EQ(stat(path_.c_str(), &before), 0);
  // Our five go before the filler, which moves across the sector boundary.
  ASSERT_THAT(boot_.SetPrimary(SlotId::kB), IsOk());
  struct stat after {};
  ASSERT_EQ(stat(path_.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_EQ(after.st_size, static_cast<off_t>(kGrubEnvBytes));
  EXPECT_EQ(List(), "ORDER=B A\nA_OK=0\nA_TRY=0\nB_OK=1\nB_TRY=0\nfiller=" +
                        std::string(600, 'x') + "\n");
  // From then on in place.
  ASSERT_THAT(boot_.MarkGood(SlotId::kA), IsOk());
  struct stat last {};
  ASSERT_EQ(stat(path_.c_str(), &last), 0);
  EXPECT_EQ(after.st_ino, last.st_ino);
  EXPECT_THAT(List(), HasSubstr("A_OK=1\n"));
}

TEST_F(GrubBootloaderTest, OpenedFromDeviceConfSymlinksResolveInsideRoot) {
  // ROOT/boot/grub/grubenv -> /efi/grubenv means ROOT/efi/grubenv, as the
  // device would see it, never the host's /efi.
  fs::create_directories(tmp_.path() / "root/boot/grub");
  fs::create_directories(tmp_.path() / "root/efi");
  fs::copy_file(path_, tmp_.path() / "root/efi/grubenv");
  fs::create_symlink("/efi/grubenv", tmp_.path() / "root/boot/grub/grubenv");
  DeviceConfig config;
  config.root = tmp_.Sub("root");
  config.boot.bootloader = BootloaderKind::kGrub;
  config.boot.grubenv = "boot/grub/grubenv";
  auto opened = OpenBootloader(config);
  ASSERT_THAT(opened, HasValue());
  ASSERT_NE(*opened, nullptr);
  EXPECT_STREQ((*opened)->Name(), "grub");
  ASSERT_THAT((*opened)->SetPrimary(SlotId::kB), IsOk());
  auto listed = testing::RunShell(
      "grub-editenv " + ShellQuote(tmp_.Sub("root/efi/grubenv")) + " list");
  EXPECT_THAT(listed.out, HasSubstr("ORDER=B A\n"));
  config.boot.grubenv = "boot/grub/missing";
  EXPECT_THAT(OpenBootloader(config),
              StatusIs(ErrorCode::kInvalidArgument,
                       AllOf(HasSubstr("grubenv"), HasSubstr("missing"))));
}

TEST_F(GrubBootloaderTest, ReadsWhatGrubEditenvWrites) {
  // As the snippet leaves it after trying B once, B not yet confirmed.
  ASSERT_EQ(Editenv("set 'ORDER=B A' A_OK=1 A_TRY=0 B_OK=1 B_TRY=1").exit_code,
            0);
  EXPECT_THAT(boot_.Primary(), HasValue(SlotId::kB));
  auto b = boot_.SlotStatus(SlotId::kB);
  ASSERT_THAT(b, HasValue());
  EXPECT_FALSE(b->bootable);
  EXPECT_EQ(b->attempts_left, 0u);
  auto a = boot_.SlotStatus(SlotId::kA);
  ASSERT_THAT(a, HasValue());
  EXPECT_TRUE(a->bootable);
  EXPECT_EQ(a->confirmed, true);
  EXPECT_EQ(a->attempts_left, 1u);
  ASSERT_THAT(boot_.MarkGood(SlotId::kB), IsOk());
  EXPECT_THAT(List(), HasSubstr("B_OK=1\nB_TRY=0\n"));
}

TEST_F(GrubBootloaderTest, AFreshBlockReadsAsTheSnippetsDefaults) {
  EXPECT_THAT(boot_.Primary(), HasValue(SlotId::kA));
  auto a = boot_.SlotStatus(SlotId::kA);
  ASSERT_THAT(a, HasValue());
  EXPECT_FALSE(a->bootable);
}

TEST_F(GrubBootloaderTest, ValuesTheScriptDoesNotUseAreDamage) {
  ASSERT_EQ(Editenv("set 'ORDER=A C' A_OK=yes").exit_code, 0);
  EXPECT_THAT(boot_.Primary(),
              StatusIs(ErrorCode::kIo,
                       AllOf(HasSubstr(path_), HasSubstr("ORDER=\"A C\""))));
  EXPECT_THAT(boot_.SlotStatus(SlotId::kA),
              StatusIs(ErrorCode::kIo, HasSubstr("A_OK=\"yes\"")));
}

TEST_F(GrubBootloaderTest, DamagedFilesAreRefusedAndLeftAlone) {
  testing::WriteFile(path_, Block("ORDER=A B\n").substr(0, 1000));
  EXPECT_THAT(boot_.Primary(),
              StatusIs(ErrorCode::kIo,
                       AllOf(HasSubstr(path_), HasSubstr("1000 bytes"))));
  EXPECT_THAT(boot_.SetPrimary(SlotId::kB), StatusIs(ErrorCode::kIo));
  EXPECT_EQ(fs::file_size(path_), 1000u);
  testing::WriteFile(path_, Block("ORDER=A B\n") + "more");
  EXPECT_THAT(boot_.MarkGood(SlotId::kA),
              StatusIs(ErrorCode::kIo, HasSubstr("1025 bytes")));
  testing::WriteFile(path_, std::string(1024, '#'));
  EXPECT_THAT(boot_.MarkBad(SlotId::kA),
              StatusIs(ErrorCode::kIo, HasSubstr("not a GRUB environment")));
  fs::remove(path_);
  EXPECT_THAT(boot_.Primary(),
              StatusIs(ErrorCode::kIo, HasSubstr("does not exist")));
}

TEST_F(GrubBootloaderTest, AFullBlockIsRefusedBeforeWriting) {
  ASSERT_EQ(Editenv("set filler=" + std::string(900, 'x')).exit_code, 0);
  const std::string before = testing::ReadFile(path_);
  EXPECT_THAT(boot_.SetPrimary(SlotId::kB),
              StatusIs(ErrorCode::kIo, HasSubstr("the block holds 1024")));
  EXPECT_EQ(testing::ReadFile(path_), before);
}

}  // namespace
}  // namespace imab::verifier
