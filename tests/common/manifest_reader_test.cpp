// Tests for the streaming manifest parser (FORMAT.md §3): round trips with
// the writer, bounded memory, and one negative test per rejection rule.
#include "common/read/manifest_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/read/limits.h"
#include "common/read/manifest.h"
#include "common/write/manifest_writer.h"
#include "tests/testutil/bytes.h"
#include "tests/testutil/memory_byte_source.h"
#include "tests/testutil/status_matchers.h"

namespace imab {
namespace {

using imab::testing::StatusIs;
using imab::testing::ToBytes;
using ::testing::HasSubstr;

// Records the largest single read and the total, to prove streaming.
class CountingByteSource : public ByteSource {
 public:
  explicit CountingByteSource(std::string_view data) : inner_(ToBytes(data)) {}
  uint64_t size() const override { return inner_.size(); }
  Status ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    max_read_ = std::max(max_read_, out.size());
    total_read_ += out.size();
    return inner_.ReadAt(offset, out);
  }
  size_t max_read() const { return max_read_; }
  uint64_t total_read() const { return total_read_; }

 private:
  MemoryByteSource inner_;
  size_t max_read_ = 0;
  uint64_t total_read_ = 0;
};

// Claims a size without holding the bytes; every read returns zeros.
class HugeByteSource : public ByteSource {
 public:
  explicit HugeByteSource(uint64_t size) : size_(size) {}
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t, std::span<uint8_t> out) override {
    ++reads_;
    std::fill(out.begin(), out.end(), uint8_t{0});
    return OkStatus();
  }
  int reads() const { return reads_; }

 private:
  uint64_t size_;
  int reads_ = 0;
};

// Serves the first `good` bytes, then fails with kIo.
class FailingByteSource : public ByteSource {
 public:
  FailingByteSource(std::string_view data, uint64_t good)
      : inner_(ToBytes(data)), good_(good) {}
  uint64_t size() const override { return inner_.size(); }
  Status ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    if (offset + out.size() > good_) {
      return MakeError(ErrorCode::kIo, "injected read failure");
    }
    return inner_.ReadAt(offset, out);
  }

 private:
  MemoryByteSource inner_;
  uint64_t good_;
};

struct Parsed {
  ManifestHeader header;
  std::vector<Entry> entries;
  Sha256Digest digest{};
};

Result<Parsed> ParseAll(ByteSource& source, uint64_t offset, uint64_t size) {
  IMAB_ASSIGN_OR_RETURN(std::unique_ptr<ManifestReader> reader,
                        ManifestReader::Open(source, offset, size));
  Parsed parsed;
  parsed.header = reader->header();
  for (;;) {
    IMAB_ASSIGN_OR_RETURN(std::optional<Entry> entry, reader->Next());
    if (!entry.has_value()) {
      break;
    }
    parsed.entries.push_back(std::move(*entry));
  }
  IMAB_ASSIGN_OR_RETURN(parsed.digest, reader->Finish());
  return parsed;
}

Result<Parsed> ParseAll(std::string_view text) {
  MemoryByteSource source(ToBytes(text));
  return ParseAll(source, 0, text.size());
}

std::string Sha(char c) { return std::string(64, c); }

std::vector<std::string> HeaderLines(uint64_t count) {
  return {"imabundle-manifest 2",
          "kind full",
          "image-version 1.2.3",
          "compatible board-x",
          "created 1700000000",
          "payload-size 1234",
          "payload-sha256 " + Sha('a'),
          "entry-count " + std::to_string(count),
          "entries"};
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) {
    out += line + "\n";
  }
  return out;
}

// Header with entry-count `count`, the given lines, then "end".
std::string Manifest(uint64_t count, const std::vector<std::string>& lines) {
  return Join(HeaderLines(count)) + Join(lines) + "end\n";
}

// A valid file record line.
std::string FileLine(std::string_view path) {
  return "file " + std::string(path) + " 0644 0 0 5 " + Sha('b');
}

