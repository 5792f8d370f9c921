#include "builder/tarball_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "builder/rootfs_source.h"
#include "common/read/handles.h"
#include "common/read/image_tree.h"
#include "common/write/archive_handles.h"
#include "tests/builder/sample_rootfs.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab::builder {
namespace {

using imab::testing::DrainSource;
using imab::testing::ExpectedEntry;
using imab::testing::RecordingReporter;
using imab::testing::StatusIs;
using imab::testing::TempDir;
using imab::testing::WriteFile;
using ::testing::HasSubstr;

void RunCommand(const std::string& command) {
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// Packs `dir` the way a release engineer would, then compresses it with the
// matching CLI. Returns the tarball path.
std::string PackWithTar(const TempDir& work, const std::string& dir,
                        const std::string& suffix) {
  std::string tar = work.Sub("rootfs.tar");
  RunCommand(
      "tar --xattrs --xattrs-include='*' --numeric-owner --sort=name -C '" +
      dir + "' -cf '" + tar + "' .");
  if (suffix == "tar.gz") {
    RunCommand("gzip -k '" + tar + "'");
  } else if (suffix == "tar.xz") {
    RunCommand("xz -k '" + tar + "'");
  } else if (suffix == "tar.zst") {
    RunCommand("zstd -q '" + tar + "' -o '" + tar + ".zst'");
  }
  return work.Sub("rootfs." + suffix);
}

struct TarItem {
  std::string name;
  mode_t type = AE_IFREG;
  std::string data;
  std::string link;  // symlink target
  std::string hardlink;
  int64_t uid = 0;
  int64_t gid = 0;
};

TarItem File(std::string name, std::string data) {
  TarItem item;
  item.name = std::move(name);
  item.data = std::move(data);
  return item;
}
TarItem Dir(std::string name) {
  TarItem item;
  item.name = std::move(name);
  item.type = AE_IFDIR;
  return item;
}
TarItem Symlink(std::string name, std::string target) {
  TarItem item;
  item.name = std::move(name);
  item.type = AE_IFLNK;
  item.link = std::move(target);
  return item;
}
TarItem Hardlink(std::string name, std::string target) {
  TarItem item;
  item.name = std::move(name);
  item.hardlink = std::move(target);
  return item;
}

// Writes a pax tarball holding exactly `items`, names as given: unlike tar(1),
// libarchive's writer does not sanitise "..", "/" or duplicates.
void WriteTar(const std::string& path, const std::vector<TarItem>& items) {
  ArchiveWritePtr a(archive_write_new());
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(archive_write_set_format_pax_restricted(a.get()), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(a.get(), path.c_str()), ARCHIVE_OK);
  for (const TarItem& item : items) {
    ArchiveEntryPtr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), item.name.c_str());
    archive_entry_set_filetype(e.get(), item.type);
    archive_entry_set_perm(e.get(), item.type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_uid(e.get(), item.uid);
    archive_entry_set_gid(e.get(), item.gid);
    if (!item.link.empty()) {
      archive_entry_set_symlink(e.get(), item.link.c_str());
    }
    if (!item.hardlink.empty()) {
      archive_entry_set_hardlink(e.get(), item.hardlink.c_str());
    }
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(item.data.size()));
    ASSERT_EQ(archive_write_header(a.get(), e.get()), ARCHIVE_OK)
        << archive_error_string(a.get());
    if (!item.data.empty()) {
      ASSERT_EQ(archive_write_data(a.get(), item.data.data(), item.data.size()),
                static_cast<la_ssize_t>(item.data.size()));
    }
  }
  ASSERT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
}

// Drains the tarball at `path`; returns the error of the first failure.
Error DrainExpectingError(const std::string& path,
                          std::vector<ExpectedEntry>* got = nullptr) {
  NullReporter reporter;
  auto source = OpenTarballSource(path, reporter);
  if (!source.has_value()) {
    return source.error();
  }
  Error error{ErrorCode::kInternal, "no error"};
  std::vector<ExpectedEntry> entries = DrainSource(**source, &error);
  if (got != nullptr) {
    *got = std::move(entries);
  }
  return error;
}

void ExpectParentsFirst(const std::vector<ExpectedEntry>& got) {
  std::set<std::string> seen;
  for (const ExpectedEntry& x : got) {
    std::string parent(ParentPath(x.entry.path));
    EXPECT_TRUE(parent.empty() || seen.count(parent) != 0)
        << x.entry.path << " before its parent";
    EXPECT_TRUE(seen.insert(x.entry.path).second)
        << "duplicate " << x.entry.path;
  }
}

class TarballSourceFormatTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TarballSourceFormatTest, YieldsSameEntriesAsFolder) {
  TempDir tree;
  TempDir work;
  testing::BuildSampleRootfs(tree.path());
  std::string tarball = PackWithTar(work, tree.path().string(), GetParam());
  RecordingReporter reporter;
  // Through OpenRootfs: a regular file is read as a tarball by content.
  auto source = OpenRootfs(tarball, reporter);
  ASSERT_TRUE(source.has_value()) << source.error().message;
  std::vector<ExpectedEntry> got = DrainSource(**source);
  EXPECT_TRUE(reporter.warnings.empty());
  ExpectParentsFirst(got);

