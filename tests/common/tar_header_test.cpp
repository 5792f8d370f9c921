#include "common/read/tar_header.h"

#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/read/handles.h"
#include "common/write/archive_handles.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::string Field(const TarBlock& block, size_t offset, size_t length) {
  return std::string(reinterpret_cast<const char*>(block.data()) + offset,
                     length);
}

TarBlock BlockAt(std::string_view bytes, size_t offset) {
  TarBlock block{};
  std::copy_n(bytes.begin() + static_cast<ptrdiff_t>(offset), block.size(),
              block.begin());
  return block;
}

// Sum of the block with the checksum field as spaces, as tar defines it.
unsigned ChecksumOf(TarBlock block) {
  std::fill_n(block.begin() + 148, 8, ' ');
  unsigned sum = 0;
  for (uint8_t b : block) {
    sum += b;
  }
  return sum;
}

void ExpectValidChecksum(const TarBlock& block) {
  const std::string field = Field(block, 148, 8);
  EXPECT_EQ(field[6], '\0');
  EXPECT_EQ(field[7], ' ');
  EXPECT_EQ(std::stoul(field.substr(0, 6), nullptr, 8), ChecksumOf(block));
  EXPECT_THAT(field.substr(0, 6), MatchesRegex("[0-7]*"));
}

// Parses "LEN KEY=VALUE\n" records, checking each LEN against the record.
std::vector<std::pair<std::string, std::string>> ParseRecords(
    std::string_view records) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!records.empty()) {
    const size_t space = records.find(' ');
    EXPECT_NE(space, std::string_view::npos);
    if (space == std::string_view::npos) {
      break;
    }
    const size_t len = std::stoul(std::string(records.substr(0, space)));
    EXPECT_LE(len, records.size());
    EXPECT_EQ(records[len - 1], '\n') << "record length is not exact";
    std::string_view body = records.substr(space + 1, len - space - 2);
    const size_t eq = body.find('=');
    out.emplace_back(std::string(body.substr(0, eq)),
                     std::string(body.substr(eq + 1)));
    records.remove_prefix(len);
  }
  return out;
}

struct SplitHeader {
  TarBlock pax;
  std::string records;
  TarBlock ustar;
};

SplitHeader Split(const std::string& header) {
  EXPECT_EQ(header.size() % kTarBlockBytes, 0u);
  EXPECT_GE(header.size(), 3 * kTarBlockBytes);
  SplitHeader s;
  s.pax = BlockAt(header, 0);
  const size_t records_size = std::stoul(Field(s.pax, 124, 11), nullptr, 8);
  s.records = header.substr(kTarBlockBytes, records_size);
  EXPECT_EQ(header.size(),
            2 * kTarBlockBytes + records_size + TarPadding(records_size));
  EXPECT_EQ(header.find_first_not_of('\0', kTarBlockBytes + records_size),
            header.size() - kTarBlockBytes)
      << "record padding is not zero";
  s.ustar = BlockAt(header, header.size() - kTarBlockBytes);
  return s;
}

Entry MakeFile(std::string path, uint64_t size) {
  Entry e;
  e.path = std::move(path);
  e.type = EntryType::kFile;
  e.mode = 0644;
  e.uid = 1000;
  e.gid = 100;
  e.size = size;
  return e;
}

constexpr uint64_t kMtime = 1700000000;

// ---- (a) header bytes.

