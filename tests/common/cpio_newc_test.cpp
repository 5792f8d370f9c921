#include "common/read/cpio_newc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/write/cpio_writer.h"
#include "tests/testutil/bytes.h"
#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using ::imab::testing::ReadFile;
using ::imab::testing::RunShell;
using ::imab::testing::ShellQuote;
using ::imab::testing::TempDir;
using imab::testing::ToBytes;
using ::imab::testing::WriteFile;
using ::testing::HasSubstr;

// A small tree archived by GNU cpio in `format` ("newc" or "odc").
std::vector<uint8_t> GnuCpio(const TempDir& dir, const std::string& format) {
  std::filesystem::create_directories(dir.path() / "tree/etc/keys");
  WriteFile(dir.path() / "tree/etc/keys/x509_evm.der", "cert-bytes");
  WriteFile(dir.path() / "tree/init", "#!/bin/sh\necho hi\n");
  WriteFile(dir.path() / "tree/empty", "");
  std::filesystem::create_symlink("x509_evm.der",
                                  dir.path() / "tree/etc/keys/x509_ima.der");
  std::string out = dir.Sub("a.cpio");
  auto r = RunShell("cd " + ShellQuote(dir.Sub("tree")) +
                    " && find . | LC_ALL=C sort | cpio -o --quiet -H " +
                    format + " > " + ShellQuote(out));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return ToBytes(ReadFile(out));
}

// One header the way gen_init_cpio writes it ("%08X", upper case).
std::string UpperHeader(const std::string& name, uint32_t mode,
                        const std::string& data, uint32_t ino) {
  char buf[111];
  std::snprintf(buf, sizeof(buf),
                "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                ino, mode, 0u, 0u, 1u, 0x5A5A5A5Au,
                static_cast<unsigned>(data.size()), 3u, 1u, 0u, 0u,
                static_cast<unsigned>(name.size() + 1), 0u);
  std::string out(buf, 110);
  out += name;
  out += '\0';
  out.append((4 - out.size() % 4) % 4, '\0');
  out += data;
  out.append((4 - out.size() % 4) % 4, '\0');
  return out;
}

TEST(CpioNewcTest, GnuCpioRoundTripsByteForByte) {
  TempDir dir;
  std::vector<uint8_t> bytes = GnuCpio(dir, "newc");
  auto archives = ParseCpioStream(bytes);
  ASSERT_TRUE(archives.has_value()) << archives.error().message;
  ASSERT_EQ(archives->size(), 1u);
  const CpioArchive& a = (*archives)[0];
  EXPECT_EQ(bytes.size() % 512, 0u);
  EXPECT_GT(a.trailing_zeros, 0u);
  EXPECT_EQ(a.trailer.name, "TRAILER!!!");
  bool found_link = false;
  for (const CpioMember& m : a.members) {
    EXPECT_TRUE(m.upper_hex);  // GNU cpio 2.13 writes "%08X" too
    if (m.name == "etc/keys/x509_ima.der") {
      found_link = true;
      EXPECT_TRUE(S_ISLNK(m.mode));
      EXPECT_EQ(std::string(m.data.begin(), m.data.end()), "x509_evm.der");
    }
    if (m.name == "etc/keys/x509_evm.der") {
      EXPECT_EQ(m.mode, S_IFREG | 0644u);
      EXPECT_EQ(std::string(m.data.begin(), m.data.end()), "cert-bytes");
    }
  }
  EXPECT_TRUE(found_link);
  auto written = WriteCpioStream(*archives);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  EXPECT_EQ(*written, bytes);
}

