// The U-Boot environment reader and the uboot backend, checked against
// libubootenv's own fw_printenv / fw_setenv (libubootenv-tool) on an
// environment kept in plain files, single and redundant.
#include "verifier/boot/uboot_bootloader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/run.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "verifier/boot/uboot_env.h"
#include "verifier/boot/uboot_env_config.h"

namespace imab::verifier {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::HasValue;
using testing::IsOk;
using testing::ShellQuote;
using testing::StatusIs;

namespace fs = std::filesystem;

constexpr size_t kEnvSize = 0x2000;

// One copy as U-Boot stores it: CRC, [flags,] NAME=VALUE\0..., \0, zeros.
std::string Copy(const std::string& strings, bool redundant, uint8_t flags) {
  std::string data = strings + std::string(1, '\0');
  data.resize(kEnvSize - (redundant ? 5 : 4), '\0');
  uint32_t crc = UbootEnvCrc32(data);
  std::string copy;
  for (int i = 0; i < 4; ++i) {
    copy.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  }
  if (redundant) {
    copy.push_back(static_cast<char>(flags));
  }
  return copy + data;
}

std::string Str(const char* s, size_t n) { return std::string(s, n); }

TEST(UbootEnvTest, ReadsOneCopyAndRefusesDamage) {
  auto vars =
      DecodeUbootEnv({Copy(Str("BOOT_ORDER=B A\0empty=\0", 22), false, 0)},
                     UbootFlagScheme::kIncremental, "env");
  ASSERT_THAT(vars, HasValue());
  ASSERT_EQ(vars->size(), 2u);
  EXPECT_EQ(*FindUbootVariable(*vars, "BOOT_ORDER"), "B A");
  EXPECT_EQ(*FindUbootVariable(*vars, "empty"), "");

  std::string flipped = Copy("a=1", false, 0);
  flipped[6] ^= 1;
  EXPECT_THAT(DecodeUbootEnv({flipped}, UbootFlagScheme::kIncremental, "env"),
              StatusIs(ErrorCode::kMalformed, HasSubstr("CRC")));
  struct Case {
    std::string strings;
    std::string says;
  } cases[] = {
      {Str("novalue\0", 8), "without '='"},
      {Str("=x\0", 3), "without a name"},
      {Str("a=1\0a=2\0", 8), "a twice"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(DecodeUbootEnv({Copy(c.strings, false, 0)},
                               UbootFlagScheme::kIncremental, "env"),
                StatusIs(ErrorCode::kMalformed, HasSubstr(c.says)));
  }
  // A last string running to the end of the copy, its CRC right.
  std::string data(kEnvSize - 4, 'x');
  data[0] = 'a';
  data[1] = '=';
  uint32_t crc = UbootEnvCrc32(data);
  std::string runs;
  for (int i = 0; i < 4; ++i) {
    runs.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  }
  EXPECT_THAT(DecodeUbootEnv({runs + data}, UbootFlagScheme::kIncremental, "e"),
              StatusIs(ErrorCode::kMalformed, HasSubstr("without its NUL")));
}

TEST(UbootEnvTest, ChoosesTheCopyLibubootenvTakes) {
  struct Case {
    UbootEnvHeader first, second;
    UbootFlagScheme scheme;
    size_t chosen;
  } cases[] = {
      {{true, 1}, {true, 2}, UbootFlagScheme::kIncremental, 1},
      {{true, 2}, {true, 1}, UbootFlagScheme::kIncremental, 0},
      {{true, 0xFF}, {true, 0}, UbootFlagScheme::kIncremental, 1},
      {{true, 0}, {true, 0xFF}, UbootFlagScheme::kIncremental, 0},
      {{true, 5}, {true, 5}, UbootFlagScheme::kIncremental, 0},
      {{false, 9}, {true, 1}, UbootFlagScheme::kIncremental, 1},
      {{true, 1}, {false, 9}, UbootFlagScheme::kIncremental, 0},
      {{true, 1}, {true, 0}, UbootFlagScheme::kBoolean, 0},
      {{true, 0}, {true, 1}, UbootFlagScheme::kBoolean, 1},
      {{true, 1}, {true, 0xFF}, UbootFlagScheme::kBoolean, 1},
      {{true, 0xFF}, {true, 1}, UbootFlagScheme::kBoolean, 0},
  };
  for (const Case& c : cases) {
    UbootEnvHeader headers[2] = {c.first, c.second};
    EXPECT_EQ(ChooseUbootEnvCopy(headers, c.scheme), c.chosen)
        << int{c.first.flags} << " " << int{c.second.flags};
  }
}

TEST(UbootEnvConfigTest, ReadsLibubootenvsLines) {
  auto config = ParseUbootEnvConfig(
      "# device offset size erase-size sectors\n\n"
      "/dev/mmcblk0 0x3f8000 0x4000 0x200 0x20\n"
      "/dev/mmcblk0\t4177920\t4000\n",
      "fw_env.config");
  ASSERT_THAT(config, HasValue());
  ASSERT_TRUE(config->redundant());
  EXPECT_EQ(config->copies[0].offset, 0x3f8000u);
  EXPECT_EQ(config->copies[0].size, 0x4000u);
  EXPECT_EQ(config->copies[0].sector_size, 0x200u);
  EXPECT_EQ(config->copies[0].sectors, 0x20u);
  // SIZE is hex with or without 0x, as libubootenv's %zx.
  EXPECT_EQ(config->copies[1].offset, 4177920u);
  EXPECT_EQ(config->copies[1].size, 0x4000u);
}

TEST(UbootEnvConfigTest, RefusesWhatLibubootenvWouldGuessAt) {
  struct Case {
    std::string text;
    std::string says;
  } cases[] = {
      {"", "no environment device"},
      {"/dev/mmcblk0 0x0\n", ":1: expected DEVICE"},
      {"/dev/x 0 2000 1 2 3\n", "expected DEVICE"},
      {"mmcblk0 0 2000\n", "not an absolute path"},
      {"/dev/ubi0:env 0 2000\n", "UBI"},
      {"/dev/x -0x4000 2000\n", "device's end"},
      {"/dev/x 12q 2000\n", "offset 12q"},
      {"/dev/x 0 0x0\n", "not between"},
      {"/dev/x 0 200000\n", "not between"},
      {"/dev/x 0 zz\n", "size zz"},
      {"/dev/x 0 2000\n/dev/x 4000 1000\n", ":2: the two copies differ"},
      {"/dev/x 0 2000\n/dev/x 2000 2000\n/dev/x 4000 2000\n", "a third copy"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseUbootEnvConfig(c.text, "fw_env.config"),
                StatusIs(ErrorCode::kMalformed,
                         AllOf(HasSubstr("fw_env.config"), HasSubstr(c.says))))
        << c.text;
  }
}

class UbootBootloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveTool("fw_printenv") || !testing::HaveTool("fw_setenv")) {
      GTEST_SKIP() << "fw_printenv / fw_setenv (libubootenv-tool) missing";
    }
    fs::create_directories(tmp_.path() / "etc");
    config_.root = tmp_.path().string();
    config_.boot.bootloader = BootloaderKind::kUboot;
    config_.boot.fw_env_config = "etc/fw_env.config";
  }
  // The config (one or two copies in the file `env`) and a first
  // environment written by fw_setenv from a default file.
  void MakeEnvironment(bool redundant) {
    std::string text = env_ + " 0x0 0x2000\n";
    if (redundant) {
      text += env_ + " 0x2000 0x2000\n";
    }
    testing::WriteFile(ConfigPath(), text);
    testing::WriteFile(env_,
                       std::string(redundant ? 2 * kEnvSize : kEnvSize, '\0'));
    testing::WriteFile(tmp_.Sub("initial.env"),
                       "bootcmd=run distro_bootcmd\nbootdelay=2\n");
    auto made = testing::RunShell("fw_setenv -c " + ShellQuote(ConfigPath()) +
                                  " -f " + ShellQuote(tmp_.Sub("initial.env")));
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  std::string ConfigPath() const { return tmp_.Sub("etc/fw_env.config"); }
  std::string Printenv() {
    auto printed =
        testing::RunShell("fw_printenv -c " + ShellQuote(ConfigPath()));
    EXPECT_EQ(printed.exit_code, 0) << printed.err;
    return printed.out;
  }
  void Setenv(const std::string& arguments) {
    auto set = testing::RunShell("fw_setenv -c " + ShellQuote(ConfigPath()) +
                                 " " + arguments);
    ASSERT_EQ(set.exit_code, 0) << set.err;
  }
  std::unique_ptr<Bootloader> Open() {
    auto opened = OpenBootloader(config_);
    EXPECT_THAT(opened, HasValue());
    return opened.has_value() ? std::move(*opened) : nullptr;
  }

  testing::TempDir tmp_;
  std::string env_ = tmp_.Sub("uboot.env");
  DeviceConfig config_;
};