::testing::AssertionResult Rejects(std::string_view text, ErrorCode code,
                                   std::string_view needle) {
  Result<Parsed> parsed = ParseAll(text);
  if (parsed.has_value()) {
    return ::testing::AssertionFailure() << "accepted";
  }
  const Error& e = parsed.error();
  if (e.code != code || e.message.find(needle) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "code " << ErrorCodeName(e.code) << ", message: " << e.message;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Malformed(std::string_view text,
                                     std::string_view needle) {
  return Rejects(text, ErrorCode::kMalformed, needle);
}

// Replaces the header line starting with `keyword ` by `replacement`.
std::string WithHeaderLine(std::string_view keyword,
                           const std::string& replacement) {
  std::vector<std::string> lines = HeaderLines(1);
  for (std::string& line : lines) {
    if (line.rfind(std::string(keyword) + " ", 0) == 0 || line == keyword) {
      line = replacement;
    }
  }
  return Join(lines) + Join({FileLine("a")}) + "end\n";
}

// "user.007": zero-padded so that names sort in index order.
std::string XattrName(size_t i) {
  std::string digits = std::to_string(i);
  return "user." + std::string(3 - std::min<size_t>(3, digits.size()), '0') +
         digits;
}

std::vector<Entry> EveryKindOfEntry() {
  std::vector<Entry> entries;
  Entry dir;
  dir.path = "usr";
  dir.type = EntryType::kDir;
  dir.mode = 0755;
  dir.xattrs = {{"security.selinux", "system_u:object_r:usr_t:s0"}};
  entries.push_back(dir);

  Entry file;
  file.path = "usr/a b%c";
  file.type = EntryType::kFile;
  file.mode = 04755;
  file.uid = kMaxOwnerId;
  file.gid = 7;
  file.size = 12345;
  for (size_t i = 0; i < file.sha256.size(); ++i) {
    file.sha256[i] = static_cast<uint8_t>(i * 7);
  }
  file.xattrs = {{"security.ima", std::string("\x03\x02\x00\xff\x00", 5)},
                 {"user.a", std::string(kMaxXattrValueBytes, '\0')},
                 {"user.\x7f\xff name", ""}};
  entries.push_back(file);

  Entry utf8 = file;
  utf8.path = "usr/caf\xc3\xa9\x7f\xff";
  utf8.xattrs.clear();
  utf8.size = kMaxFileBytes;
  entries.push_back(utf8);

  Entry link;
  link.path = "lib";
  link.type = EntryType::kSymlink;
  link.mode = 0777;
  link.uid = 1;
  link.gid = 2;
  link.link_target = "/usr/lib with space/%";
  link.xattrs = {{"trusted.x", "\n"}};
  entries.push_back(link);

  Entry hard;
  hard.path = "usr/hard";
  hard.type = EntryType::kHardlink;
  hard.link_target = "usr/a b%c";
  entries.push_back(hard);

  Entry chr;
  chr.path = "dev-null";
  chr.type = EntryType::kChar;
  chr.mode = 0666;
  chr.dev_major = kMaxDeviceMajor;
  chr.dev_minor = kMaxDeviceMinor;
  entries.push_back(chr);

  Entry blk;
  blk.path = "sda";
  blk.type = EntryType::kBlock;
  blk.mode = 0660;
  blk.gid = 6;
  blk.dev_major = 8;
  entries.push_back(blk);

  Entry fifo;
  fifo.path = "fifo";
  fifo.type = EntryType::kFifo;
  fifo.mode = 01777;
  for (size_t i = 0; i < kMaxXattrsPerEntry; ++i) {
    fifo.xattrs.push_back({XattrName(i), std::string(1, static_cast<char>(i))});
  }
  entries.push_back(fifo);
  return entries;
}

std::string Write(const ManifestHeader& header,
                  const std::vector<Entry>& entries) {
  std::string out;
  AppendManifestHeader(header, &out);
  for (const Entry& e : entries) {
    AppendManifestRecord(e, &out);
  }
  AppendManifestEnd(&out);
  return out;
}

ManifestHeader SampleHeader(uint64_t count) {
  ManifestHeader h;
  h.image_version = "2024.1.10";
  h.compatible = "board-x_v2";
  h.created = 8589934591;
  h.payload_size = kMaxPayloadBytes;
  h.payload_sha256.fill(0x5a);
  h.entry_count = count;
  return h;
}

TEST(ManifestReader, RoundTripsEveryKindOfRecord) {
  std::vector<Entry> entries = EveryKindOfEntry();
  ManifestHeader header = SampleHeader(entries.size());
  std::string text = Write(header, entries);
  Result<Parsed> parsed = ParseAll(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->header, header);
  ASSERT_EQ(parsed->entries.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(parsed->entries[i], entries[i]) << "entry " << i;
  }
  Result<Sha256Digest> expected = Sha256Of(ToBytes(text));
  ASSERT_TRUE(expected.has_value());
  EXPECT_EQ(parsed->digest, *expected);
}

TEST(ManifestReader, RoundTripsEmptyManifest) {
  ManifestHeader header = SampleHeader(0);
  std::string text = Write(header, {});
  Result<Parsed> parsed = ParseAll(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_TRUE(parsed->entries.empty());
  EXPECT_EQ(parsed->header, header);
}

TEST(ManifestReader, ReadsRegionInsideLargerSource) {
  std::vector<Entry> entries = EveryKindOfEntry();
  std::string text = Write(SampleHeader(entries.size()), entries);
  std::string all = std::string(512, 'x') + text + std::string(700, '\0');
  MemoryByteSource source(ToBytes(all));
  Result<Parsed> parsed = ParseAll(source, 512, text.size());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->entries, entries);
  EXPECT_EQ(parsed->digest, *Sha256Of(ToBytes(text)));
}

TEST(ManifestReader, StreamsFiftyThousandRecordsInBoundedMemory) {
  constexpr size_t kRecords = 50'000;
  ManifestHeader header = SampleHeader(kRecords);
  std::string text;
  AppendManifestHeader(header, &text);
  for (size_t i = 0; i < kRecords; ++i) {
    Entry e;
    e.path = "f" + std::to_string(i);
    e.size = i;
    e.xattrs = {{"user.i", std::to_string(i)}};
    AppendManifestRecord(e, &text);
  }
  AppendManifestEnd(&text);
  ASSERT_GT(text.size(), 10 * kStreamChunkBytes);

  CountingByteSource source(text);
  Result<std::unique_ptr<ManifestReader>> reader =
      ManifestReader::Open(source, 0, text.size());
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  size_t count = 0;
  size_t max_buffer = 0;
  for (;;) {
    Result<std::optional<Entry>> next = (*reader)->Next();
    ASSERT_TRUE(next.has_value()) << next.error().message;
    max_buffer = std::max(max_buffer, (*reader)->buffer_size_for_testing());
    if (!next->has_value()) {
      break;
    }
    ASSERT_EQ((*next)->path, "f" + std::to_string(count));
    ++count;
  }
  EXPECT_EQ(count, kRecords);
  Result<Sha256Digest> digest = (*reader)->Finish();
  ASSERT_TRUE(digest.has_value());
  EXPECT_EQ(*digest, *Sha256Of(ToBytes(text)));
  EXPECT_LE(source.max_read(), kStreamChunkBytes);
  EXPECT_EQ(source.total_read(), text.size());   // each byte read once
  EXPECT_LE(max_buffer, 2 * kStreamChunkBytes);  // short lines: tiny buffer
}

TEST(ManifestReader, LongLinesStayWithinBufferBound) {
  // Lines just under the limit force the buffer to its maximum size.
  std::vector<std::string> lines;
  std::vector<size_t> target_sizes;
  for (int i = 0; i < 20; ++i) {
    std::string prefix = "symlink l" + std::to_string(i) + " 0 0 ";
    target_sizes.push_back(kMaxManifestLineBytes - 1 - prefix.size());
    lines.push_back(
        prefix + std::string(target_sizes.back(), static_cast<char>('a' + i)));
  }
  std::string text = Manifest(lines.size(), lines);
  CountingByteSource source(text);
  Result<std::unique_ptr<ManifestReader>> reader =
      ManifestReader::Open(source, 0, text.size());
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  for (int i = 0;; ++i) {
    Result<std::optional<Entry>> next = (*reader)->Next();
    ASSERT_TRUE(next.has_value()) << next.error().message;
    EXPECT_LE((*reader)->buffer_size_for_testing(),
              kMaxManifestLineBytes + kStreamChunkBytes);
    if (!next->has_value()) {
      break;
    }
    EXPECT_EQ((*next)->link_target,
              std::string(target_sizes[static_cast<size_t>(i)],
                          static_cast<char>('a' + i)));
  }
  EXPECT_TRUE((*reader)->Finish().has_value());
  EXPECT_LE(source.max_read(), kStreamChunkBytes);
}

// --- Region and size checks -------------------------------------------

TEST(ManifestReader, RejectsManifestOverSizeLimitBeforeReading) {
  HugeByteSource source(kMaxManifestBytes + 1);
  Result<std::unique_ptr<ManifestReader>> reader =
      ManifestReader::Open(source, 0, kMaxManifestBytes + 1);
  ASSERT_FALSE(reader.has_value());
  EXPECT_EQ(reader.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(source.reads(), 0);
}

TEST(ManifestReader, RejectsRegionPastEndOfSource) {
  std::string text = Manifest(0, {});
  MemoryByteSource source(ToBytes(text));
  Result<std::unique_ptr<ManifestReader>> reader =
      ManifestReader::Open(source, 1, text.size());
  ASSERT_FALSE(reader.has_value());
  EXPECT_EQ(reader.error().code, ErrorCode::kMalformed);
  reader = ManifestReader::Open(source, UINT64_MAX, 2);
  ASSERT_FALSE(reader.has_value());
  EXPECT_EQ(reader.error().code, ErrorCode::kMalformed);
}

TEST(ManifestReader, ReportsSourceFailureAsIo) {
  std::string text = Manifest(0, {});
  FailingByteSource source(text, 0);
  Result<Parsed> parsed = ParseAll(source, 0, text.size());
  ASSERT_THAT(parsed, StatusIs(ErrorCode::kIo, HasSubstr("manifest line 1:")));
}

// --- Line structure -----------------------------------------------------

TEST(ManifestReader, RejectsTruncationMidLine) {
  std::string text = Manifest(1, {FileLine("a")});
  text.resize(text.find("file a") + 8);
  EXPECT_TRUE(Malformed(text, "manifest line 10: truncated (no newline)"));
}

TEST(ManifestReader, RejectsMissingEnd) {
  std::string text = Join(HeaderLines(1)) + FileLine("a") + "\n";
  EXPECT_TRUE(Malformed(text, "manifest line 11: unexpected end of manifest"));
}

TEST(ManifestReader, RejectsBytesAfterEnd) {
  EXPECT_TRUE(Malformed(Manifest(0, {}) + "x", "1 bytes after 'end'"));
  EXPECT_TRUE(Malformed(Manifest(0, {}) + "\n", "manifest line 11: 1 bytes"));
}

TEST(ManifestReader, RejectsMoreRecordsThanEntryCount) {
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine("a"), FileLine("b")}),
                        "manifest line 11: expected 'end' after 1 records"));
}

