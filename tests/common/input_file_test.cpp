#include "common/read/input_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/read/printable.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using testing::TempDir;
using testing::WriteFile;

TEST(InputFileTest, ReadsARegularFileWithinTheCap) {
  TempDir dir;
  WriteFile(dir.Sub("f"), "hello");
  Result<std::string> read = ReadInputFile(dir.Sub("f"), 5);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(*read, "hello");
  Result<std::string> big = ReadInputFile(dir.Sub("f"), 4);
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(big.error().message, dir.Sub("f") + ": larger than 4 bytes");
}

TEST(InputFileTest, RefusesFifosDevicesAndFolders) {
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.Sub("fifo").c_str(), 0644), 0);
  Result<std::string> fifo = ReadInputFile(dir.Sub("fifo"), 10);
  ASSERT_FALSE(fifo.has_value());
  EXPECT_EQ(fifo.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(fifo.error().message,
            dir.Sub("fifo") + ": not a regular file (a FIFO)");
  Result<std::string> zero = ReadInputFile("/dev/zero", 10);
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().message,
            "/dev/zero: not a regular file (a character device)");
  EXPECT_FALSE(ReadInputFile(dir.Sub(""), 10).has_value());
}

TEST(InputFileTest, MissingAndSymlinks) {
  TempDir dir;
  Result<std::optional<std::string>> missing =
      ReadInputFileIfExists(dir.Sub("none"), 10);
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
  EXPECT_FALSE(ReadInputFile(dir.Sub("none"), 10).has_value());
  WriteFile(dir.Sub("f"), "x");
  std::filesystem::create_symlink(dir.Sub("f"), dir.Sub("link"));
  EXPECT_TRUE(ReadInputFile(dir.Sub("link"), 10).has_value());
  Result<std::string> refused =
      ReadInputFile(dir.Sub("link"), 10, Symlinks::kRefuse);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kIo);
}

TEST(InputFileTest, ReadsAnOpenedFileIntoTheCallersBufferWithoutACopy) {
  TempDir dir;
  const std::string content(40000, 'k');  // more than one growth step
  WriteFile(dir.Sub("key"), content);
  Result<InputFile> file = OpenInputFile(dir.Sub("key"));
  ASSERT_TRUE(file.has_value()) << file.error().message;
  std::string out;
  out.reserve(content.size() + 1);  // as a secret buffer reserves its cap
  const char* buffer = out.data();
  ASSERT_TRUE(
      ReadOpenInputFile(*file, dir.Sub("key"), content.size(), out).ok());
  EXPECT_EQ(out, content);
  // Same buffer: no reallocation left a copy of the bytes behind.
  EXPECT_EQ(out.data(), buffer);
}

TEST(InputFileTest, AFileAtTheCapIsReadAndOneByteMoreIsRefused) {
  TempDir dir;
  WriteFile(dir.Sub("f"), std::string(20000, 'x'));
  EXPECT_TRUE(ReadInputFile(dir.Sub("f"), 20000).has_value());
  Result<std::string> over = ReadInputFile(dir.Sub("f"), 19999);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(over.error().message, dir.Sub("f") + ": larger than 19999 bytes");
}

TEST(InputFileTest, AdoptsADescriptorOpenedElsewhereUnderTheSameChecks) {
  TempDir dir;
  WriteFile(dir.Sub("f"), "held");
  UniqueFd file(::open(dir.Sub("f").c_str(), O_RDONLY | O_CLOEXEC));
  Result<InputFile> adopted = AdoptInputFile(std::move(file), "ROOT/f");
  ASSERT_TRUE(adopted.has_value()) << adopted.error().message;
  std::string out;
  ASSERT_TRUE(ReadOpenInputFile(*adopted, "ROOT/f", 4, out).ok());
  EXPECT_EQ(out, "held");
  ASSERT_EQ(::mkfifo(dir.Sub("fifo").c_str(), 0644), 0);
  UniqueFd fifo(
      ::open(dir.Sub("fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  Result<InputFile> refused = AdoptInputFile(std::move(fifo), "ROOT/fifo");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message, "ROOT/fifo: not a regular file (a FIFO)");
}

TEST(PrintableTest, EscapesEveryByteOutsidePrintableAscii) {
  EXPECT_EQ(Printable("usr/bin/ls"), "usr/bin/ls");
  EXPECT_EQ(Printable("a\nb\tc\rd\\e"), "a\\nb\\tc\\rd\\\\e");
  EXPECT_EQ(Printable(std::string("\x1b[31m\0\x7f\xff", 8)),
            "\\x1b[31m\\x00\\x7f\\xff");
  // Distinct inputs stay distinct: a literal backslash-n is not a newline.
  EXPECT_NE(Printable("\\n"), Printable("\n"));
  std::string cut = Printable(std::string(kMaxPrintableBytes + 1, 'a'));
  EXPECT_EQ(cut, std::string(kMaxPrintableBytes, 'a') + "...");
}

}  // namespace
}  // namespace imab