TEST(TarHeaderTest, OuterHeaderFieldsAtTheirOffsets) {
  const TarBlock b = EncodeOuterMemberHeader("manifest.sig", 1000, kMtime);
  EXPECT_EQ(Field(b, 0, 13), std::string("manifest.sig\0", 13));
  EXPECT_EQ(Field(b, 13, 87), std::string(87, '\0'));
  EXPECT_EQ(Field(b, 100, 8), std::string("0000644\0", 8));
  EXPECT_EQ(Field(b, 108, 8), std::string("0000000\0", 8));
  EXPECT_EQ(Field(b, 116, 8), std::string("0000000\0", 8));
  EXPECT_EQ(Field(b, 124, 12), std::string("00000001750\0", 12));
  EXPECT_EQ(Field(b, 136, 12), std::string("14524770400\0", 12));
  EXPECT_EQ(b[156], '0');
  EXPECT_EQ(Field(b, 157, 100), std::string(100, '\0'));
  EXPECT_EQ(Field(b, 257, 8), std::string("ustar\0"
                                          "00",
                                          8));
  EXPECT_EQ(Field(b, 265, 512 - 265), std::string(512 - 265, '\0'));
  ExpectValidChecksum(b);
}

TEST(TarHeaderTest, OuterHeaderLargestValues) {
  const TarBlock b = EncodeOuterMemberHeader("payload.tar.zst", kTarMaxOctal11,
                                             kTarMaxOctal11);
  EXPECT_EQ(Field(b, 124, 12), std::string("77777777777\0", 12));
  EXPECT_EQ(Field(b, 136, 12), std::string("77777777777\0", 12));
  ExpectValidChecksum(b);
}

// GNU tar writes the same header except that it fills devmajor/devminor with
// "0000000\0"; with those zeroed and the checksum redone they must agree.
TEST(TarHeaderTest, OuterHeaderMatchesGnuTarUstar) {
  TempDir dir;
  WriteFile(dir.Sub("manifest"), "hello");
  const std::string cmd = "cd '" + dir.path().string() +
                          "' && tar --format=ustar --owner=0 --group=0 "
                          "--numeric-owner --mode=644 --mtime=@1700000000 "
                          "-cf out.tar manifest 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    GTEST_SKIP() << "GNU tar not usable here";
  }
  TarBlock gnu = BlockAt(ReadFile(dir.Sub("out.tar")), 0);
  std::fill_n(gnu.begin() + 329, 16, 0);
  const unsigned sum = ChecksumOf(gnu);
  char field[8];
  std::snprintf(field, sizeof(field), "%06o", sum);
  std::copy_n(field, 7, gnu.begin() + 148);
  gnu[155] = ' ';
  EXPECT_EQ(EncodeOuterMemberHeader("manifest", 5, kMtime), gnu);
}

TEST(TarHeaderTest, FileEntryLayout) {
  Entry e = MakeFile("usr/bin/tool", 12345);
  e.mode = 04755;
  e.xattrs = {{"security.ima", std::string("\x03\x02\0\x01", 4)},
              {"user.a", "v"}};
  const SplitHeader s = Split(EncodeEntryHeader(e, kMtime));

  EXPECT_EQ(Field(s.pax, 0, 15), std::string("././@PaxHeader\0", 15));
  EXPECT_EQ(Field(s.pax, 100, 8), std::string("0000644\0", 8));
  EXPECT_EQ(Field(s.pax, 108, 16), std::string("0000000\0"
                                               "0000000\0",
                                               16));
  EXPECT_EQ(Field(s.pax, 136, 12), std::string("14524770400\0", 12));
  EXPECT_EQ(s.pax[156], 'x');
  EXPECT_EQ(Field(s.pax, 257, 8), std::string("ustar\0"
                                              "00",
                                              8));
  ExpectValidChecksum(s.pax);

  const auto records = ParseRecords(s.records);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"path", "usr/bin/tool"},
      {"size", "12345"},
      {"uid", "1000"},
      {"gid", "100"},
      {"SCHILY.xattr.security.ima", std::string("\x03\x02\0\x01", 4)},
      {"SCHILY.xattr.user.a", "v"}};
  EXPECT_EQ(records, want);
  EXPECT_EQ(s.records.substr(0, 21), "21 path=usr/bin/tool\n");

  EXPECT_EQ(Field(s.ustar, 0, 13), std::string("usr/bin/tool\0", 13));
  EXPECT_EQ(Field(s.ustar, 100, 8), std::string("0004755\0", 8));
  EXPECT_EQ(Field(s.ustar, 108, 8), std::string("0001750\0", 8));
  EXPECT_EQ(Field(s.ustar, 116, 8), std::string("0000144\0", 8));
  EXPECT_EQ(Field(s.ustar, 124, 12), std::string("00000030071\0", 12));
  EXPECT_EQ(Field(s.ustar, 136, 12), std::string("14524770400\0", 12));
  EXPECT_EQ(s.ustar[156], '0');
  EXPECT_EQ(Field(s.ustar, 157, 100), std::string(100, '\0'));
  EXPECT_EQ(Field(s.ustar, 265, 512 - 265), std::string(512 - 265, '\0'));
  ExpectValidChecksum(s.ustar);
}

