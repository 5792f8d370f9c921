#include "builder/folder_source.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "builder/rootfs_source.h"
#include "common/read/handles.h"
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

void ExpectSameSequence(const std::vector<ExpectedEntry>& got,
                        const std::vector<ExpectedEntry>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].entry, want[i].entry)
        << "#" << i << "\n got: " << testing::Describe(got[i].entry)
        << "\nwant: " << testing::Describe(want[i].entry);
    EXPECT_EQ(got[i].content, want[i].content) << want[i].entry.path;
  }
}

TEST(FolderSourceTest, YieldsSampleTreeInOrderWithAllFields) {
  TempDir dir;
  testing::BuildSampleRootfs(dir.path());
  RecordingReporter reporter;
  auto source = OpenFolderSource(dir.path().string(), reporter);
  ASSERT_TRUE(source.has_value()) << source.error().message;
  ExpectSameSequence(DrainSource(**source), testing::SampleRootfsEntries());
  EXPECT_TRUE(reporter.warnings.empty());
}

TEST(FolderSourceTest, OpenRootfsPicksFolderAndAcceptsTrailingSlash) {
  TempDir dir;
  testing::BuildSampleRootfs(dir.path());
  NullReporter reporter;
  auto source = OpenRootfs(dir.path().string() + "/", reporter);
  ASSERT_TRUE(source.has_value()) << source.error().message;
  ExpectSameSequence(DrainSource(**source), testing::SampleRootfsEntries());
}

TEST(FolderSourceTest, EmptyFolderYieldsNothing) {
  TempDir dir;
  NullReporter reporter;
  auto source = OpenFolderSource(dir.path().string(), reporter);
  ASSERT_TRUE(source.has_value());
  auto next = (*source)->Next();
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->has_value());
  // Stays at the end.
  auto again = (*source)->Next();
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value());
}

TEST(FolderSourceTest, NonUtf8NameIsKept) {
  TempDir dir;
  std::string name = "\xff\xfe\x80";
  WriteFile(dir.path() / name, "bytes");
  NullReporter reporter;
  auto source = OpenFolderSource(dir.path().string(), reporter);
  ASSERT_TRUE(source.has_value());
  auto got = DrainSource(**source);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.path, name);
  EXPECT_EQ(got[0].content, "bytes");
}

TEST(FolderSourceTest, HardlinkTargetIsFirstPathInWalkOrder) {
  TempDir dir;
  testing::MakeDir(dir.path() / "z", 0755);
  testing::MakeDir(dir.path() / "b", 0755);
  testing::MakeFile(dir.path() / "z" / "first", "data", 0644);
  testing::CheckSys(::link((dir.path() / "z" / "first").c_str(),
                           (dir.path() / "b" / "second").c_str()),
                    "link");
  NullReporter reporter;
  auto source = OpenFolderSource(dir.path().string(), reporter);
  ASSERT_TRUE(source.has_value());
  auto got = DrainSource(**source);
  ASSERT_EQ(got.size(), 4u);
  // "b" sorts before "z", so b/second is the file and z/first the link.
  EXPECT_EQ(got[1].entry.path, "b/second");
  EXPECT_EQ(got[1].entry.type, EntryType::kFile);
  EXPECT_EQ(got[1].content, "data");
  EXPECT_EQ(got[3].entry.path, "z/first");
  EXPECT_EQ(got[3].entry.type, EntryType::kHardlink);
  EXPECT_EQ(got[3].entry.link_target, "b/second");
  EXPECT_EQ(got[3].entry.size, 0u);
}

TEST(FolderSourceTest, SocketIsSkippedWithWarning) {
  TempDir dir;
  WriteFile(dir.path() / "after", "x");
  std::string sock_path = dir.Sub("sock");
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(fd.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock_path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0)
      << std::strerror(errno);
  RecordingReporter reporter;
  auto source = OpenFolderSource(dir.path().string(), reporter);
  ASSERT_TRUE(source.has_value());
  auto got = DrainSource(**source);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.path, "after");
  ASSERT_EQ(reporter.warnings.size(), 1u);
  EXPECT_THAT(reporter.warnings[0], HasSubstr("sock: socket skipped"));
}

