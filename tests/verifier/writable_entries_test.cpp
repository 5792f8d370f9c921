#include "verifier/device/writable_entries.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/read/byte_source.h"
#include "common/read/manifest.h"
#include "common/write/manifest_writer.h"
#include "tests/testutil/memory_byte_source.h"
#include "verifier/bundle/manifest_copy.h"

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;

Entry Make(EntryType type, std::string path) {
  Entry e;
  e.type = type;
  e.path = std::move(path);
  e.mode = type == EntryType::kSymlink ? 0777 : 0644;
  e.link_target = type == EntryType::kSymlink ? "t" : "";
  return e;
}

TEST(WritableEntriesTest, PathPlusReserveMustStayUnderPathMax) {
  Entry e = Make(EntryType::kFile, std::string(3839, 'a'));
  EXPECT_TRUE(CheckWritable(e, 256).ok());
  Status over = CheckWritable(e, 257);
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(over.error().message, HasSubstr("PATH_MAX is 4096"));
  EXPECT_FALSE(
      CheckWritable(Make(EntryType::kFile, std::string(4096, 'a')), 0).ok());
}

TEST(WritableEntriesTest, SymlinkTargetUnderPathMax) {
  Entry e = Make(EntryType::kSymlink, "l");
  e.link_target = std::string(4095, 't');
  EXPECT_TRUE(CheckWritable(e, 256).ok());
  e.link_target += "t";
  EXPECT_FALSE(CheckWritable(e, 256).ok());
}

TEST(WritableEntriesTest, XattrNamespacesAndTheirTypes) {
  struct Case {
    EntryType type;
    const char* name;
    bool ok;
  };
  const Case cases[] = {
      {EntryType::kFile, "user.a", true},
      {EntryType::kDir, "user.a", true},
      {EntryType::kSymlink, "user.a", false},
      {EntryType::kFifo, "user.a", false},
      {EntryType::kChar, "user.a", false},
      {EntryType::kSymlink, "security.selinux", true},
      {EntryType::kSymlink, "trusted.x", true},
      {EntryType::kFile, "user.", false},
      {EntryType::kFile, "os2.x", false},
      {EntryType::kFile, "system.posix_acl_access", true},
      {EntryType::kFile, "system.posix_acl_default", false},
      {EntryType::kDir, "system.posix_acl_default", true},
      {EntryType::kFile, "system.other", false},
  };
  for (const Case& c : cases) {
    Entry e = Make(c.type, "p");
    e.xattrs.push_back(Xattr{c.name, "v"});
    EXPECT_EQ(CheckWritable(e, 0).ok(), c.ok)
        << EntryTypeName(c.type) << " " << c.name;
  }
}

TEST(WritableEntriesTest, ManifestPassNamesTheEntryEscaped) {
  ManifestHeader header;
  header.image_version = "1";
  header.compatible = "b";
  header.entry_count = 2;
  std::string manifest;
  AppendManifestHeader(header, &manifest);
  Entry ok = Make(EntryType::kFile, "f");
  Entry bad = Make(EntryType::kSymlink, "evil\x1b\n");
  bad.xattrs.push_back(Xattr{"user.x", "v"});
  AppendManifestRecord(ok, &manifest);
  AppendManifestRecord(bad, &manifest);
  AppendManifestEnd(&manifest);
  MemoryByteSource source(
      std::vector<uint8_t>(manifest.begin(), manifest.end()));
  Status status = CheckManifestEntries(source, 0);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message,
              HasSubstr("entry 1: path 'evil\\x1b\\n'"));
}

TEST(ManifestCopyTest, CopiesTheRegionOnceAndHashesIt) {
  std::vector<uint8_t> bytes(200000);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(i * 7);
  }
  MemoryByteSource source(bytes);
  Result<ManifestCopy> copy = CopyManifest(source, 100, 150000, "/tmp");
  ASSERT_TRUE(copy.has_value()) << copy.error().message;
  ASSERT_EQ(copy->source->size(), 150000u);
  std::vector<uint8_t> back(150000);
  ASSERT_TRUE(copy->source->ReadAt(0, back).ok());
  EXPECT_TRUE(std::equal(back.begin(), back.end(), bytes.begin() + 100));
  Result<Sha256Digest> digest =
      Sha256Of(std::span<const uint8_t>(bytes).subspan(100, 150000));
  EXPECT_TRUE(DigestEquals(copy->sha256, *digest));
  EXPECT_FALSE(CopyManifest(source, 100, 300000, "/tmp").has_value());
  EXPECT_FALSE(CopyManifest(source, 0, 10, "/nonexistent-dir").has_value());
}

}  // namespace
}  // namespace imab::verifier