TEST(TarHeaderTest, RecordLengthCrossesDigitBoundaries) {
  // "LEN path=V\n" is V+7 bytes plus LEN's digits: V=1 gives 9, V=2 gives 11
  // (10 cannot describe itself), V=90 gives 99 and V=91 gives 101.
  const std::pair<size_t, size_t> cases[] = {{1, 9},     {2, 11},    {3, 12},
                                             {90, 99},   {91, 101},  {92, 102},
                                             {989, 999}, {990, 1001}};
  for (const auto& [value_len, record_len] : cases) {
    Entry e;
    e.type = EntryType::kDir;
    e.mode = 0755;
    e.path = std::string(value_len, 'p');
    const SplitHeader s = Split(EncodeEntryHeader(e, kMtime));
    const std::string first = s.records.substr(0, s.records.find('\n') + 1);
    EXPECT_EQ(first.size(), record_len) << "value length " << value_len;
    EXPECT_EQ(first.substr(0, first.find(' ')), std::to_string(record_len));
    ParseRecords(s.records);
  }
}

TEST(TarHeaderTest, XattrValueLengthBoundaries) {
  for (size_t n = 0; n < 1100; n += 7) {
    Entry e = MakeFile("f", 1);
    e.xattrs = {{"user.x", std::string(n, '\n')}};
    const SplitHeader s = Split(EncodeEntryHeader(e, kMtime));
    const auto records = ParseRecords(s.records);
    ASSERT_EQ(records.size(), 5u);
    EXPECT_EQ(records[4].second, std::string(n, '\n'));
  }
}

TEST(TarHeaderTest, SymlinkUsesMode0777AndLinkname) {
  Entry e;
  e.path = "bin/sh";
  e.type = EntryType::kSymlink;
  e.mode = 0;  // a symlink record carries no mode
  e.link_target = "/usr/bin/dash";
  const SplitHeader s = Split(EncodeEntryHeader(e, kMtime));
  const std::vector<std::pair<std::string, std::string>> want = {
      {"path", "bin/sh"},
      {"linkpath", "/usr/bin/dash"},
      {"uid", "0"},
      {"gid", "0"}};
  EXPECT_EQ(ParseRecords(s.records), want);
  EXPECT_EQ(Field(s.ustar, 100, 8), std::string("0000777\0", 8));
  EXPECT_EQ(s.ustar[156], '2');
  EXPECT_EQ(Field(s.ustar, 157, 14), std::string("/usr/bin/dash\0", 14));
  EXPECT_EQ(Field(s.ustar, 124, 12), std::string("00000000000\0", 12));
}

TEST(TarHeaderTest, HardlinkCarriesTargetMetadata) {
  Entry e;
  e.path = "a/hard";
  e.type = EntryType::kHardlink;
  e.mode = 0640;
  e.uid = 7;
  e.gid = 8;
  e.link_target = "a/file";
  const SplitHeader s = Split(EncodeEntryHeader(e, kMtime));
  const std::vector<std::pair<std::string, std::string>> want = {
      {"path", "a/hard"}, {"linkpath", "a/file"}, {"uid", "7"}, {"gid", "8"}};
  EXPECT_EQ(ParseRecords(s.records), want);
  EXPECT_EQ(s.ustar[156], '1');
  EXPECT_EQ(Field(s.ustar, 100, 8), std::string("0000640\0", 8));
  EXPECT_EQ(Field(s.ustar, 157, 7), std::string("a/file\0", 7));
}

