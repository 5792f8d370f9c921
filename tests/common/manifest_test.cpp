// Tests for the manifest token helpers and the canonical writer
// (FORMAT.md §3.1, §3.2, §3.4).
#include "common/read/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/read/limits.h"
#include "common/write/manifest_writer.h"

namespace imab {
namespace {

using ::testing::HasSubstr;

std::string AllBytes() {
  std::string s;
  for (int b = 0; b < 256; ++b) {
    s.push_back(static_cast<char>(b));
  }
  return s;
}

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out.append(s);
  }
  return out;
}

TEST(ManifestStrToken, EncodesGoldenStrings) {
  EXPECT_EQ(EncodeStrToken("a b%"), "a%20b%25");
  EXPECT_EQ(EncodeStrToken("usr/lib/libc.so.6"), "usr/lib/libc.so.6");
  EXPECT_EQ(EncodeStrToken("tab\there"), "tab%09here");
  EXPECT_EQ(EncodeStrToken("\n\r"), "%0A%0D");
  EXPECT_EQ(EncodeStrToken(std::string("nul\0x", 5)), "nul%00x");
  EXPECT_EQ(EncodeStrToken("\x7f\xff"), "%7F%FF");
  EXPECT_EQ(EncodeStrToken("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(EncodeStrToken("!~"), "!~");
  EXPECT_EQ(EncodeStrToken(""), "");
}

TEST(ManifestStrToken, EveryByteRoundTrips) {
  std::string all = AllBytes();
  std::string encoded = EncodeStrToken(all);
  // 93 literal bytes (0x21..0x7e without %) and 163 escapes of 3 bytes.
  EXPECT_EQ(encoded.size(), 93u + 163u * 3u);
  Result<std::string> decoded = DecodeStrToken(encoded);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(*decoded, all);
}

TEST(ManifestStrToken, DecodesCanonicalEscapes) {
  Result<std::string> decoded = DecodeStrToken("a%20b%25%FF");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, "a b%\xff");
}

void ExpectStrRejected(std::string_view token, std::string_view why) {
  Result<std::string> decoded = DecodeStrToken(token);
  ASSERT_FALSE(decoded.has_value()) << token;
  EXPECT_EQ(decoded.error().code, ErrorCode::kMalformed);
  EXPECT_THAT(decoded.error().message, HasSubstr(why));
}

TEST(ManifestStrToken, RejectsLowerCaseEscape) {
  ExpectStrRejected("a%0a", "upper-case");
  ExpectStrRejected("%ff", "upper-case");
}

TEST(ManifestStrToken, RejectsEscapeOfLiteralByte) {
  ExpectStrRejected("%41", "must be literal");    // 'A'
  ExpectStrRejected("a%2Fb", "must be literal");  // '/'
  ExpectStrRejected("%7E", "must be literal");    // '~'
}

TEST(ManifestStrToken, RejectsTruncatedOrBadEscape) {
  ExpectStrRejected("abc%", "truncated");
  ExpectStrRejected("abc%2", "truncated");
  ExpectStrRejected("%G0", "upper-case");
}

TEST(ManifestStrToken, RejectsUnescapedBytes) {
  ExpectStrRejected("a b", "percent-encoded");
  ExpectStrRejected("a\x7f", "percent-encoded");
  ExpectStrRejected("\xc3\xa9", "percent-encoded");
  ExpectStrRejected(std::string_view("a\0", 2), "percent-encoded");
}

TEST(ManifestStrToken, RejectsEmptyToken) { ExpectStrRejected("", "empty"); }

TEST(ManifestCompatibleName, AcceptsNameCharacters) {
  EXPECT_TRUE(CheckCompatibleName("board-x_1.0+rc").ok());
  EXPECT_TRUE(CheckCompatibleName("A").ok());
  EXPECT_TRUE(CheckCompatibleName(std::string(255, 'z')).ok());
}

TEST(ManifestCompatibleName, RejectsEmptyLongAndForeignCharacters) {
  for (std::string bad :
       {std::string(), std::string(256, 'z'), std::string("a/b"),
        std::string("a b"), std::string("a%"), std::string("caf\xc3\xa9")}) {
    Status status = CheckCompatibleName(bad);
    ASSERT_FALSE(status.ok()) << bad;
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(ManifestImageVersion, AcceptsValidVersions) {
  for (std::string_view v :
       {"0", "1", "1.2", "1.2.3", "10.0.999999999", "0.0.0.0",
        "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16"}) {
    EXPECT_TRUE(CheckImageVersion(v).ok()) << v;
  }
}

TEST(ManifestImageVersion, RejectsEachRule) {
  struct Case {
    std::string_view version;
    std::string_view why;
  };
  for (const Case& c :
       {Case{"", "empty"}, Case{"1..2", "empty component"},
        Case{".1", "empty component"}, Case{"1.", "empty component"},
        Case{"01", "leading zero"}, Case{"1.00", "leading zero"},
        Case{"1.1234567890", "9 digits"}, Case{"1.2a", "decimal"},
        Case{"-1", "decimal"}, Case{"v1", "decimal"},
        Case{"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17", "16 components"}}) {
    Status status = CheckImageVersion(c.version);
    ASSERT_FALSE(status.ok()) << c.version;
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(status.error().message, HasSubstr(c.why))
        << c.version << ": " << status.error().message;
  }
}

TEST(ManifestImageVersion, ComparesNumericallyPerComponent) {
  struct Case {
    std::string_view a;
    std::string_view b;
    int expected;
  };
  for (const Case& c :
       {Case{"1", "1", 0}, Case{"1.2", "1.2.0", 0}, Case{"1.2.0.0", "1.2", 0},
        Case{"0", "0.0.0", 0}, Case{"1.10", "1.9", 1}, Case{"1.9", "1.10", -1},
        Case{"2", "1.999999999", 1}, Case{"1.2.1", "1.2", 1},
        Case{"1.2", "1.2.1", -1}, Case{"10.0", "9.99", 1},
        Case{"999999999", "999999998.9", 1}, Case{"1.0.0.1", "1", 1}}) {
    int got = CompareImageVersions(c.a, c.b);
    EXPECT_EQ((got > 0) - (got < 0), c.expected) << c.a << " vs " << c.b;
  }
}

TEST(ManifestWriter, HeaderIsCanonical) {
  ManifestHeader h;
  h.image_version = "1.2.3";
  h.compatible = "board-x";
  h.created = 1700000000;
  h.payload_size = 4096;
  h.payload_sha256.fill(0xab);
  h.entry_count = 2;
  std::string out = "prefix\n";
  AppendManifestHeader(h, &out);
  EXPECT_EQ(out,
            "prefix\n"
            "imabundle-manifest 2\n"
            "kind full\n"
            "image-version 1.2.3\n"
            "compatible board-x\n"
            "created 1700000000\n"
            "payload-size 4096\n"
            "payload-sha256 " +
                Repeat("ab", 32) +
                "\n"
                "entry-count 2\n"
                "entries\n");
}

TEST(ManifestWriter, ImaSectionIsCanonical) {
  ManifestHeader h;
  h.image_version = "1";
  h.compatible = "b";
  h.entry_count = 0;
  ImaSection ima;
  ima.profile.word_bits = 32;
  ima.profile.evm_xattrs = {"security.ima", "security.capability"};
  ima.certificates = {{0x00000001, std::string("\x30\x00", 2)},
                      {0x1a2b3c4d, std::string("\xff\x01\x02", 3)}};
  h.ima = ima;
  std::string out;
  AppendManifestHeader(h, &out);
  EXPECT_EQ(out,
            "imabundle-manifest 2\n"
            "kind full\n"
            "image-version 1\n"
            "compatible b\n"
            "created 0\n"
            "payload-size 0\n"
            "payload-sha256 " +
                Repeat("00", 32) +
                "\n"
                "entry-count 0\n"
                "section ima 1\n"
                "kernel-profile le32:security.ima,security.capability\n"
                "cert 00000001 3000\n"
                "cert 1a2b3c4d ff0102\n"
                "end-section ima\n"
                "entries\n");
}

TEST(ManifestWriter, DefaultProfileIsWrittenShort) {
  ManifestHeader h;
  h.ima = ImaSection{KernelProfile{}, {{0xfffffffe, "x"}}};
  std::string out;
  AppendManifestHeader(h, &out);
  EXPECT_THAT(out,
              HasSubstr("entry-count 0\nsection ima 1\nkernel-profile le64\n"
                        "cert fffffffe 78\nend-section ima\nentries\n"));
}

TEST(ManifestImaTokens, ParsesKeyIds) {
  EXPECT_EQ(*ParseKeyIdToken("1a2b3c4d"), 0x1a2b3c4du);
  EXPECT_EQ(*ParseKeyIdToken("00000000"), 0u);
  EXPECT_EQ(*ParseKeyIdToken("ffffffff"), 0xffffffffu);
  for (std::string_view bad :
       {"1A2B3C4D", "1a2b3c4", "1a2b3c4d0", "-", "1a2b3c4g", "0x1a2b3c"}) {
    Result<uint32_t> keyid = ParseKeyIdToken(bad);
    ASSERT_FALSE(keyid.has_value()) << bad;
    EXPECT_EQ(keyid.error().code, ErrorCode::kMalformed);
  }
  EXPECT_THAT(ParseKeyIdToken("abc").error().message,
              HasSubstr("8 hex digits"));
  EXPECT_THAT(ParseKeyIdToken("ABCDEF01").error().message,
              HasSubstr("lower-case"));
}

TEST(ManifestImaTokens, ParsesCertificateHexWithinLimit) {
  EXPECT_EQ(*ParseCertificateToken("3082ff"), std::string("\x30\x82\xff"));
  std::string at_limit(2 * kMaxCertificateBytes, 'a');
  Result<std::string> der = ParseCertificateToken(at_limit);
  ASSERT_TRUE(der.has_value());
  EXPECT_EQ(der->size(), kMaxCertificateBytes);
  EXPECT_EQ(ParseCertificateToken(at_limit + "aa").error().code,
            ErrorCode::kLimitExceeded);
  EXPECT_EQ(ParseCertificateToken("-").error().code, ErrorCode::kMalformed);
  EXPECT_EQ(ParseCertificateToken("308").error().code, ErrorCode::kMalformed);
  EXPECT_EQ(ParseCertificateToken("30AA").error().code, ErrorCode::kMalformed);
}

TEST(ManifestImaTokens, ParsesOnlyCanonicalKernelProfiles) {
  Result<KernelProfile> le64 = ParseKernelProfileToken("le64");
  ASSERT_TRUE(le64.has_value()) << le64.error().message;
  EXPECT_EQ(*le64, KernelProfile{});
  Result<KernelProfile> short_list =
      ParseKernelProfileToken("be32:security.ima,security.capability");
  ASSERT_TRUE(short_list.has_value()) << short_list.error().message;
  EXPECT_EQ(short_list->word_bits, 32);
  EXPECT_TRUE(short_list->big_endian);

  std::string full = "le64:";
  for (const std::string& name : AllEvmXattrs()) {
    full += name + (name == AllEvmXattrs().back() ? "" : ",");
  }
  Result<KernelProfile> spelled_out = ParseKernelProfileToken(full);
  ASSERT_FALSE(spelled_out.has_value());
  EXPECT_THAT(spelled_out.error().message, HasSubstr("not in canonical form"));
  for (std::string_view bad :
       {"le16", "LE64", "le64:security.capability,security.ima",
        "le64:security.capability", "le64:user.x,security.ima", "le%364"}) {
    Result<KernelProfile> profile = ParseKernelProfileToken(bad);
    ASSERT_FALSE(profile.has_value()) << bad;
    EXPECT_EQ(profile.error().code, ErrorCode::kMalformed) << bad;
    EXPECT_THAT(profile.error().message, HasSubstr("kernel-profile"));
  }
}

TEST(ManifestWriter, RecordsOfEveryType) {
  Entry file;
  file.path = "usr/bin/a b";
  file.type = EntryType::kFile;
  file.mode = 04755;
  file.uid = 0;
  file.gid = 4294967295u;
  file.size = 12;
  file.sha256.fill(0x01);
  file.xattrs = {{"security.ima", std::string("\x03\x00", 2)},
                 {"user.empty", ""}};
  std::string out;
  AppendManifestRecord(file, &out);
  EXPECT_EQ(out, "file usr/bin/a%20b 4755 0 4294967295 12 " + Repeat("01", 32) +
                     "\nxattr security.ima 0300\nxattr user.empty -\n");

  Entry dir;
  dir.path = "usr";
  dir.type = EntryType::kDir;
  dir.mode = 0755;
  dir.uid = 1;
  dir.gid = 2;
  out.clear();
  AppendManifestRecord(dir, &out);
  EXPECT_EQ(out, "dir usr 0755 1 2\n");

  Entry link;
  link.path = "lib";
  link.type = EntryType::kSymlink;
  link.mode = 0777;
  link.uid = 3;
  link.gid = 4;
  link.link_target = "usr/lib 64";
  out.clear();
  AppendManifestRecord(link, &out);
  EXPECT_EQ(out, "symlink lib 3 4 usr/lib%2064\n");

  Entry hard;
  hard.path = "usr/bin/b";
  hard.type = EntryType::kHardlink;
  hard.link_target = "usr/bin/a b";
  out.clear();
  AppendManifestRecord(hard, &out);
  EXPECT_EQ(out, "hardlink usr/bin/b usr/bin/a%20b\n");

  Entry chr;
  chr.path = "dev/null";
  chr.type = EntryType::kChar;
  chr.mode = 0666;
  chr.dev_major = 1;
  chr.dev_minor = 3;
  out.clear();
  AppendManifestRecord(chr, &out);
  EXPECT_EQ(out, "char dev/null 0666 0 0 1 3\n");

  Entry blk = chr;
  blk.path = "dev/sda";
  blk.type = EntryType::kBlock;
  blk.mode = 0660;
  blk.dev_major = 8;
  blk.dev_minor = 0;
  out.clear();
  AppendManifestRecord(blk, &out);
  EXPECT_EQ(out, "block dev/sda 0660 0 0 8 0\n");

  Entry fifo;
  fifo.path = "run/p";
  fifo.type = EntryType::kFifo;
  fifo.mode = 0600;
  out.clear();
  AppendManifestRecord(fifo, &out);
  EXPECT_EQ(out, "fifo run/p 0600 0 0\n");

  out.clear();
  AppendManifestEnd(&out);
  EXPECT_EQ(out, "end\n");
}

TEST(ManifestTokens, SplitsAtSingleSpaces) {
  Result<ManifestTokens> t = SplitManifestLine("file a 0644 0 0 5 x");
  ASSERT_TRUE(t.has_value());
  ASSERT_EQ(t->count, 7u);
  EXPECT_EQ(t->at[0], "file");
  EXPECT_EQ(t->at[6], "x");
  EXPECT_FALSE(SplitManifestLine("a b c d e f g h").has_value());
  EXPECT_FALSE(SplitManifestLine("").has_value());
  EXPECT_FALSE(SplitManifestLine("a\x7f").has_value());
}

TEST(ManifestTokens, ParsesNumBoundaries) {
  EXPECT_EQ(*ParseNumToken("0", "n", 0, ErrorCode::kLimitExceeded), 0u);
  EXPECT_EQ(*ParseNumToken("18446744073709551615", "n", UINT64_MAX,
                           ErrorCode::kLimitExceeded),
            UINT64_MAX);
  EXPECT_EQ(ParseNumToken("", "n", 9, ErrorCode::kLimitExceeded).error().code,
            ErrorCode::kMalformed);
  EXPECT_EQ(ParseNumToken("10", "n", 9, ErrorCode::kLimitExceeded).error().code,
            ErrorCode::kLimitExceeded);
  EXPECT_EQ(*ParseModeToken("7777"), 07777u);
  EXPECT_FALSE(ParseModeToken("-755").has_value());
  EXPECT_FALSE(ParseShaToken(std::string(63, 'a'), "sha").has_value());
}

}  // namespace
}  // namespace imab