TEST(FolderSourceTest, MissingPathIsIoErrorNamingIt) {
  TempDir dir;
  std::string missing = dir.Sub("nope");
  NullReporter reporter;
  auto folder = OpenFolderSource(missing, reporter);
  ASSERT_THAT(folder, StatusIs(ErrorCode::kIo, HasSubstr(missing)));
  auto rootfs = OpenRootfs(missing, reporter);
  ASSERT_THAT(rootfs, StatusIs(ErrorCode::kIo, HasSubstr(missing)));
}

TEST(FolderSourceTest, OpenRootfsRefusesFifo) {
  TempDir dir;
  std::string fifo = dir.Sub("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  NullReporter reporter;
  auto source = OpenRootfs(fifo, reporter);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(source.error().message, fifo + ": not a folder or a tarball");
}

TEST(FolderSourceTest, OpenFolderSourceOnFileIsInvalidArgument) {
  TempDir dir;
  WriteFile(dir.path() / "f", "x");
  NullReporter reporter;
  auto source = OpenFolderSource(dir.Sub("f"), reporter);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code, ErrorCode::kInvalidArgument);
}

// Advances to the one file of a folder holding `content` in "f".
Result<std::optional<SourceEntry>> OpenSingleFile(
    const TempDir& dir, std::unique_ptr<RootfsSource>& source,
    Reporter& reporter) {
  IMAB_ASSIGN_OR_RETURN(source,
                        OpenFolderSource(dir.path().string(), reporter));
  return source->Next();
}

TEST(FolderSourceTest, FileShrinkingWhileReadIsError) {
  TempDir dir;
  WriteFile(dir.path() / "f", "0123456789");
  NullReporter reporter;
  std::unique_ptr<RootfsSource> source;
  auto next = OpenSingleFile(dir, source, reporter);
  ASSERT_TRUE(next.has_value() && next->has_value());
  ASSERT_EQ((*next)->entry.size, 10u);
  ASSERT_EQ(::truncate(dir.Sub("f").c_str(), 4), 0);
  uint8_t buf[64];
  auto first = (*next)->content->Read(buf);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, 4u);
  auto eof = (*next)->content->Read(buf);
  ASSERT_FALSE(eof.has_value());
  EXPECT_EQ(eof.error().code, ErrorCode::kIo);
  EXPECT_EQ(eof.error().message,
            dir.Sub("f") + ": changed size while being read");
}

TEST(FolderSourceTest, FileGrowingWhileReadIsError) {
  TempDir dir;
  WriteFile(dir.path() / "f", "0123");
  NullReporter reporter;
  std::unique_ptr<RootfsSource> source;
  auto next = OpenSingleFile(dir, source, reporter);
  ASSERT_TRUE(next.has_value() && next->has_value());
  WriteFile(dir.path() / "f", "0123456789");
  uint8_t buf[64];
  auto read = (*next)->content->Read(buf);
  ASSERT_FALSE(read.has_value());
  EXPECT_THAT(read.error().message, HasSubstr("changed size while being read"));
}

TEST(FolderSourceTest, PathLongerThanLimitIsError) {
  TempDir dir;
  // 21 levels of 200-byte names: 4220 bytes, over kMaxPathBytes (4096).
  std::string name(200, 'd');
  UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(fd.valid());
  for (int i = 0; i < 21; ++i) {
    ASSERT_EQ(::mkdirat(fd.get(), name.c_str(), 0755), 0);
    fd = UniqueFd(::openat(fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(fd.valid());
  }
  NullReporter reporter;
  auto source = OpenFolderSource(dir.path().string(), reporter);
  ASSERT_TRUE(source.has_value());
  Error error{ErrorCode::kInternal, "none"};
  auto got = DrainSource(**source, &error);
  EXPECT_EQ(got.size(), 20u);
  EXPECT_EQ(error.code, ErrorCode::kLimitExceeded);
  EXPECT_THAT(error.message, HasSubstr("path longer than"));
}

}  // namespace
}  // namespace imab::builder