TEST(ManifestReader, RejectsFewerRecordsThanEntryCount) {
  EXPECT_TRUE(Malformed(Manifest(3, {FileLine("a"), FileLine("b")}),
                        "manifest line 12: 'end' after 2 of 3 records"));
}

TEST(ManifestReader, RejectsEndWithFields) {
  std::string text = Join(HeaderLines(0)) + "end now\n";
  EXPECT_TRUE(Malformed(text, "'end' takes 0 field(s)"));
}

TEST(ManifestReader, RejectsDoubleLeadingAndTrailingSpace) {
  EXPECT_TRUE(Malformed(Manifest(1, {"file  a 0644 0 0 5 " + Sha('b')}),
                        "manifest line 10: double space"));
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine("a") + " "}),
                        "manifest line 10: trailing space"));
  EXPECT_TRUE(Malformed(Manifest(1, {" " + FileLine("a")}),
                        "manifest line 10: leading space"));
  EXPECT_TRUE(Malformed(WithHeaderLine("kind", "kind  full"), "double space"));
}

TEST(ManifestReader, RejectsEmptyLine) {
  EXPECT_TRUE(Malformed(Manifest(1, {"", FileLine("a")}),
                        "manifest line 10: empty line"));
}

TEST(ManifestReader, RejectsCarriageReturnAndTab) {
  EXPECT_TRUE(
      Malformed(Manifest(1, {FileLine("a") + "\r"}), "carriage return"));
  EXPECT_TRUE(Malformed(WithHeaderLine("kind", "kind full\r"),
                        "manifest line 2: carriage return"));
  EXPECT_TRUE(Malformed(Manifest(1, {"file\ta 0644 0 0 5 " + Sha('b')}),
                        "tab character"));
}

TEST(ManifestReader, RejectsRawNonAsciiByte) {
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine("caf\xc3\xa9")}),
                        "outside printable ASCII"));
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine(std::string("a\0b", 3))}),
                        "outside printable ASCII"));
}

TEST(ManifestReader, RejectsLineOverLimit) {
  std::string prefix = "symlink l 0 0 ";
  std::string at_limit =
      prefix + std::string(kMaxManifestLineBytes - 1 - prefix.size(), 'x');
  ASSERT_TRUE(ParseAll(Manifest(1, {at_limit})).has_value());
  EXPECT_TRUE(Rejects(Manifest(1, {at_limit + "x"}), ErrorCode::kLimitExceeded,
                      "manifest line 10: longer than 262144 bytes"));
  // Also when the over-long line is the last bytes of the manifest.
  std::string truncated = Join(HeaderLines(1)) + at_limit + "x";
  EXPECT_TRUE(Rejects(truncated, ErrorCode::kLimitExceeded, "longer than"));
}

// --- Header -------------------------------------------------------------

TEST(ManifestReader, RejectsWrongMagicOrVersion) {
  EXPECT_TRUE(Malformed(WithHeaderLine("imabundle-manifest", "imabundle 1"),
                        "manifest line 1: expected 'imabundle-manifest'"));
  // Format 2 is the one this reader implements; 1 lacks the boot-chain
  // declarations (FORMAT.md §3.3.3) and 3 is unknown.
  EXPECT_TRUE(
      Malformed(WithHeaderLine("imabundle-manifest", "imabundle-manifest 1"),
                "unsupported format version 1"));
  EXPECT_TRUE(
      Malformed(WithHeaderLine("imabundle-manifest", "imabundle-manifest 3"),
                "unsupported format version 3"));
  EXPECT_TRUE(
      Malformed(WithHeaderLine("imabundle-manifest", "imabundle-manifest 01"),
                "leading zero"));
}

TEST(ManifestReader, RejectsKindOtherThanFull) {
  EXPECT_TRUE(Malformed(WithHeaderLine("kind", "kind delta"),
                        "manifest line 2: unsupported kind 'delta'"));
}

TEST(ManifestReader, RejectsHeaderLinesOutOfOrder) {
  std::vector<std::string> lines = HeaderLines(0);
  std::swap(lines[3], lines[4]);
  EXPECT_TRUE(Malformed(Join(lines) + "end\n",
                        "manifest line 4: expected 'compatible', found "
                        "'created'"));
}

TEST(ManifestReader, RejectsMissingOrRepeatedHeaderLine) {
  std::vector<std::string> lines = HeaderLines(0);
  lines.erase(lines.begin() + 5);
  EXPECT_TRUE(Malformed(Join(lines) + "end\n",
                        "manifest line 6: expected 'payload-size'"));
  lines = HeaderLines(0);
  lines.insert(lines.begin() + 2, "kind full");
  EXPECT_TRUE(Malformed(Join(lines) + "end\n",
                        "manifest line 3: expected 'image-version'"));
}

TEST(ManifestReader, RejectsHeaderLineWithExtraField) {
  EXPECT_TRUE(Malformed(WithHeaderLine("created", "created 1 2"),
                        "'created' takes 1 field(s), found 2"));
  EXPECT_TRUE(Malformed(WithHeaderLine("entries", "entries 1"),
                        "'entries' takes 0 field(s)"));
}

TEST(ManifestReader, RejectsInvalidImageVersionAndCompatible) {
  EXPECT_TRUE(Malformed(WithHeaderLine("image-version", "image-version 1.02"),
                        "manifest line 3: image version: component has a "
                        "leading zero"));
  EXPECT_TRUE(Malformed(WithHeaderLine("compatible", "compatible a/b"),
                        "manifest line 4: compatible name"));
}

TEST(ManifestReader, RejectsCreatedAfter2242) {
  ASSERT_TRUE(
      ParseAll(WithHeaderLine("created", "created 8589934591")).has_value());
  EXPECT_TRUE(Malformed(WithHeaderLine("created", "created 8589934592"),
                        "created 8589934592 exceeds"));
}

TEST(ManifestReader, RejectsPayloadSizeOverLimit) {
  EXPECT_TRUE(Rejects(
      WithHeaderLine("payload-size",
                     "payload-size " + std::to_string(kMaxPayloadBytes + 1)),
      ErrorCode::kLimitExceeded, "payload-size"));
}

TEST(ManifestReader, RejectsBadPayloadSha) {
  EXPECT_TRUE(
      Malformed(WithHeaderLine("payload-sha256", "payload-sha256 " + Sha('A')),
                "payload-sha256 must be lower-case hex"));
  EXPECT_TRUE(Malformed(
      WithHeaderLine("payload-sha256", "payload-sha256 " + Sha('a') + "a"),
      "payload-sha256 must be 64 hex digits"));
  EXPECT_TRUE(
      Malformed(WithHeaderLine("payload-sha256", "payload-sha256 " + Sha('g')),
                "payload-sha256 must be lower-case hex"));
}

TEST(ManifestReader, RejectsEntryCountOverLimit) {
  std::vector<std::string> lines = HeaderLines(kMaxEntries + 1);
  EXPECT_TRUE(Rejects(Join(lines) + "end\n", ErrorCode::kLimitExceeded,
                      "manifest line 8: entry-count 2000001 exceeds"));
}

TEST(ManifestReader, RejectsUnknownSection) {
  std::vector<std::string> lines = HeaderLines(0);
  lines.insert(lines.begin() + 8, "section castore 1");
  lines.insert(lines.begin() + 9, "end-section castore");
  EXPECT_TRUE(Malformed(Join(lines) + "end\n",
                        "manifest line 9: unknown section 'castore'"));
}

// --- Section ima (FORMAT.md §3.3.1) ----------------------------------------