TEST_F(UbootBootloaderTest, OurWritesAreWhatFwPrintenvPrints) {
  MakeEnvironment(false);
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_STREQ(boot->Name(), "uboot");
  ASSERT_THAT(boot->SetPrimary(SlotId::kB), IsOk());
  EXPECT_EQ(Printenv(),
            "BOOT_B_LEFT=3\nBOOT_ORDER=B A\nbootcmd=run distro_bootcmd\n"
            "bootdelay=2\n");
  ASSERT_THAT(boot->MarkBad(SlotId::kA), IsOk());
  EXPECT_THAT(Printenv(), HasSubstr("BOOT_A_LEFT=0\n"));
  EXPECT_THAT(boot->Primary(), HasValue(SlotId::kB));
  auto a = boot->SlotStatus(SlotId::kA);
  ASSERT_THAT(a, HasValue());
  EXPECT_FALSE(a->bootable);
  EXPECT_EQ(a->attempts_left, 0u);
}

TEST_F(UbootBootloaderTest, ReadsWhatFwSetenvWrites) {
  MakeEnvironment(false);
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  // Fresh: the boot script's defaults.
  EXPECT_THAT(boot->Primary(), HasValue(SlotId::kA));
  EXPECT_EQ(boot->SlotStatus(SlotId::kB)->attempts_left, 3u);
  // As the boot script leaves it after one start of B.
  Setenv("BOOT_ORDER 'B A' BOOT_B_LEFT 2 BOOT_A_LEFT 3");
  EXPECT_THAT(boot->Primary(), HasValue(SlotId::kB));
  auto b = boot->SlotStatus(SlotId::kB);
  ASSERT_THAT(b, HasValue());
  EXPECT_TRUE(b->bootable);
  EXPECT_EQ(b->confirmed, false);
  EXPECT_EQ(b->attempts_left, 2u);
  ASSERT_THAT(boot->MarkGood(SlotId::kB), IsOk());
  EXPECT_THAT(Printenv(), HasSubstr("BOOT_B_LEFT=3\n"));
  EXPECT_EQ(boot->SlotStatus(SlotId::kB)->confirmed, true);
}