TEST(TarHeaderTest, DeviceNumbersOnlyForDevices) {
  Entry e;
  e.path = "dev/sda";
  e.type = EntryType::kBlock;
  e.mode = 0660;
  e.dev_major = 4095;
  e.dev_minor = 1048575;
  SplitHeader s = Split(EncodeEntryHeader(e, kMtime));
  EXPECT_EQ(s.ustar[156], '4');
  EXPECT_EQ(Field(s.ustar, 329, 16), std::string("0007777\0"
                                                 "3777777\0",
                                                 16));
  e.type = EntryType::kChar;
  s = Split(EncodeEntryHeader(e, kMtime));
  EXPECT_EQ(s.ustar[156], '3');
  EXPECT_EQ(Field(s.ustar, 329, 16), std::string("0007777\0"
                                                 "3777777\0",
                                                 16));
  for (EntryType t : {EntryType::kFifo, EntryType::kDir}) {
    e.type = t;
    s = Split(EncodeEntryHeader(e, kMtime));
    EXPECT_EQ(Field(s.ustar, 329, 16), std::string(16, '\0'));
    EXPECT_EQ(s.ustar[156], t == EntryType::kFifo ? '6' : '5');
  }
}

TEST(TarHeaderTest, LargeIdsAndSizesOnlyInPax) {
  Entry e = MakeFile(std::string(200, 'n'), kTarMaxOctal11 + 1);
  e.uid = 07777777 + 1;
  e.gid = 4294967295u;
  const SplitHeader s = Split(EncodeEntryHeader(e, kMtime));
  const auto records = ParseRecords(s.records);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].second, std::string(200, 'n'));
  EXPECT_EQ(records[1].second, std::to_string(kTarMaxOctal11 + 1));
  EXPECT_EQ(records[2].second, "2097152");
  EXPECT_EQ(records[3].second, "4294967295");
  EXPECT_EQ(Field(s.ustar, 0, 100), std::string(100, 'n'));  // no NUL
  EXPECT_EQ(Field(s.ustar, 108, 16), std::string("0000000\0"
                                                 "0000000\0",
                                                 16));
  EXPECT_EQ(Field(s.ustar, 124, 12), std::string("00000000000\0", 12));
  EXPECT_EQ(Field(s.ustar, 345, 155), std::string(155, '\0'));  // prefix
  ExpectValidChecksum(s.ustar);

  e.uid = 07777777;
  e.size = kTarMaxOctal11;
  const SplitHeader t = Split(EncodeEntryHeader(e, kMtime));
  EXPECT_EQ(Field(t.ustar, 108, 8), std::string("7777777\0", 8));
  EXPECT_EQ(Field(t.ustar, 124, 12), std::string("77777777777\0", 12));
}

TEST(TarHeaderTest, OnlyPermissionBitsInMode) {
  Entry e = MakeFile("f", 0);
  e.mode = 0100644;  // stray file-type bits must not reach the header
  const SplitHeader s = Split(EncodeEntryHeader(e, kMtime));
  EXPECT_EQ(Field(s.ustar, 100, 8), std::string("0000644\0", 8));
}

// ---- (b) interoperability with libarchive and GNU tar.

struct Expected {
  Entry entry;
  std::string content;
};