// One valid cert line with keyid `keyid` (8 hex digits).
std::string CertLine(std::string_view keyid) {
  return "cert " + std::string(keyid) + " 3082000a0102";
}

// A manifest with one file record and the given lines between entry-count
// (line 8) and entries, so the first section line is line 9.
std::string WithSection(const std::vector<std::string>& section) {
  std::vector<std::string> lines = HeaderLines(1);
  lines.insert(lines.end() - 1, section.begin(), section.end());
  return Join(lines) + Join({FileLine("a")}) + "end\n";
}

std::vector<std::string> ImaSectionLines(std::vector<std::string> certs) {
  std::vector<std::string> lines = {"section ima 1", "kernel-profile le64"};
  lines.insert(lines.end(), certs.begin(), certs.end());
  lines.push_back("end-section ima");
  return lines;
}

TEST(ManifestReader, RoundTripsImaSection) {
  std::vector<Entry> entries = EveryKindOfEntry();
  ManifestHeader header = SampleHeader(entries.size());
  ImaSection ima;
  ima.profile.big_endian = true;
  ima.profile.evm_xattrs = {"security.selinux", "security.ima",
                            "security.capability"};
  ima.certificates = {{0, std::string("\x30\x82\x01", 3)},
                      {0x1a2b3c4d, std::string(kMaxCertificateBytes, '\xa5')},
                      {0xffffffff, std::string(1, '\0')}};
  header.ima = ima;
  std::string text = Write(header, entries);
  ASSERT_THAT(text,
              HasSubstr("\nsection ima 1\nkernel-profile be64:security.selinux,"
                        "security.ima,security.capability\ncert 00000000 "));
  Result<Parsed> parsed = ParseAll(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->header, header);
  EXPECT_EQ(parsed->entries, entries);
  EXPECT_EQ(parsed->digest, *Sha256Of(ToBytes(text)));
}

TEST(ManifestReader, RoundTripsMaximumCertCount) {
  ManifestHeader header = SampleHeader(0);
  ImaSection ima;
  for (uint32_t i = 0; i < kMaxSigningCerts; ++i) {
    ima.certificates.push_back({i * 0x01010101u, "cert" + std::to_string(i)});
  }
  header.ima = ima;
  Result<Parsed> parsed = ParseAll(Write(header, {}));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->header, header);
}

TEST(ManifestReader, HeaderWithoutSectionHasNoIma) {
  Result<Parsed> parsed = ParseAll(Manifest(0, {}));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_FALSE(parsed->header.ima.has_value());
}

TEST(ManifestReader, RejectsUnknownSectionAfterIma) {
  std::vector<std::string> lines = ImaSectionLines({CertLine("00000001")});
  lines.push_back("section castore 1");
  lines.push_back("end-section castore");
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "manifest line 13: unknown section 'castore'"));
}

TEST(ManifestReader, RejectsImaSectionTwice) {
  std::vector<std::string> lines = ImaSectionLines({CertLine("00000001")});
  std::vector<std::string> again = ImaSectionLines({CertLine("00000002")});
  lines.insert(lines.end(), again.begin(), again.end());
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "manifest line 13: section 'ima' appears twice"));
}

TEST(ManifestReader, RejectsWrongImaSectionVersion) {
  std::vector<std::string> lines = ImaSectionLines({CertLine("00000001")});
  lines[0] = "section ima 2";
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "manifest line 9: unsupported version 2 of section "
                        "'ima'"));
  lines[0] = "section ima 01";
  EXPECT_TRUE(Malformed(WithSection(lines), "section version has a leading"));
  lines[0] = "section ima";
  EXPECT_TRUE(
      Malformed(WithSection(lines), "'section' takes 2 field(s), found 1"));
}

TEST(ManifestReader, RejectsMissingEndSection) {
  std::vector<std::string> lines = ImaSectionLines({CertLine("00000001")});
  lines.pop_back();
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "manifest line 12: expected 'cert' or 'end-section', "
                        "found 'entries'"));
  lines.push_back("end-section castore");
  EXPECT_TRUE(
      Malformed(WithSection(lines),
                "manifest line 12: end-section 'castore' closes section "
                "'ima'"));
  lines.back() = "end-section ima 1";
  EXPECT_TRUE(
      Malformed(WithSection(lines), "'end-section' takes 1 field(s), found 2"));
}

TEST(ManifestReader, RejectsMissingOrMisplacedKernelProfile) {
  EXPECT_TRUE(Malformed(
      WithSection({"section ima 1", CertLine("00000001"), "end-section ima"}),
      "manifest line 10: expected 'kernel-profile', found 'cert'"));
  EXPECT_TRUE(Malformed(WithSection({"section ima 1", CertLine("00000001"),
                                     "kernel-profile le64", "end-section ima"}),
                        "expected 'kernel-profile'"));
  std::vector<std::string> lines = ImaSectionLines({CertLine("00000001")});
  lines.insert(lines.begin() + 3, "kernel-profile le64");
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "manifest line 12: expected 'cert' or 'end-section', "
                        "found 'kernel-profile'"));
}

TEST(ManifestReader, RejectsImaSectionWithoutCert) {
  EXPECT_TRUE(Malformed(WithSection(ImaSectionLines({})),
                        "manifest line 11: section 'ima' declares no cert"));
}

TEST(ManifestReader, RejectsTooManyCerts) {
  std::vector<std::string> certs;
  for (size_t i = 0; i <= kMaxSigningCerts; ++i) {
    certs.push_back(CertLine("0000000" + std::to_string(i)));
  }
  EXPECT_TRUE(Rejects(WithSection(ImaSectionLines(certs)),
                      ErrorCode::kLimitExceeded,
                      "manifest line 19: more than 8 certificates in section "
                      "'ima'"));
  certs.pop_back();
  EXPECT_TRUE(ParseAll(WithSection(ImaSectionLines(certs))).has_value());
}

TEST(ManifestReader, RejectsCertKeyIdsNotIncreasing) {
  EXPECT_TRUE(Malformed(
      WithSection(
          ImaSectionLines({CertLine("00000002"), CertLine("00000001")})),
      "manifest line 12: cert keyids not strictly increasing"));
  EXPECT_TRUE(Malformed(WithSection(ImaSectionLines(
                            {CertLine("1a2b3c4d"), CertLine("1a2b3c4d")})),
                        "cert keyids not strictly increasing"));
  // Compared as numbers: 0x10000000 > 0x0fffffff.
  EXPECT_TRUE(ParseAll(WithSection(ImaSectionLines(
                           {CertLine("0fffffff"), CertLine("10000000")})))
                  .has_value());
}

TEST(ManifestReader, RejectsBadKeyIdSpelling) {
  EXPECT_TRUE(Malformed(WithSection(ImaSectionLines({CertLine("1a2b3c")})),
                        "manifest line 11: keyid must be 8 hex digits"));
  EXPECT_TRUE(Malformed(WithSection(ImaSectionLines({CertLine("1a2b3c4d5")})),
                        "keyid must be 8 hex digits"));
  EXPECT_TRUE(Malformed(WithSection(ImaSectionLines({CertLine("1A2B3C4D")})),
                        "keyid must be lower-case hex"));
}

