// ReadBackImage on a plain folder: each kind of difference it must catch.
#include "verifier/slots/image_readback.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "common/read/digest.h"
#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;

class ImageReadBackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Sub("image");
    std::filesystem::create_directories(root_ + "/etc");
    ::chmod((root_ + "/etc").c_str(), 0755);
    testing::WriteFile(root_ + "/etc/hostname", "box\n");
    ::chmod((root_ + "/etc/hostname").c_str(), 0644);
    std::filesystem::create_symlink("hostname", root_ + "/etc/name");
    if (::setxattr((root_ + "/etc/hostname").c_str(), "user.note", "x", 1, 0) !=
        0) {
      GTEST_SKIP() << "no user xattrs on " << dir_.path();
    }
    Entry etc;
    etc.path = "etc";
    etc.type = EntryType::kDir;
    etc.mode = 0755;
    Entry file;
    file.path = "etc/hostname";
    file.mode = 0644;
    file.size = 4;
    file.sha256 = *Sha256Of(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("box\n"), 4));
    file.xattrs = {{"user.note", "x"}};
    Entry link;
    link.path = "etc/name";
    link.type = EntryType::kSymlink;
    link.mode = 0777;
    link.link_target = "hostname";
    for (Entry* entry : {&etc, &file, &link}) {
      entry->uid = ::geteuid();
      entry->gid = ::getegid();
    }
    entries_ = {etc, file, link};
  }

  std::string Check() {
    Status status = ReadBackImage(root_, entries_, "slot b");
    return status.ok() ? "" : status.error().message;
  }

  testing::TempDir dir_;
  std::string root_;
  std::vector<Entry> entries_;
};

TEST_F(ImageReadBackTest, TheImageAsWrittenPasses) { EXPECT_EQ(Check(), ""); }

TEST_F(ImageReadBackTest, AnExtraPathIsNamed) {
  testing::WriteFile(root_ + "/etc/extra", "");
  EXPECT_EQ(Check(), "read-back of slot b: etc/extra: not in the manifest");
}

TEST_F(ImageReadBackTest, ContentModeXattrsAndTargetsAreCompared) {
  entries_[1].xattrs = {{"user.note", "y"}};
  EXPECT_THAT(Check(), HasSubstr("etc/hostname: user.note differs"));
  entries_[1].xattrs = {{"user.note", "x"}, {"user.other", "z"}};
  EXPECT_THAT(Check(), HasSubstr("etc/hostname: user.other is missing"));
  entries_[1].xattrs = {};
  EXPECT_THAT(Check(), HasSubstr("user.note is not in the manifest"));
  entries_[1].xattrs = {{"user.note", "x"}};
  entries_[1].mode = 0600;
  EXPECT_THAT(Check(), HasSubstr("etc/hostname: mode differs"));
  entries_[1].mode = 0644;
  entries_[1].sha256[0] ^= 1;
  EXPECT_THAT(Check(), HasSubstr("etc/hostname: content differs"));
  entries_[1].sha256[0] ^= 1;
  entries_[2].link_target = "elsewhere";
  EXPECT_THAT(Check(), HasSubstr("etc/name: symlink target differs"));
  entries_[2].link_target = "hostname";
  entries_[0].uid += 1;
  EXPECT_THAT(Check(), HasSubstr("etc: owner"));
}

TEST_F(ImageReadBackTest, AMissingEntryAndTheCountOfOthers) {
  std::filesystem::remove(root_ + "/etc/name");
  entries_[1].mode = 0600;
  EXPECT_EQ(Check(),
            "read-back of slot b: etc/hostname: mode differs (and 1 more "
            "differences)");
}

}  // namespace
}  // namespace imab::verifier