TEST(CpioNewcTest, GenInitCpioStyleRoundTrips) {
  std::string raw = UpperHeader("init", S_IFREG | 0755, "#!/bin/sh\n", 721) +
                    UpperHeader("dev", S_IFDIR | 0755, "", 722) +
                    UpperHeader("TRAILER!!!", 0, "", 0);
  std::vector<uint8_t> bytes = ToBytes(raw);
  auto archives = ParseCpioStream(bytes);
  ASSERT_TRUE(archives.has_value()) << archives.error().message;
  ASSERT_EQ((*archives)[0].members.size(), 2u);
  EXPECT_TRUE((*archives)[0].members[0].upper_hex);
  EXPECT_EQ((*archives)[0].members[0].ino, 721u);
  EXPECT_EQ((*archives)[0].members[0].devmajor, 3u);
  EXPECT_EQ((*archives)[0].trailing_zeros, 0u);
  auto written = WriteCpioStream(*archives);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, bytes);
}

TEST(CpioNewcTest, ParseOfWriteIsIdentity) {
  CpioArchive a;
  CpioMember dir;
  dir.name = "etc";
  dir.ino = 1;
  dir.mode = S_IFDIR | 0700;
  dir.nlink = 2;
  CpioMember file{.name = "etc/x",
                  .ino = 2,
                  .mode = S_IFREG | 0600,
                  .uid = 7,
                  .gid = 8,
                  .nlink = 1,
                  .mtime = 99,
                  .data = {1, 2, 3, 4, 5}};
  CpioMember dev = dir;
  dev.name = "dev/null";
  dev.ino = 3;
  dev.mode = S_IFCHR | 0666;
  dev.nlink = 1;
  dev.rdevmajor = 1;
  dev.rdevminor = 3;
  dev.upper_hex = true;
  a.members = {dir, file, dev};
  a.trailer.name = "TRAILER!!!";
  a.trailer.nlink = 1;
  a.trailing_zeros = 8;
  std::vector<CpioArchive> two = {a, a};
  auto bytes = WriteCpioStream(two);
  ASSERT_TRUE(bytes.has_value());
  auto parsed = ParseCpioStream(*bytes);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, two);
}

TEST(CpioNewcTest, WriterRefusesUnusableMembers) {
  CpioArchive a;
  a.members.emplace_back();
  EXPECT_EQ(WriteCpioStream({&a, 1}).error().code, ErrorCode::kInvalidArgument);
  a.members[0].name = std::string("a\0b", 3);
  EXPECT_EQ(WriteCpioStream({&a, 1}).error().code, ErrorCode::kInvalidArgument);
  a.members[0].name = "ok";
  a.trailing_zeros = 3;
  std::vector<CpioArchive> two = {a, a};
  EXPECT_EQ(WriteCpioStream(two).error().code, ErrorCode::kInvalidArgument);
}

class CpioNewcMalformedTest : public ::testing::Test {
 protected:
  void SetUp() override { bytes_ = GnuCpio(dir_, "newc"); }

  Error ParseError(const std::vector<uint8_t>& bytes,
                   const CpioLimits& limits = {}) {
    auto r = ParseCpioStream(bytes, limits);
    EXPECT_FALSE(r.has_value());
    return r.has_value() ? Error{ErrorCode::kInternal, "parsed"} : r.error();
  }

  TempDir dir_;
  std::vector<uint8_t> bytes_;
};

TEST_F(CpioNewcMalformedTest, TruncatedHeader) {
  std::vector<uint8_t> cut(bytes_.begin(), bytes_.begin() + 50);
  Error e = ParseError(cut);
  EXPECT_EQ(e.code, ErrorCode::kMalformed);
  EXPECT_THAT(e.message, HasSubstr("truncated header"));
}

TEST_F(CpioNewcMalformedTest, BadHexDigit) {
  bytes_[6 + 8 + 3] = 'g';  // inside c_mode
  Error e = ParseError(bytes_);
  EXPECT_EQ(e.code, ErrorCode::kMalformed);
  EXPECT_THAT(e.message, HasSubstr("bad hex digit in field 'mode'"));
}

TEST_F(CpioNewcMalformedTest, MixedCaseHex) {
  std::string raw = UpperHeader("a", S_IFREG | 0644, "x", 0xAB);
  raw[6 + 6] = 'b';  // ino "000000AB" -> "000000bB"
  Error e = ParseError(ToBytes(raw));
  EXPECT_THAT(e.message, HasSubstr("mixed-case"));
}