TEST(ManifestReader, RejectsBadKernelProfile) {
  std::vector<std::string> lines = ImaSectionLines({CertLine("00000001")});
  lines[1] = "kernel-profile le16";
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "manifest line 10: kernel-profile: kernel profile: "
                        "unknown name 'le16'"));
  lines[1] = "kernel-profile le64:security.capability,security.ima";
  EXPECT_TRUE(Malformed(WithSection(lines), "out of kernel order"));
  lines[1] = "kernel-profile le32:security.capability";
  EXPECT_TRUE(Malformed(WithSection(lines), "must include security.ima"));
  std::string full = "kernel-profile le64:";
  for (const std::string& name : AllEvmXattrs()) {
    full += name + (name == AllEvmXattrs().back() ? "" : ",");
  }
  lines[1] = full;
  EXPECT_TRUE(Malformed(WithSection(lines), "not in canonical form"));
  lines[1] = "kernel-profile le64 le32";
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "'kernel-profile' takes 1 field(s), found 2"));
}

TEST(ManifestReader, RejectsCertTooBigOrBadlySpelled) {
  std::string at_limit(2 * kMaxCertificateBytes, 'c');
  EXPECT_TRUE(
      ParseAll(WithSection(ImaSectionLines({"cert 00000001 " + at_limit})))
          .has_value());
  EXPECT_TRUE(Rejects(
      WithSection(ImaSectionLines({"cert 00000001 " + at_limit + "cc"})),
      ErrorCode::kLimitExceeded,
      "manifest line 11: certificate longer than 16384 bytes"));
  EXPECT_TRUE(Malformed(WithSection(ImaSectionLines({"cert 00000001 -"})),
                        "certificate is empty"));
  EXPECT_TRUE(Malformed(WithSection(ImaSectionLines({"cert 00000001 30A0"})),
                        "certificate: not lower-case hex"));
  EXPECT_TRUE(Malformed(WithSection(ImaSectionLines({"cert 00000001"})),
                        "'cert' takes 2 field(s), found 1"));
}

TEST(ManifestReader, RejectsSectionAfterEntries) {
  EXPECT_TRUE(Malformed(
      Manifest(1, {"section ima 1", "kernel-profile le64", CertLine("00000001"),
                   "end-section ima", FileLine("a")}),
      "manifest line 10: unknown keyword 'section'"));
}

TEST(ManifestReader, RejectsMissingEntriesLine) {
  std::vector<std::string> lines = HeaderLines(0);
  lines.pop_back();
  EXPECT_TRUE(Malformed(Join(lines) + "end\n",
                        "manifest line 9: expected 'entries', found 'end'"));
}

// --- Records --------------------------------------------------------------

TEST(ManifestReader, RejectsUnknownKeyword) {
  EXPECT_TRUE(Malformed(Manifest(1, {"socket a 0644 0 0"}),
                        "manifest line 10: unknown keyword 'socket'"));
}

TEST(ManifestReader, RejectsXattrWithoutRecord) {
  EXPECT_TRUE(Malformed(Manifest(1, {"xattr user.a -", FileLine("a")}),
                        "manifest line 10: xattr line without a record"));
}

TEST(ManifestReader, RejectsWrongFieldCount) {
  EXPECT_TRUE(Malformed(Manifest(1, {"dir a 0755 0"}),
                        "'dir' takes 4 field(s), found 3"));
  EXPECT_TRUE(Malformed(Manifest(1, {"dir a 0755 0 0 1"}),
                        "'dir' takes 4 field(s), found 5"));
  EXPECT_TRUE(Malformed(Manifest(1, {"char a 0600 0 0 1"}),
                        "'char' takes 6 field(s), found 5"));
  EXPECT_TRUE(Malformed(Manifest(1, {"hardlink a"}),
                        "'hardlink' takes 2 field(s), found 1"));
  EXPECT_TRUE(
      Malformed(Manifest(1, {FileLine("a") + " 1"}), "too many fields"));
}

TEST(ManifestReader, RejectsSymlinkWithModeField) {
  ASSERT_TRUE(ParseAll(Manifest(1, {"symlink a 0 0 b"})).has_value());
  EXPECT_TRUE(Malformed(Manifest(1, {"symlink a 0777 0 0 b"}),
                        "'symlink' takes 4 field(s), found 5"));
}

TEST(ManifestReader, RejectsHardlinkWithMetadata) {
  EXPECT_TRUE(Malformed(Manifest(1, {"hardlink a 0644 b"}),
                        "'hardlink' takes 2 field(s), found 3"));
}

TEST(ManifestReader, RejectsLeadingZeroInNum) {
  EXPECT_TRUE(Malformed(Manifest(1, {"file a 0644 01 0 5 " + Sha('b')}),
                        "manifest line 10: uid has a leading zero"));
  EXPECT_TRUE(Malformed(Manifest(1, {"file a 0644 0 0 00 " + Sha('b')}),
                        "size has a leading zero"));
}

TEST(ManifestReader, RejectsSignOrNonDigitInNum) {
  EXPECT_TRUE(Malformed(Manifest(1, {"file a 0644 +1 0 5 " + Sha('b')}),
                        "uid is not a decimal number"));
  EXPECT_TRUE(Malformed(Manifest(1, {"file a 0644 0 -1 5 " + Sha('b')}),
                        "gid is not a decimal number"));
}

TEST(ManifestReader, RejectsNumberOverflowing64Bits) {
  EXPECT_TRUE(Malformed(
      Manifest(1, {"file a 0644 0 0 18446744073709551616 " + Sha('b')}),
      "size overflows 64 bits"));
  EXPECT_TRUE(Malformed(
      Manifest(1, {"file a 0644 0 0 99999999999999999999999 " + Sha('b')}),
      "size overflows 64 bits"));
  // 2^64-1 is a NUM, but above the field's own bound.
  EXPECT_TRUE(
      Rejects(Manifest(1, {"file a 0644 0 0 18446744073709551615 " + Sha('b')}),
              ErrorCode::kLimitExceeded, "size 18446744073709551615 exceeds"));
}

TEST(ManifestReader, RejectsFileSizeOverLimit) {
  EXPECT_TRUE(
      Rejects(Manifest(1, {"file a 0644 0 0 " +
                           std::to_string(kMaxFileBytes + 1) + " " + Sha('b')}),
              ErrorCode::kLimitExceeded, "size"));
}

TEST(ManifestReader, RejectsUidOrGidOf2To32) {
  ASSERT_TRUE(
      ParseAll(Manifest(1, {"dir a 0755 4294967294 4294967294"})).has_value());
  EXPECT_TRUE(Malformed(Manifest(1, {"dir a 0755 4294967296 0"}),
                        "uid 4294967296 exceeds 4294967294"));
  EXPECT_TRUE(Malformed(Manifest(1, {"symlink a 0 4294967296 b"}),
                        "gid 4294967296 exceeds"));
}

// 2^32-1 is (uid_t)-1: chown(2) leaves the owner unchanged, so the file
// would install root-owned (FORMAT.md §3.4).
TEST(ManifestReader, RejectsTheOwnerIdChownCannotSet) {
  EXPECT_TRUE(Malformed(Manifest(1, {"dir a 0755 4294967295 0"}),
                        "manifest line 10: uid 4294967295 exceeds 4294967294 "
                        "(the kernel cannot give a file that owner)"));
  EXPECT_TRUE(Malformed(Manifest(1, {"dir a 0755 0 4294967295"}),
                        "gid 4294967295 exceeds 4294967294"));
  EXPECT_TRUE(Malformed(Manifest(1, {"symlink a 4294967295 0 b"}),
                        "uid 4294967295 exceeds 4294967294"));
  EXPECT_TRUE(Malformed(Manifest(1, {"file a 0644 0 4294967295 0 " + Sha('b')}),
                        "gid 4294967295 exceeds 4294967294"));
  EXPECT_TRUE(Malformed(Manifest(1, {"fifo a 0644 4294967295 0"}),
                        "uid 4294967295 exceeds"));
}