std::vector<Expected> InteropEntries() {
  std::vector<Expected> v;
  Entry dir;
  dir.path = "etc";
  dir.type = EntryType::kDir;
  dir.mode = 0755;
  v.push_back({dir, ""});

  Entry file = MakeFile("etc/config", 12);
  file.mode = 0640;
  file.xattrs = {{"security.capability",
                  std::string("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
                              "\x00\x00\x00\x00\x00\x00\x00\x00",
                              20)},
                 {"user.comment", std::string("a\0b\nc", 5)}};
  v.push_back({file, "hello world\n"});

  Entry rel;
  rel.path = "etc/rel";
  rel.type = EntryType::kSymlink;
  rel.link_target = "config";
  v.push_back({rel, ""});
  Entry abs = rel;
  abs.path = "etc/abs";
  abs.link_target = "/usr/bin/true";
  v.push_back({abs, ""});

  Entry hard = file;
  hard.path = "etc/hard";
  hard.type = EntryType::kHardlink;
  hard.size = 0;
  hard.link_target = "etc/config";
  hard.xattrs.clear();
  v.push_back({hard, ""});

  Entry fifo;
  fifo.path = "etc/fifo";
  fifo.type = EntryType::kFifo;
  fifo.mode = 0600;
  v.push_back({fifo, ""});

  Entry chr;
  chr.path = "etc/null";
  chr.type = EntryType::kChar;
  chr.mode = 0666;
  chr.dev_major = 1;
  chr.dev_minor = 3;
  v.push_back({chr, ""});

  std::string long_path = "etc/" + std::string(196, 'L');
  v.push_back({MakeFile(long_path, 3), "abc"});

  Entry big = MakeFile("etc/bigid", 1);
  big.uid = 3000000;
  big.gid = 3000001;
  v.push_back({big, "x"});
  return v;
}

std::string PayloadStream(const std::vector<Expected>& entries) {
  std::string out;
  for (const Expected& x : entries) {
    out += EncodeEntryHeader(x.entry, kMtime);
    out += x.content;
    out.append(TarPadding(x.content.size()), '\0');
  }
  out.append(kTarEndBytes, '\0');
  return out;
}

mode_t FileType(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return AE_IFREG;
    case EntryType::kHardlink:
      return 0;
    case EntryType::kDir:
      return AE_IFDIR;
    case EntryType::kSymlink:
      return AE_IFLNK;
    case EntryType::kChar:
      return AE_IFCHR;
    case EntryType::kBlock:
      return AE_IFBLK;
    case EntryType::kFifo:
      return AE_IFIFO;
  }
  return 0;
}

void ExpectXattrs(struct archive_entry* ae, const Entry& e) {
  // libarchive lists xattrs in its own order; compare them sorted.
  std::vector<std::pair<std::string, std::string>> got;
  archive_entry_xattr_reset(ae);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
    got.emplace_back(name, std::string(static_cast<const char*>(value), size));
  }
  std::sort(got.begin(), got.end());
  std::vector<std::pair<std::string, std::string>> want;
  for (const Xattr& x : e.xattrs) {
    want.emplace_back(x.name, x.value);
  }
  EXPECT_EQ(got, want) << e.path;
}

void ExpectEntry(struct archive* a, struct archive_entry* ae,
                 const Expected& x) {
  const Entry& e = x.entry;
  EXPECT_EQ(std::string(archive_entry_pathname(ae)), e.path);
  // libarchive leaves a hardlink's file type unset (0): it names an inode.
  if (e.type != EntryType::kHardlink) {
    EXPECT_EQ(archive_entry_filetype(ae), FileType(e.type)) << e.path;
  }
  const mode_t perm = e.type == EntryType::kSymlink ? 0777 : e.mode;
  EXPECT_EQ(archive_entry_perm(ae), perm) << e.path;
  EXPECT_EQ(archive_entry_uid(ae), e.uid) << e.path;
  EXPECT_EQ(archive_entry_gid(ae), e.gid) << e.path;
  EXPECT_EQ(archive_entry_mtime(ae), static_cast<time_t>(kMtime));
  if (e.type == EntryType::kSymlink) {
    EXPECT_EQ(std::string(archive_entry_symlink(ae)), e.link_target);
  }
  if (e.type == EntryType::kHardlink) {
    EXPECT_EQ(std::string(archive_entry_hardlink(ae)), e.link_target);
  }
  if (e.type == EntryType::kChar || e.type == EntryType::kBlock) {
    EXPECT_EQ(archive_entry_rdevmajor(ae), e.dev_major);
    EXPECT_EQ(archive_entry_rdevminor(ae), e.dev_minor);
  }
  if (e.type == EntryType::kFile) {
    EXPECT_EQ(archive_entry_size(ae), static_cast<la_int64_t>(e.size));
    std::string data(x.content.size() + 1, '\0');
    const la_ssize_t n = archive_read_data(a, data.data(), data.size());
    ASSERT_GE(n, 0) << archive_error_string(a);
    data.resize(static_cast<size_t>(n));
    EXPECT_EQ(data, x.content);
  }
  ExpectXattrs(ae, e);
}