TEST_F(CpioNewcMalformedTest, OdcMagic) {
  TempDir other;
  Error e = ParseError(GnuCpio(other, "odc"));
  EXPECT_EQ(e.code, ErrorCode::kMalformed);
  EXPECT_THAT(e.message, HasSubstr("not a newc cpio (magic 070707)"));
}

TEST_F(CpioNewcMalformedTest, CrcVariantRefused) {
  bytes_[5] = '2';
  Error e = ParseError(bytes_);
  EXPECT_THAT(e.message, HasSubstr("not a newc cpio (magic 070702)"));
}

TEST_F(CpioNewcMalformedTest, NonZeroCheckField) {
  bytes_[6 + 12 * 8 + 7] = '1';
  Error e = ParseError(bytes_);
  EXPECT_THAT(e.message, HasSubstr("check field"));
}

TEST_F(CpioNewcMalformedTest, NameTooLong) {
  std::string raw = UpperHeader(std::string(5000, 'n'), S_IFREG, "", 1) +
                    UpperHeader("TRAILER!!!", 0, "", 0);
  Error e = ParseError(ToBytes(raw));
  EXPECT_EQ(e.code, ErrorCode::kLimitExceeded);
  EXPECT_THAT(e.message, HasSubstr("5000 bytes exceeds 4096"));
}

TEST_F(CpioNewcMalformedTest, NameWithoutNul) {
  std::string raw = UpperHeader("abc", S_IFREG, "", 1);
  raw[110 + 3] = 'x';
  Error e = ParseError(ToBytes(raw));
  EXPECT_THAT(e.message, HasSubstr("not NUL-terminated"));
}

TEST_F(CpioNewcMalformedTest, DataPastEnd) {
  std::string raw = UpperHeader("etc/foo", S_IFREG | 0644, "abcd", 1);
  raw.replace(6 + 6 * 8, 8, "7FFFFFFF");  // c_filesize
  Error e = ParseError(ToBytes(raw));
  EXPECT_EQ(e.code, ErrorCode::kMalformed);
  EXPECT_THAT(e.message, HasSubstr("truncated member 'etc/foo'"));
}

TEST_F(CpioNewcMalformedTest, NonZeroPadding) {
  std::string raw =
      UpperHeader("ab", S_IFREG, "x", 1) + UpperHeader("TRAILER!!!", 0, "", 0);
  raw[110 + 3] = 'p';  // name "ab\0" + 3 padding bytes
  Error e = ParseError(ToBytes(raw));
  EXPECT_THAT(e.message, HasSubstr("non-zero padding"));
}

TEST_F(CpioNewcMalformedTest, MissingTrailer) {
  std::string raw = UpperHeader("a", S_IFREG, "x", 1);
  Error e = ParseError(ToBytes(raw));
  EXPECT_EQ(e.code, ErrorCode::kMalformed);
  EXPECT_THAT(e.message, HasSubstr("no TRAILER!!!"));
}

TEST_F(CpioNewcMalformedTest, TooManyMembers) {
  Error e = ParseError(bytes_, CpioLimits{.max_members = 2});
  EXPECT_EQ(e.code, ErrorCode::kLimitExceeded);
}

TEST_F(CpioNewcMalformedTest, MisalignedSecondArchive) {
  std::string raw = UpperHeader("TRAILER!!!", 0, "", 0) + std::string(2, '\0') +
                    UpperHeader("TRAILER!!!", 0, "", 0);
  Error e = ParseError(ToBytes(raw));
  EXPECT_THAT(e.message, HasSubstr("not 4-aligned"));
}

TEST_F(CpioNewcMalformedTest, EveryTruncationFailsCleanly) {
  size_t data_end = bytes_.size();
  while (data_end > 0 && bytes_[data_end - 1] == 0) {
    --data_end;
  }
  for (size_t n = 0; n < data_end; ++n) {
    std::vector<uint8_t> cut(bytes_.begin(),
                             bytes_.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(ParseCpioStream(cut).has_value()) << n;
  }
}

}  // namespace
}  // namespace imab
