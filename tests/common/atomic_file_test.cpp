#include "common/read/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// Names in `dir` other than `keep`: a temporary left behind shows here.
std::vector<std::string> OtherNames(const TempDir& dir,
                                    const std::string& keep) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().filename() != keep) {
      names.push_back(e.path().filename().string());
    }
  }
  return names;
}

TEST(AtomicFileTest, NothingAppearsUntilCommit) {
  TempDir dir;
  const std::string path = dir.Sub("out");
  Result<AtomicFile> file = AtomicFile::Create(path, 0640);
  ASSERT_TRUE(file.has_value()) << file.error().message;
  ASSERT_TRUE(file->Write("new content").ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_TRUE(file->Commit().ok());
  EXPECT_EQ(ReadFile(path), "new content");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(OtherNames(dir, "out").empty());
}

TEST(AtomicFileTest, AnAbandonedFileLeavesTheOldContentAndNoTemporary) {
  TempDir dir;
  const std::string path = dir.Sub("out");
  WriteFile(path, "old");
  {
    Result<AtomicFile> file = AtomicFile::Create(path);
    ASSERT_TRUE(file.has_value()) << file.error().message;
    ASSERT_TRUE(file->Write("half of the new").ok());
    ASSERT_EQ(OtherNames(dir, "out").size(), 1u);
    EXPECT_NE(OtherNames(dir, "out")[0].find(kTemporaryInfix),
              std::string::npos);
  }  // a failed build or install drops the file before Commit
  EXPECT_EQ(ReadFile(path), "old");
  EXPECT_TRUE(OtherNames(dir, "out").empty());
}

TEST(AtomicFileTest, WriteFileAtomicallyReplacesAndNamesAMissingFolder) {
  TempDir dir;
  const std::string path = dir.Sub("state");
  WriteFile(path, "old");
  ASSERT_TRUE(WriteFileAtomically(path, "new").ok());
  EXPECT_EQ(ReadFile(path), "new");
  Status missing = WriteFileAtomically(dir.Sub("none/state"), "x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  EXPECT_EQ(missing.error().message.rfind(dir.Sub("none") + ": ", 0), 0u)
      << missing.error().message;
}

TEST(AtomicFileTest, ReplaceSymlinkAtomicallyRepointsTheLink) {
  TempDir dir;
  const std::string link = dir.Sub("active");
  ASSERT_TRUE(ReplaceSymlinkAtomically(link, "slot-a").ok());
  EXPECT_EQ(std::filesystem::read_symlink(link), "slot-a");
  ASSERT_TRUE(ReplaceSymlinkAtomically(link, "slot-b").ok());
  EXPECT_EQ(std::filesystem::read_symlink(link), "slot-b");
  EXPECT_TRUE(OtherNames(dir, "active").empty());
}

}  // namespace
}  // namespace imab