TEST(TarHeaderInteropTest, LibarchiveReadsEveryEntry) {
  const std::vector<Expected> entries = InteropEntries();
  const std::string stream = PayloadStream(entries);
  ArchiveReadPtr a(archive_read_new());
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(archive_read_support_format_tar(a.get()), ARCHIVE_OK);
  ASSERT_EQ(archive_read_open_memory(a.get(), stream.data(), stream.size()),
            ARCHIVE_OK);
  struct archive_entry* ae = nullptr;
  for (const Expected& x : entries) {
    ASSERT_EQ(archive_read_next_header(a.get(), &ae), ARCHIVE_OK)
        << x.entry.path << ": " << archive_error_string(a.get());
    ExpectEntry(a.get(), ae, x);
  }
  EXPECT_EQ(archive_read_next_header(a.get(), &ae), ARCHIVE_EOF);
}

TEST(TarHeaderInteropTest, GnuTarListsEveryEntry) {
  const std::vector<Expected> entries = InteropEntries();
  TempDir dir;
  WriteFile(dir.Sub("payload.tar"), PayloadStream(entries));
  const std::string cmd = "tar --xattrs --xattrs-include='*' -tvf '" +
                          dir.Sub("payload.tar") + "' 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) {
    output.append(buf, n);
  }
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'),
            static_cast<ptrdiff_t>(entries.size()))
      << output;
  EXPECT_THAT(output, HasSubstr(entries[7].entry.path));
  EXPECT_THAT(output, HasSubstr("3000000/3000001"));
  EXPECT_THAT(output, HasSubstr("etc/abs -> /usr/bin/true"));
  EXPECT_THAT(output, HasSubstr("etc/hard link to etc/config"));
  EXPECT_THAT(output, HasSubstr("crw-rw-rw-"));
}

// ---- (c) naming the differing field.

std::string Describe(const Entry& want, const Entry& got) {
  return DescribeHeaderDifference(EncodeEntryHeader(want, kMtime),
                                  EncodeEntryHeader(got, kMtime));
}

Entry RichFile() {
  Entry e = MakeFile("usr/lib/libx.so", 4096);
  e.xattrs = {{"security.ima", "abcd"}, {"user.z", "zz"}};
  return e;
}

TEST(DescribeHeaderDifferenceTest, NamesTheChangedField) {
  const Entry base = RichFile();
  Entry e = base;
  e.mode = 0600;
  EXPECT_EQ(Describe(base, e), "mode");
  e = base;
  e.uid = 1001;  // same number of digits
  EXPECT_EQ(Describe(base, e), "uid");
  e.uid = 5;  // record length changes too
  EXPECT_EQ(Describe(base, e), "uid");
  e = base;
  e.gid = 12345678;  // beyond the ustar field
  EXPECT_EQ(Describe(base, e), "gid");
  e = base;
  e.size = 4097;
  EXPECT_EQ(Describe(base, e), "size");
  e.size = 5;
  EXPECT_EQ(Describe(base, e), "size");
  e = base;
  e.path = "usr/lib/liby.so";
  EXPECT_EQ(Describe(base, e), "path");
}