  std::map<std::string, const ExpectedEntry*> by_path;
  for (const ExpectedEntry& x : got) {
    by_path[x.entry.path] = &x;
  }
  std::vector<ExpectedEntry> want = testing::SampleRootfsEntries();
  EXPECT_EQ(got.size(), want.size());
  for (const ExpectedEntry& w : want) {
    auto it = by_path.find(w.entry.path);
    if (it == by_path.end()) {
      ADD_FAILURE() << "missing " << w.entry.path;
      continue;
    }
    EXPECT_EQ(it->second->entry, w.entry)
        << "\n got: " << testing::Describe(it->second->entry)
        << "\nwant: " << testing::Describe(w.entry);
    EXPECT_EQ(it->second->content, w.content) << w.entry.path;
  }
}

INSTANTIATE_TEST_SUITE_P(Compressions, TarballSourceFormatTest,
                         ::testing::Values("tar", "tar.gz", "tar.xz",
                                           "tar.zst"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           return name == "tar" ? std::string("plain")
                                                : name.substr(4);
                         });

TEST(TarballSourceTest, NormalisesNamesAndHardlinkTargets) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {Dir("./"), Dir("./usr/"), File("./usr/f", "abc"),
                  Hardlink("usr/h", "./usr/f"), Symlink("usr/s", "./f/")});
  std::vector<ExpectedEntry> got;
  Error error = DrainExpectingError(path, &got);
  EXPECT_EQ(error.message, "no error");
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].entry.path, "usr");
  EXPECT_EQ(got[0].entry.type, EntryType::kDir);
  EXPECT_EQ(got[1].entry.path, "usr/f");
  EXPECT_EQ(got[1].content, "abc");
  EXPECT_EQ(got[2].entry.path, "usr/h");
  EXPECT_EQ(got[2].entry.type, EntryType::kHardlink);
  EXPECT_EQ(got[2].entry.link_target, "usr/f");
  EXPECT_EQ(got[2].entry.mode, 0u);
  EXPECT_EQ(got[3].entry.type, EntryType::kSymlink);
  EXPECT_EQ(got[3].entry.link_target, "./f/");  // symlink targets verbatim
}

TEST(TarballSourceTest, NonUtf8AndNewlineNamesFromTarCliAreKept) {
  TempDir tree;
  TempDir work;
  const std::vector<std::string> names = {std::string("\xff\xfe\x80"),
                                          "caf\xc3\xa9", "new\nline"};
  for (const std::string& name : names) {
    WriteFile(tree.path() / name, name);
  }
  // --xattrs forces the pax format, whose names are UTF-8 records.
  std::string tarball = PackWithTar(work, tree.path().string(), "tar");
  std::vector<ExpectedEntry> got;
  Error error = DrainExpectingError(tarball, &got);
  EXPECT_EQ(error.message, "no error");
  std::set<std::string> paths;
  for (const ExpectedEntry& x : got) {
    EXPECT_EQ(x.content, x.entry.path);
    paths.insert(x.entry.path);
  }
  EXPECT_EQ(paths, std::set<std::string>(names.begin(), names.end()));
}

TEST(TarballSourceTest, SynthesisesMissingParentsWithOneWarning) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {File("a/b/c", "deep"), File("a/b/d", "next")});
  RecordingReporter reporter;
  auto source = OpenTarballSource(path, reporter);
  ASSERT_TRUE(source.has_value());
  std::vector<ExpectedEntry> got = DrainSource(**source);
  ASSERT_EQ(got.size(), 4u);
  ExpectedEntry a = testing::Expect("a", EntryType::kDir, 0755);
  ExpectedEntry ab = testing::Expect("a/b", EntryType::kDir, 0755);
  EXPECT_EQ(got[0].entry, a.entry);
  EXPECT_EQ(got[1].entry, ab.entry);
  EXPECT_EQ(got[2].entry.path, "a/b/c");
  EXPECT_EQ(got[2].content, "deep");
  EXPECT_EQ(got[3].content, "next");
  ASSERT_EQ(reporter.warnings.size(), 1u);
  EXPECT_THAT(reporter.warnings[0], HasSubstr("'a', 'a/b'"));
}

TEST(TarballSourceTest, FolderAfterItsContentsIsError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {File("a/f", "x"), Dir("a/")});
  Error error = DrainExpectingError(path);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message,
            path +
                ": entry 'a': folder entry after its contents (re-pack the "
                "tarball with folders first, e.g. tar --sort=name)");
}