TEST(ManifestReader, RejectsModeNotFourOctalDigits) {
  EXPECT_TRUE(Malformed(Manifest(1, {"dir a 755 0 0"}),
                        "mode must be exactly 4 octal digits"));
  EXPECT_TRUE(Malformed(Manifest(1, {"dir a 00755 0 0"}),
                        "mode must be exactly 4 octal digits"));
  EXPECT_TRUE(Malformed(Manifest(1, {"dir a 0855 0 0"}),
                        "mode must be exactly 4 octal digits"));
}

TEST(ManifestReader, RejectsUpperCaseHexInSha) {
  EXPECT_TRUE(Malformed(Manifest(1, {"file a 0644 0 0 5 " + Sha('B')}),
                        "sha256 must be lower-case hex"));
  EXPECT_TRUE(Malformed(Manifest(1, {"file a 0644 0 0 5 " + Sha('b') + "b"}),
                        "sha256 must be 64 hex digits"));
}

TEST(ManifestReader, RejectsDeviceNumbersOverLimits) {
  ASSERT_TRUE(
      ParseAll(Manifest(1, {"char a 0600 0 0 4095 1048575"})).has_value());
  EXPECT_TRUE(Rejects(Manifest(1, {"char a 0600 0 0 4096 0"}),
                      ErrorCode::kLimitExceeded, "major 4096 exceeds 4095"));
  EXPECT_TRUE(Rejects(Manifest(1, {"block a 0600 0 0 0 1048576"}),
                      ErrorCode::kLimitExceeded, "minor 1048576 exceeds"));
}

TEST(ManifestReader, RejectsNonCanonicalPathEncoding) {
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine("a%0a")}),
                        "manifest line 10: path: STR escape at byte 1 is "
                        "not two upper-case hex digits"));
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine("a%41")}),
                        "path: STR escape at byte 1 encodes a byte that must "
                        "be literal"));
  EXPECT_TRUE(
      Malformed(Manifest(1, {"symlink a 0 0 b%2F"}), "target: STR escape"));
  EXPECT_TRUE(Malformed(Manifest(1, {"hardlink a b%"}),
                        "target: STR escape at byte 1 is truncated"));
}

// --- Xattr lines ----------------------------------------------------------

TEST(ManifestReader, RejectsXattrNamesOutOfOrder) {
  EXPECT_TRUE(Malformed(
      Manifest(1, {FileLine("a"), "xattr user.b -", "xattr user.a -"}),
      "manifest line 12: xattr names not strictly increasing"));
  EXPECT_TRUE(Malformed(
      Manifest(1, {FileLine("a"), "xattr user.a -", "xattr user.a 00"}),
      "xattr names not strictly increasing"));
}

TEST(ManifestReader, OrdersXattrNamesByUnsignedBytes) {
  // 0xff sorts after 'z' in byte order.
  ASSERT_TRUE(ParseAll(Manifest(1, {FileLine("a"), "xattr user.z -",
                                    "xattr user.%FF -"}))
                  .has_value());
  EXPECT_TRUE(Malformed(
      Manifest(1, {FileLine("a"), "xattr user.%FF -", "xattr user.z -"}),
      "not strictly increasing"));
}

TEST(ManifestReader, RejectsXattrOnHardlink) {
  EXPECT_TRUE(
      Malformed(Manifest(2, {FileLine("a"), "hardlink b a", "xattr user.a -"}),
                "manifest line 12: hardlink has no xattr lines"));
}

TEST(ManifestReader, RejectsTooManyXattrs) {
  std::vector<std::string> lines = {FileLine("a")};
  for (size_t i = 0; i <= kMaxXattrsPerEntry; ++i) {
    lines.push_back("xattr " + XattrName(i) + " -");
  }
  EXPECT_TRUE(Rejects(Manifest(1, lines), ErrorCode::kLimitExceeded,
                      "more than 64 xattrs"));
  lines.pop_back();
  EXPECT_TRUE(ParseAll(Manifest(1, lines)).has_value());
}

TEST(ManifestReader, RejectsXattrValueOverLimit) {
  std::string at_limit = std::string(2 * kMaxXattrValueBytes, 'f');
  ASSERT_TRUE(ParseAll(Manifest(1, {FileLine("a"), "xattr user.a " + at_limit}))
                  .has_value());
  EXPECT_TRUE(Rejects(
      Manifest(1, {FileLine("a"), "xattr user.a " + at_limit + "ff"}),
      ErrorCode::kLimitExceeded, "xattr value longer than 65536 bytes"));
}

TEST(ManifestReader, RejectsXattrNameOverLimit) {
  ASSERT_TRUE(
      ParseAll(
          Manifest(1, {FileLine("a"),
                       "xattr " + std::string(kMaxXattrNameBytes, 'n') + " -"}))
          .has_value());
  EXPECT_TRUE(Rejects(
      Manifest(1, {FileLine("a"),
                   "xattr " + std::string(kMaxXattrNameBytes + 1, 'n') + " -"}),
      ErrorCode::kLimitExceeded, "xattr name longer than 255 bytes"));
}

TEST(ManifestReader, RejectsBadXattrValueSpelling) {
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine("a"), "xattr user.a 0A"}),
                        "xattr value: not lower-case hex"));
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine("a"), "xattr user.a 0"}),
                        "xattr value: odd-length hex"));
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine("a"), "xattr user.a --"}),
                        "xattr value"));
}

TEST(ManifestReader, RejectsXattrFieldCountAndEmptyName) {
  EXPECT_TRUE(Malformed(Manifest(1, {FileLine("a"), "xattr user.a"}),
                        "'xattr' takes 2 field(s), found 1"));
  EXPECT_TRUE(
      Malformed(Manifest(1, {FileLine("a"), "xattr  00"}), "double space"));
}

// --- Reader protocol ------------------------------------------------------

TEST(ManifestReader, FinishBeforeEndIsInternal) {
  std::string text = Manifest(1, {FileLine("a")});
  MemoryByteSource source(ToBytes(text));
  Result<std::unique_ptr<ManifestReader>> reader =
      ManifestReader::Open(source, 0, text.size());
  ASSERT_TRUE(reader.has_value());
  EXPECT_EQ((*reader)->Finish().error().code, ErrorCode::kInternal);
  ASSERT_TRUE((*reader)->Next().has_value());
  EXPECT_EQ((*reader)->Finish().error().code, ErrorCode::kInternal);
  Result<std::optional<Entry>> last = (*reader)->Next();
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->has_value());
  // Next() after the end keeps returning nullopt.
  EXPECT_FALSE((*reader)->Next()->has_value());
  EXPECT_TRUE((*reader)->Finish().has_value());
  EXPECT_EQ((*reader)->Finish().error().code, ErrorCode::kInternal);
}