TEST(DescribeHeaderDifferenceTest, NamesXattrs) {
  const Entry base = RichFile();
  Entry e = base;
  e.xattrs[0].value = "abce";
  EXPECT_EQ(Describe(base, e), "xattr security.ima");
  e.xattrs[0].value = std::string(300, 'v');  // padded length changes
  EXPECT_EQ(Describe(base, e), "xattr security.ima");
  e = base;
  e.xattrs[1].value = "zy";
  EXPECT_EQ(Describe(base, e), "xattr user.z");
  e = base;
  e.xattrs.push_back({"user.zz", "1"});  // an extra record
  EXPECT_EQ(Describe(base, e), "xattr user.zz");
  e = base;
  e.xattrs.pop_back();  // a missing record
  EXPECT_EQ(Describe(base, e), "xattr user.z");
}

TEST(DescribeHeaderDifferenceTest, NamesLinkTypeDeviceAndMtime) {
  Entry link;
  link.path = "bin/sh";
  link.type = EntryType::kSymlink;
  link.link_target = "dash";
  Entry e = link;
  e.link_target = "bash";
  EXPECT_EQ(Describe(link, e), "link target");
  e.link_target = "busybox";
  EXPECT_EQ(Describe(link, e), "link target");

  Entry dev;
  dev.path = "dev/null";
  dev.type = EntryType::kChar;
  dev.mode = 0666;
  dev.dev_major = 1;
  dev.dev_minor = 3;
  e = dev;
  e.dev_minor = 5;
  EXPECT_EQ(Describe(dev, e), "device numbers");
  e = dev;
  e.type = EntryType::kBlock;
  EXPECT_EQ(Describe(dev, e), "type");

  EXPECT_EQ(DescribeHeaderDifference(EncodeEntryHeader(dev, kMtime),
                                     EncodeEntryHeader(dev, kMtime + 1)),
            "mtime");
}

TEST(DescribeHeaderDifferenceTest, LengthChecksumAndForeignBytes) {
  const std::string h = EncodeEntryHeader(RichFile(), kMtime);
  EXPECT_EQ(DescribeHeaderDifference(h, h.substr(0, 1024)), "header length");
  EXPECT_EQ(DescribeHeaderDifference(h, h + std::string(512, '\0')),
            "header length");
  std::string bad = h;
  bad[bad.size() - 512 + 150] ^= 1;  // ustar checksum only
  EXPECT_EQ(DescribeHeaderDifference(h, bad), "header");
  bad = h;
  bad[bad.size() - 512 + 257] = 'X';  // magic
  EXPECT_EQ(DescribeHeaderDifference(h, bad), "header");
  bad = h;
  bad[3] = 'X';  // the pax header's own name
  EXPECT_EQ(DescribeHeaderDifference(h, bad), "header");
  bad = h;
  bad[bad.size() - 512 + 400] = 'p';  // ustar prefix
  EXPECT_EQ(DescribeHeaderDifference(h, bad), "path");
  EXPECT_EQ(DescribeHeaderDifference(h, std::string(h.size(), '\xff')),
            "header");
  EXPECT_EQ(DescribeHeaderDifference(h, ""), "header length");
  EXPECT_EQ(DescribeHeaderDifference("", "x"), "header length");
}

TEST(DescribeHeaderDifferenceTest, SingleOuterBlock) {
  const TarBlock a = EncodeOuterMemberHeader("manifest", 10, kMtime);
  const TarBlock b = EncodeOuterMemberHeader("manifest", 11, kMtime);
  const auto view = [](const TarBlock& t) {
    return std::string_view(reinterpret_cast<const char*>(t.data()), t.size());
  };
  EXPECT_EQ(DescribeHeaderDifference(view(a), view(b)), "size");
}

}  // namespace
}  // namespace imab