TEST_F(UbootBootloaderTest, RedundantCopiesAgreeWithFwPrintenv) {
  MakeEnvironment(true);
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  // Each save goes to the other copy with the next flag; five of them
  // alternate the copies and agree with fw_printenv each time.
  for (int round = 0; round < 5; ++round) {
    SlotId slot = round % 2 == 0 ? SlotId::kB : SlotId::kA;
    ASSERT_THAT(boot->SetPrimary(slot), IsOk());
    EXPECT_THAT(boot->Primary(), HasValue(slot));
    EXPECT_THAT(Printenv(), HasSubstr(slot == SlotId::kB ? "BOOT_ORDER=B A\n"
                                                         : "BOOT_ORDER=A B\n"));
  }
  // The newer copy damaged: both tools fall back to the older one (B A
  // was written last, so the older copy says A B).
  const std::string bytes = testing::ReadFile(env_);
  const size_t newer =
      static_cast<uint8_t>(bytes[4]) > static_cast<uint8_t>(bytes[kEnvSize + 4])
          ? 0
          : kEnvSize;
  std::string damaged = bytes;
  damaged[newer + 8] ^= 0x20;
  testing::WriteFile(env_, damaged);
  EXPECT_THAT(boot->Primary(), HasValue(SlotId::kA));
  EXPECT_THAT(Printenv(), HasSubstr("BOOT_ORDER=A B\n"));
}

TEST_F(UbootBootloaderTest, FlagWrapFromLastToFirstIsNewer) {
  MakeEnvironment(true);
  testing::WriteFile(env_, Copy(Str("BOOT_ORDER=A B\0", 15), true, 0xFF) +
                               Copy(Str("BOOT_ORDER=B A\0", 15), true, 0));
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_THAT(boot->Primary(), HasValue(SlotId::kB));
  EXPECT_EQ(Printenv(), "BOOT_ORDER=B A\n");
}

TEST_F(UbootBootloaderTest, DamagedCrcIsRefusedAndNothingWritten) {
  MakeEnvironment(false);
  std::string bytes = testing::ReadFile(env_);
  bytes[10] ^= 0x01;
  testing::WriteFile(env_, bytes);
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_THAT(boot->Primary(),
              StatusIs(ErrorCode::kIo, AllOf(HasSubstr(env_),
                                             HasSubstr("CRC does not match"))));
  EXPECT_THAT(boot->SetPrimary(SlotId::kB), StatusIs(ErrorCode::kIo));
  EXPECT_EQ(testing::ReadFile(env_), bytes);
}

TEST_F(UbootBootloaderTest, ValuesTheScriptDoesNotUseAreDamage) {
  MakeEnvironment(false);
  Setenv("BOOT_ORDER 'A C' BOOT_A_LEFT three");
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_THAT(boot->Primary(),
              StatusIs(ErrorCode::kIo, HasSubstr("BOOT_ORDER=\"A C\"")));
  EXPECT_THAT(boot->SlotStatus(SlotId::kA),
              StatusIs(ErrorCode::kIo, HasSubstr("BOOT_A_LEFT=\"three\"")));
}

TEST_F(UbootBootloaderTest, ABadConfigIsRefusedAtOpen) {
  EXPECT_THAT(OpenBootloader(config_), StatusIs(ErrorCode::kInvalidArgument,
                                                HasSubstr("fw-env-config")));
  testing::WriteFile(ConfigPath(), "uboot.env 0 2000\n");
  EXPECT_THAT(OpenBootloader(config_),
              StatusIs(ErrorCode::kInvalidArgument,
                       AllOf(HasSubstr("etc/fw_env.config:1"),
                             HasSubstr("not an absolute path"))));
}

TEST_F(UbootBootloaderTest, AnUnreadableDeviceIsAnIoError) {
  testing::WriteFile(ConfigPath(), env_ + " 0x0 0x2000\n");
  auto boot = Open();
  ASSERT_NE(boot, nullptr);
  EXPECT_THAT(boot->Primary(), StatusIs(ErrorCode::kIo, HasSubstr(env_)));
  testing::WriteFile(env_, std::string(100, '\0'));
  EXPECT_THAT(boot->Primary(),
              StatusIs(ErrorCode::kIo, HasSubstr("ends before")));
}

}  // namespace
}  // namespace imab::verifier