TEST(ManifestReader, ErrorIsSticky) {
  std::string text = Manifest(2, {"dir a 755 0 0", FileLine("b")});
  MemoryByteSource source(ToBytes(text));
  Result<std::unique_ptr<ManifestReader>> reader =
      ManifestReader::Open(source, 0, text.size());
  ASSERT_TRUE(reader.has_value());
  Result<std::optional<Entry>> first = (*reader)->Next();
  ASSERT_FALSE(first.has_value());
  Result<std::optional<Entry>> second = (*reader)->Next();
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().message, first.error().message);
  EXPECT_EQ((*reader)->Finish().error().code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace imab

namespace imab {
namespace {

ImaSection OneCertSection() {
  ImaSection ima;
  ima.certificates.push_back({0x01020304, std::string(40, '\x30')});
  return ima;
}

TEST(ManifestReaderDevelopment, RoundTripsTheMarker) {
  ManifestHeader header = SampleHeader(0);
  header.development = true;
  header.ima = OneCertSection();
  std::string text = Write(header, {});
  EXPECT_THAT(text, HasSubstr("section development 1\nend-section development\n"
                              "section ima 1\n"));
  Result<Parsed> parsed = ParseAll(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_TRUE(parsed->header.development);
  EXPECT_EQ(parsed->header, header);
}

std::string WithDevelopmentLines(const std::string& lines) {
  std::string text = Write(SampleHeader(0), {});
  size_t at = text.find("entries\n");
  return text.substr(0, at) + lines + text.substr(at);
}

TEST(ManifestReaderDevelopment, RejectsEachMisuse) {
  const char* cases[] = {
      "section development 1\nend-section development\n"
      "section development 1\nend-section development\n",        // twice
      "section development 2\nend-section development\n",        // version
      "section development 1\nflag\nend-section development\n",  // not empty
      "section development 1\n",                                 // never closed
  };
  for (const char* lines : cases) {
    Result<Parsed> parsed = ParseAll(WithDevelopmentLines(lines));
    ASSERT_FALSE(parsed.has_value()) << lines;
    EXPECT_EQ(parsed.error().code, ErrorCode::kMalformed);
    EXPECT_THAT(parsed.error().message, HasSubstr("manifest line"));
  }
  // After section ima: out of the canonical order.
  ManifestHeader header = SampleHeader(0);
  header.ima = OneCertSection();
  std::string text = Write(header, {});
  size_t at = text.find("entries\n");
  text = text.substr(0, at) +
         "section development 1\nend-section development\n" + text.substr(at);
  EXPECT_FALSE(ParseAll(text).has_value());
}

}  // namespace
}  // namespace imab

namespace imab {
namespace {

TEST(ManifestReaderKeys, RoundTripsTheKeysSection) {
  ManifestHeader header = SampleHeader(0);
  KeysSection keys;
  keys.key_generation = 7;
  keys.kernel_cas = {std::string(30, '\x30'), std::string(31, '\x31')};
  InitramfsRecord a{"boot/initramfs-6.1.img", {}, std::nullopt};
  a.evm_cert_sha256.fill(0x11);
  InitramfsRecord b{"boot/initrd with space", {}, Sha256Digest{}};
  b.evm_cert_sha256.fill(0x22);
  keys.initramfs = {a, b};
  keys.kernels = {{"boot/vmlinuz-5.10", 5, 10}, {"vmlinuz", 6, 1}};
  header.keys = keys;
  header.ima = OneCertSection();
  std::string text = Write(header, {});
  Result<Parsed> parsed = ParseAll(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->header, header);
}

TEST(ManifestReaderKeys, RejectsEachMisuse) {
  const std::string sha(64, 'a');
  const char* const bad[] = {
      "section keys 2\nend-section keys\n",                     // no generation
      "section keys 1\nkey-generation 1\nend-section keys\n",   // version
      "section keys 3\nkey-generation 1\nend-section keys\n",   // version
      "section keys 2\nkey-generation 01\nend-section keys\n",  // NUM
      "section keys 2\nkey-generation 1\nkernel-ca -\nend-section keys\n",
      "section keys 2\nkey-generation 1\nfoo\nend-section keys\n",
      "section keys 2\nkey-generation 1\nend-section ima\n",
      "section keys 2\nkey-generation 1\nend-section keys\n"
      "section keys 2\nkey-generation 1\nend-section keys\n",  // twice
  };
  for (const char* lines : bad) {
    EXPECT_FALSE(ParseAll(WithDevelopmentLines(lines)).has_value()) << lines;
  }
  // initramfs lines: path order, digest spelling, kernel-ca after them.
  std::string unordered = "section keys 2\nkey-generation 1\ninitramfs b " +
                          sha + " -\ninitramfs a " + sha +
                          " -\nend-section keys\n";
  EXPECT_FALSE(ParseAll(WithDevelopmentLines(unordered)).has_value());
  std::string bad_sha = "section keys 2\nkey-generation 1\ninitramfs a " +
                        sha.substr(1) + " -\nend-section keys\n";
  EXPECT_FALSE(ParseAll(WithDevelopmentLines(bad_sha)).has_value());
  std::string ca_late = "section keys 2\nkey-generation 1\ninitramfs a " + sha +
                        " -\nkernel-ca 30\nend-section keys\n";
  EXPECT_FALSE(ParseAll(WithDevelopmentLines(ca_late)).has_value());
  // kernel lines (FORMAT.md §3.3.3): MAJOR.MINOR, path order, between the
  // kernel-ca and the initramfs lines.
  const std::string head = "section keys 2\nkey-generation 1\nkernel-ca 30\n";
  EXPECT_TRUE(
      ParseAll(WithDevelopmentLines(
                   head + "kernel boot/vmlinuz 6.1\nend-section keys\n"))
          .has_value());
  for (const std::string& tail :
       {std::string("kernel boot/vmlinuz 6\n"),
        std::string("kernel boot/vmlinuz 6.01\n"),
        std::string("kernel boot/vmlinuz 6.1.2\n"),
        std::string("kernel boot/vmlinuz\n"),
        std::string("kernel b 6.1\nkernel a 6.1\n"),
        std::string("kernel a 6.1\nkernel a 6.1\n"),
        std::string("kernel a 6.1\nkernel-ca 30\n"),
        "initramfs a " + sha + " -\nkernel b 6.1\n"}) {
    EXPECT_FALSE(
        ParseAll(WithDevelopmentLines(head + tail + "end-section keys\n"))
            .has_value())
        << tail;
  }
  // A kernel line without any kernel-ca line: its CAs are unknown.
  Result<Parsed> no_ca = ParseAll(WithDevelopmentLines(
      "section keys 2\nkey-generation 1\nkernel boot/vmlinuz 6.1\n"
      "end-section keys\n"));
  ASSERT_FALSE(no_ca.has_value());
  EXPECT_THAT(no_ca.error().message,
              HasSubstr("a kernel line needs the kernel-ca"));
}

// --- Section ca-store (FORMAT.md §3.3.6) -----------------------------------

std::string AnchorLine(std::string_view link, char sha = 'a') {
  return "anchor " + std::string(link) + " " + Sha(sha) +
         " 1700000000 CN=Test%20Root";
}

std::vector<std::string> CaSectionLines(std::vector<std::string> anchors) {
  std::vector<std::string> lines = {"section ca-store 1", "bundle " + Sha('b')};
  lines.insert(lines.end(), anchors.begin(), anchors.end());
  lines.push_back("end-section ca-store");
  return lines;
}

TEST(ManifestReader, RoundTripsCaStoreSection) {
  ManifestHeader header = SampleHeader(0);
  ImaSection ima;
  ima.certificates = {{7, "der"}};
  header.ima = ima;
  CaStoreSection ca;
  ca.bundle_sha256[0] = 0x12;
  ca.anchors.push_back({"A B.pem", {}, 0, "CN=A, O=x y"});
  ca.anchors.push_back({"Z.pem", {}, 4102444800, "CN=%"});
  header.ca_store = ca;
  std::string text = Write(header, {});
  ASSERT_THAT(text,
              HasSubstr("end-section ima\nsection ca-store 1\nbundle 12"));
  ASSERT_THAT(text, HasSubstr("\nanchor A%20B.pem "));
  Result<Parsed> parsed = ParseAll(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->header, header);
}

TEST(ManifestReader, RejectsASectionAfterCaStore) {
  std::vector<std::string> lines = CaSectionLines({AnchorLine("A.pem")});
  std::vector<std::string> ima = ImaSectionLines({CertLine("00000001")});
  lines.insert(lines.end(), ima.begin(), ima.end());
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "manifest line 13: section 'ima' after section "
                        "'ca-store'"));
  std::vector<std::string> twice = CaSectionLines({});
  std::vector<std::string> again = CaSectionLines({});
  twice.insert(twice.end(), again.begin(), again.end());
  EXPECT_TRUE(Malformed(WithSection(twice),
                        "section 'ca-store' after section 'ca-store'"));
}

TEST(ManifestReader, RejectsWrongCaStoreVersion) {
  std::vector<std::string> lines = CaSectionLines({});
  lines[0] = "section ca-store 2";
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "manifest line 9: unsupported version of section "
                        "'ca-store'"));
}