TEST(TarballSourceTest, FolderAfterContentsFromTarCliIsError) {
  TempDir tree;
  TempDir work;
  testing::MakeDir(tree.path() / "a", 0755);
  WriteFile(tree.path() / "a" / "f", "x");
  std::string tar = work.Sub("t.tar");
  RunCommand("tar --no-recursion -C '" + tree.path().string() + "' -cf '" +
             tar + "' a/f a");
  Error error = DrainExpectingError(tar);
  EXPECT_THAT(error.message, HasSubstr("folder entry after its contents"));
}

TEST(TarballSourceTest, DuplicateEntryIsError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {File("f", "1"), File("./f", "2")});
  Error error = DrainExpectingError(path);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message, path + ": entry 'f': duplicate entry");
}

TEST(TarballSourceTest, DuplicateFolderIsError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {Dir("d/"), Dir("d")});
  Error error = DrainExpectingError(path);
  EXPECT_EQ(error.message, path + ": entry 'd': duplicate entry");
}

// (uid_t)-1 is what chown(2) reads as "unchanged": no file can be given
// that owner, so the image could not be installed as signed.
TEST(TarballSourceTest, OwnerChownCannotSetIsError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  TarItem file = File("f", "1");
  file.uid = 4294967295;
  WriteTar(path, {file});
  Error error = DrainExpectingError(path);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message, path +
                               ": f: uid out of range: 4294967295 (owners "
                               "are 0..4294967294)");
  TarItem dir = Dir("d");
  dir.gid = 4294967295;
  WriteTar(path, {dir});
  EXPECT_EQ(DrainExpectingError(path).message,
            path +
                ": d: gid out of range: 4294967295 (owners are "
                "0..4294967294)");
  TarItem highest = File("f", "1");
  highest.uid = 4294967294;
  highest.gid = 4294967294;
  WriteTar(path, {highest});
  std::vector<ExpectedEntry> got;
  DrainExpectingError(path, &got);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.uid, 4294967294u);
  EXPECT_EQ(got[0].entry.gid, 4294967294u);
}

TEST(TarballSourceTest, DotDotIsError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {File("../evil", "x")});
  Error error = DrainExpectingError(path);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(error.message, HasSubstr("entry '../evil'"));
  EXPECT_THAT(error.message, HasSubstr("contains '..'"));
}

TEST(TarballSourceTest, NestedDotDotIsError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {File("./a/../../evil", "x")});
  Error error = DrainExpectingError(path);
  EXPECT_THAT(error.message, HasSubstr("contains '..'"));
}

TEST(TarballSourceTest, AbsolutePathIsError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {File("/abs", "x")});
  Error error = DrainExpectingError(path);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(error.message, HasSubstr("entry '/abs'"));
  EXPECT_THAT(error.message, HasSubstr("absolute"));
}

TEST(TarballSourceTest, EmptyComponentIsError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {File("a//b", "x")});
  Error error = DrainExpectingError(path);
  EXPECT_THAT(error.message, HasSubstr("empty component"));
}

TEST(TarballSourceTest, HardlinkTargetWithDotDotIsError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {Hardlink("h", "../etc/shadow")});
  Error error = DrainExpectingError(path);
  EXPECT_THAT(error.message, HasSubstr("entry '../etc/shadow'"));
}

TEST(TarballSourceTest, GarbageFileIsNotATarball) {
  TempDir work;
  std::string path = work.Sub("garbage.tar");
  std::string junk;
  for (int i = 0; i < 200; ++i) {
    junk += "this is not a tarball at all ";
  }
  WriteFile(path, junk);
  Error error = DrainExpectingError(path);
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(error.message, HasSubstr(path + ": not a tarball"));
}

TEST(TarballSourceTest, TruncatedContentIsIoError) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {File("big", std::string(100000, 'b'))});
  ASSERT_EQ(::truncate(path.c_str(), 20000), 0);
  Error error = DrainExpectingError(path);
  EXPECT_EQ(error.code, ErrorCode::kIo);
  EXPECT_THAT(error.message, HasSubstr(path + ": big: "));
}

TEST(TarballSourceTest, MissingPathIsIoError) {
  TempDir work;
  std::string path = work.Sub("missing.tar");
  NullReporter reporter;
  auto source = OpenTarballSource(path, reporter);
  ASSERT_THAT(source, StatusIs(ErrorCode::kIo, HasSubstr(path)));
}

TEST(TarballSourceTest, UnreadContentIsSkipped) {
  TempDir work;
  std::string path = work.Sub("t.tar");
  WriteTar(path, {File("a", std::string(5000, 'a')), File("b", "bee")});
  NullReporter reporter;
  auto source = OpenTarballSource(path, reporter);
  ASSERT_TRUE(source.has_value());
  auto first = (*source)->Next();
  ASSERT_TRUE(first.has_value() && first->has_value());
  auto second = (*source)->Next();
  ASSERT_TRUE(second.has_value() && second->has_value());
  EXPECT_EQ((*second)->entry.path, "b");
  uint8_t buf[16];
  auto n = (*second)->content->Read(buf);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), *n), "bee");
}

}  // namespace
}  // namespace imab::builder
