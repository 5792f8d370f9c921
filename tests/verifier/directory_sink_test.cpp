// DirectorySink's check after each metadata write: what the file system
// holds must be what the record says (issue 12, item 2). The manifest
// reader refuses owner 2^32-1, so these tests hand the sink such a record
// directly: chown(2) accepts it and changes nothing.
#include "verifier/slots/directory_sink.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

namespace fs = std::filesystem;
using imab::testing::TempDir;

constexpr uint32_t kUnchanged = 4294967295u;  // (uid_t)-1

class DirectorySinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "owners are only written (and checked) as root";
    }
    auto sink = DirectorySink::Create(dir_.Sub("tree"), reporter_);
    ASSERT_TRUE(sink.has_value()) << sink.error().message;
    sink_ = std::move(*sink);
    ManifestHeader header;
    header.created = 1700000000;
    ASSERT_TRUE(sink_->Start(header).ok());
  }

  // Writes `entry` (a file gets "x" as content) and returns End's status.
  Status Write(const Entry& entry) {
    Status begun = sink_->Begin(entry);
    if (!begun.ok()) {
      return begun;
    }
    if (entry.type == EntryType::kFile) {
      const uint8_t x = 'x';
      Status content = sink_->Content(std::span<const uint8_t>(&x, 1));
      if (!content.ok()) {
        return content;
      }
    }
    return sink_->End(entry);
  }

  static Entry Make(EntryType type, const std::string& path, uint32_t mode,
                    uint32_t uid, uint32_t gid) {
    Entry e;
    e.type = type;
    e.path = path;
    e.mode = mode;
    e.uid = uid;
    e.gid = gid;
    e.size = type == EntryType::kFile ? 1 : 0;
    e.link_target = type == EntryType::kSymlink ? "target" : "";
    return e;
  }

  void ExpectDiffers(const Status& status, const std::string& path,
                     const std::string& what) {
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::kIo);
    EXPECT_EQ(status.error().message,
              sink_->staging_path() + "/" + path +
                  ": written file differs from the manifest: " + what);
  }

  TempDir dir_;
  NullReporter reporter_;
  std::unique_ptr<DirectorySink> sink_;
};

TEST_F(DirectorySinkTest, WrittenMetadataMatchingItsRecordPasses) {
  EXPECT_TRUE(Write(Make(EntryType::kDir, "d", 02755, 12, 34)).ok());
  EXPECT_TRUE(Write(Make(EntryType::kFile, "d/f", 06755, 4294967294u, 7)).ok());
  EXPECT_TRUE(Write(Make(EntryType::kSymlink, "d/l", 0777, 5, 6)).ok());
  EXPECT_TRUE(Write(Make(EntryType::kFifo, "d/p", 0600, 0, 0)).ok());
  Entry null_device = Make(EntryType::kChar, "d/null", 0666, 0, 0);
  null_device.dev_major = 1;
  null_device.dev_minor = 3;
  EXPECT_TRUE(Write(null_device).ok());
  ASSERT_TRUE(sink_->Commit().ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir_.Sub("tree/d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4294967294u);
  EXPECT_EQ(st.st_mode & 07777, 06755u);
}

TEST_F(DirectorySinkTest, AnOwnerChownLeavesUnchangedFailsTheFile) {
  ExpectDiffers(Write(Make(EntryType::kFile, "f", 0644, kUnchanged, 0)), "f",
                "owner 0:0, manifest 4294967295:0");
  sink_->Abort();
  EXPECT_TRUE(fs::is_empty(dir_.path())) << "staging left behind";
}

TEST_F(DirectorySinkTest, AGroupChownLeavesUnchangedFailsSymlinkAndFolder) {
  ExpectDiffers(Write(Make(EntryType::kSymlink, "l", 0777, 0, kUnchanged)), "l",
                "owner 0:0, manifest 0:4294967295");
}

// A folder's metadata is written, and checked, at Commit(), once its
// children exist.
TEST_F(DirectorySinkTest, AFolderIsCheckedAtCommit) {
  ASSERT_TRUE(Write(Make(EntryType::kDir, "d", 0755, kUnchanged, 3)).ok());
  ExpectDiffers(sink_->Commit(), "d", "owner 0:3, manifest 4294967295:3");
}

}  // namespace
}  // namespace imab::verifier