TEST(ManifestReader, RejectsCaStoreWithoutBundleLine) {
  EXPECT_TRUE(Malformed(WithSection({"section ca-store 1", AnchorLine("A.pem"),
                                     "end-section ca-store"}),
                        "manifest line 10: expected 'bundle', found 'anchor'"));
  EXPECT_TRUE(Malformed(
      WithSection({"section ca-store 1", "bundle xyz", "end-section ca-store"}),
      "bundle must be 64 hex digits"));
}

TEST(ManifestReader, RejectsUnsortedOrDuplicateAnchors) {
  EXPECT_TRUE(Malformed(
      WithSection(CaSectionLines({AnchorLine("B.pem"), AnchorLine("A.pem")})),
      "manifest line 12: anchor links not strictly increasing"));
  EXPECT_TRUE(Malformed(
      WithSection(CaSectionLines({AnchorLine("A.pem"), AnchorLine("A.pem")})),
      "anchor links not strictly increasing"));
}

TEST(ManifestReader, RejectsMalformedAnchorFields) {
  EXPECT_TRUE(Malformed(WithSection(CaSectionLines(
                            {"anchor A.pem " + Sha('a') + " 17 CN=x extra"})),
                        "'anchor' takes 4 field(s), found 5"));
  EXPECT_TRUE(Malformed(WithSection(CaSectionLines({AnchorLine("a/b.pem")})),
                        "anchor link is not a file name"));
  EXPECT_TRUE(Malformed(
      WithSection(CaSectionLines({"anchor A.pem " + Sha('a') + " 017 CN=x"})),
      "anchor not-after has a leading zero"));
  EXPECT_TRUE(Malformed(
      WithSection(CaSectionLines({"anchor A.pem " + Sha('A') + " 17 CN=x"})),
      "anchor sha256 must be lower-case hex"));
  EXPECT_TRUE(Malformed(
      WithSection(CaSectionLines({"anchor A.pem " + Sha('a') + " 17 CN=%41"})),
      "anchor subject"));
}

TEST(ManifestReader, RejectsCaStoreWithoutEndSection) {
  std::vector<std::string> lines = CaSectionLines({AnchorLine("A.pem")});
  lines.back() = "end-section ima";
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "end-section 'ima' closes section 'ca-store'"));
  lines.pop_back();
  EXPECT_TRUE(Malformed(WithSection(lines),
                        "expected 'anchor' or 'end-section', found 'entries'"));
}

}  // namespace
}  // namespace imab

namespace imab {
namespace {

using namespace std::string_literals;

// The sections of FORMAT.md §3.3 in their one order, each with a valid body.
struct SectionText {
  const char* name;
  std::string text;
  const char* out_of_order;  // the refusal when it comes too late
};

std::vector<SectionText> AllSections() {
  return {
      {"trust-root",
       "section trust-root 1\nsigned-root 00ff\nend-section trust-root\n",
       "section 'trust-root' repeated or not first"},
      {"development", "section development 1\nend-section development\n",
       "section 'development' repeated or out of order"},
      {"validity", "section validity 1\nexpires 100\nend-section validity\n",
       "section 'validity' repeated or out of order"},
      {"keys", "section keys 2\nkey-generation 1\nend-section keys\n",
       "section 'keys' repeated or after section 'ima'"},
      {"ima",
       "section ima 1\nkernel-profile le64\ncert 00000001 30\n"
       "end-section ima\n",
       "section 'ima' appears twice"},
      {"ca-store",
       "section ca-store 1\nbundle " + Sha('a') + "\nend-section ca-store\n",
       "section 'ca-store' after section 'ca-store'"},
  };
}

std::string WithSectionLines(const std::string& lines) {
  std::string text = Write(SampleHeader(0), {});
  size_t at = text.find("entries\n");
  return text.substr(0, at) + lines + text.substr(at);
}

TEST(ManifestReaderSections, AcceptsEverySectionInOrder) {
  std::string lines;
  for (const SectionText& s : AllSections()) {
    lines += s.text;
  }
  Result<Parsed> parsed = ParseAll(WithSectionLines(lines));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->header.trust_root, "\x00\xff"s);
  EXPECT_TRUE(parsed->header.development);
  EXPECT_EQ(parsed->header.expires, 100u);
  EXPECT_TRUE(parsed->header.keys.has_value());
  EXPECT_TRUE(parsed->header.ima.has_value());
  EXPECT_TRUE(parsed->header.ca_store.has_value());
}

// Every pair where the second section does not come strictly later: each
// refusal names the late section.
TEST(ManifestReaderSections, RefusesEachSectionRepeatedOrLate) {
  const std::vector<SectionText> sections = AllSections();
  for (size_t first = 0; first < sections.size(); ++first) {
    for (size_t late = 0; late <= first; ++late) {
      std::string text =
          WithSectionLines(sections[first].text + sections[late].text);
      Result<Parsed> parsed = ParseAll(text);
      ASSERT_FALSE(parsed.has_value()) << text;
      EXPECT_EQ(parsed.error().code, ErrorCode::kMalformed);
      const std::string want = sections[first].name == "ca-store"s && late != 0
                                   ? "section '"s + sections[late].name +
                                         "' after section 'ca-store'"
                                   : sections[late].out_of_order;
      EXPECT_THAT(parsed.error().message, HasSubstr(want)) << text;
    }
  }
}

TEST(ManifestReaderSections, RefusesOneLineSectionsMisused) {
  const std::pair<const char*, const char*> cases[] = {
      {"section trust-root 2\n", "unsupported version of section 'trust-root'"},
      {"section trust-root 1\nsigned-root -\nend-section trust-root\n",
       "signed trust root empty or over the limit"},
      {"section trust-root 1\nsigned-root 0\nend-section trust-root\n",
       "odd-length hex"},
      {"section trust-root 1\nsigned-root 00\nend-section trust-root 1\n",
       "expected 'end-section trust-root'"},
      {"section trust-root 1\nroot 00\n", "expected 'signed-root', found"},
      {"section development 1\nflag\n", "section 'development' must be empty"},
      {"section validity 01\n", "unsupported version of section 'validity'"},
      {"section validity 1\nexpires 8589934592\n",
       "expires 8589934592 exceeds 8589934591"},
      {"section validity 1\nexpires 1\nend-section validity \n",
       "expected 'end-section validity'"},
      {"section ca-store 2\n", "unsupported version of section 'ca-store'"},
  };
  for (const auto& [lines, message] : cases) {
    Result<Parsed> parsed = ParseAll(WithSectionLines(lines));
    ASSERT_FALSE(parsed.has_value()) << lines;
    EXPECT_THAT(parsed.error().message, HasSubstr(message)) << lines;
  }
}

}  // namespace
}  // namespace imab
