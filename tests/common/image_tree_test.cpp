#include "common/read/image_tree.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/read/limits.h"

namespace imab {
namespace {

using ::testing::HasSubstr;

Entry Make(std::string path, EntryType type, std::string target = {}) {
  Entry e;
  e.path = std::move(path);
  e.type = type;
  e.link_target = std::move(target);
  return e;
}

void ExpectRejected(const Status& s, ErrorCode code, const std::string& text) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, code);
  EXPECT_THAT(s.error().message, HasSubstr(text));
}

TEST(CheckCanonicalPathTest, AcceptsOrdinaryPaths) {
  EXPECT_TRUE(CheckCanonicalPath("usr").ok());
  EXPECT_TRUE(CheckCanonicalPath("usr/lib/libc.so.6").ok());
  EXPECT_TRUE(CheckCanonicalPath("...").ok());
  EXPECT_TRUE(CheckCanonicalPath("a/.hidden/..x").ok());
  EXPECT_TRUE(CheckCanonicalPath("new\nline/\xff\xfe").ok());
}

TEST(CheckCanonicalPathTest, RejectsEmpty) {
  ExpectRejected(CheckCanonicalPath(""), ErrorCode::kMalformed, "empty");
}

TEST(CheckCanonicalPathTest, RejectsAbsolute) {
  ExpectRejected(CheckCanonicalPath("/etc/passwd"), ErrorCode::kMalformed,
                 "absolute");
}

TEST(CheckCanonicalPathTest, RejectsDotDot) {
  ExpectRejected(CheckCanonicalPath(".."), ErrorCode::kMalformed,
                 "contains '..'");
  ExpectRejected(CheckCanonicalPath("a/../../etc"), ErrorCode::kMalformed,
                 "contains '..'");
}

TEST(CheckCanonicalPathTest, RejectsDot) {
  ExpectRejected(CheckCanonicalPath("./a"), ErrorCode::kMalformed,
                 "contains '.'");
  ExpectRejected(CheckCanonicalPath("a/."), ErrorCode::kMalformed,
                 "contains '.'");
}

TEST(CheckCanonicalPathTest, RejectsDoubleSlash) {
  ExpectRejected(CheckCanonicalPath("a//b"), ErrorCode::kMalformed,
                 "empty component");
}

TEST(CheckCanonicalPathTest, RejectsTrailingSlash) {
  ExpectRejected(CheckCanonicalPath("a/b/"), ErrorCode::kMalformed,
                 "empty component");
}

TEST(CheckCanonicalPathTest, RejectsNul) {
  ExpectRejected(CheckCanonicalPath(std::string("a\0b", 3)),
                 ErrorCode::kMalformed, "NUL");
}

TEST(CheckCanonicalPathTest, PathLengthLimit) {
  // 100-byte components, the last one padded to reach exactly 4096 bytes.
  std::string at_limit;
  while (at_limit.size() + 101 < kMaxPathBytes) {
    at_limit += std::string(100, 'p') + "/";
  }
  at_limit += std::string(kMaxPathBytes - at_limit.size(), 'q');
  ASSERT_EQ(at_limit.size(), kMaxPathBytes);
  EXPECT_TRUE(CheckCanonicalPath(at_limit).ok());
  ExpectRejected(CheckCanonicalPath(at_limit + "q"), ErrorCode::kLimitExceeded,
                 "path longer than 4096");
}

TEST(CheckCanonicalPathTest, ComponentLengthLimit) {
  EXPECT_TRUE(CheckCanonicalPath("a/" + std::string(255, 'c')).ok());
  ExpectRejected(CheckCanonicalPath("a/" + std::string(256, 'c')),
                 ErrorCode::kLimitExceeded, "component longer than 255");
}

TEST(ParentPathTest, Parents) {
  EXPECT_EQ(ParentPath("usr"), "");
  EXPECT_EQ(ParentPath("usr/lib"), "usr");
  EXPECT_EQ(ParentPath("usr/lib/x.so"), "usr/lib");
}

TEST(ImageTreeTest, AdmitsAWellFormedImage) {
  ImageTree tree;
  EXPECT_TRUE(tree.Admit(Make("usr", EntryType::kDir)).ok());
  EXPECT_TRUE(tree.Admit(Make("usr/bin", EntryType::kDir)).ok());
  EXPECT_TRUE(tree.Admit(Make("usr/bin/sh", EntryType::kFile)).ok());
  EXPECT_TRUE(
      tree.Admit(Make("usr/bin/bash", EntryType::kHardlink, "usr/bin/sh"))
          .ok());
  EXPECT_TRUE(tree.Admit(Make("sh", EntryType::kSymlink, "/usr/bin/sh")).ok());
  EXPECT_TRUE(tree.Admit(Make("usr/null", EntryType::kChar)).ok());
  EXPECT_EQ(tree.size(), 6u);
  ASSERT_NE(tree.Find("usr/bin/bash"), nullptr);
  EXPECT_EQ(*tree.Find("usr/bin/bash"), EntryType::kHardlink);
  EXPECT_EQ(tree.Find("usr/missing"), nullptr);
}

TEST(ImageTreeTest, FindNodeKeepsMetadata) {
  ImageTree tree;
  Entry file = Make("f", EntryType::kFile);
  file.mode = 04755;
  file.uid = 7;
  file.gid = 9;
  ASSERT_TRUE(tree.Admit(file).ok());
  const ImageTree::Node* node = tree.FindNode("f");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->type, EntryType::kFile);
  EXPECT_EQ(node->mode, 04755u);
  EXPECT_EQ(node->uid, 7u);
  EXPECT_EQ(node->gid, 9u);
  EXPECT_EQ(tree.FindNode("g"), nullptr);
}

TEST(ImageTreeTest, RejectsNonCanonicalPath) {
  ImageTree tree;
  ExpectRejected(tree.Admit(Make("/abs", EntryType::kFile)),
                 ErrorCode::kMalformed, "absolute");
  ExpectRejected(tree.Admit(Make("../x", EntryType::kFile)),
                 ErrorCode::kMalformed, "'..'");
  EXPECT_EQ(tree.size(), 0u);
}

TEST(ImageTreeTest, RejectsDuplicate) {
  ImageTree tree;
  ASSERT_TRUE(tree.Admit(Make("etc", EntryType::kDir)).ok());
  ExpectRejected(tree.Admit(Make("etc", EntryType::kDir)),
                 ErrorCode::kMalformed, "duplicate entry");
  EXPECT_EQ(tree.size(), 1u);
}

TEST(ImageTreeTest, RejectsMissingParent) {
  ImageTree tree;
  ExpectRejected(tree.Admit(Make("etc/passwd", EntryType::kFile)),
                 ErrorCode::kMalformed,
                 "parent folder is not an earlier entry");
  EXPECT_EQ(tree.Find("etc/passwd"), nullptr);
}

TEST(ImageTreeTest, RejectsParentSymlink) {
  ImageTree tree;
  ASSERT_TRUE(tree.Admit(Make("etc", EntryType::kSymlink, "/tmp")).ok());
  ExpectRejected(tree.Admit(Make("etc/passwd", EntryType::kFile)),
                 ErrorCode::kMalformed, "parent 'etc' is a symlink");
}

TEST(ImageTreeTest, RejectsParentFile) {
  ImageTree tree;
  ASSERT_TRUE(tree.Admit(Make("etc", EntryType::kFile)).ok());
  ExpectRejected(tree.Admit(Make("etc/passwd", EntryType::kDir)),
                 ErrorCode::kMalformed, "parent 'etc' is a file");
}

TEST(ImageTreeTest, RejectsHardlinkToMissingTarget) {
  ImageTree tree;
  ExpectRejected(tree.Admit(Make("h", EntryType::kHardlink, "nothing")),
                 ErrorCode::kMalformed, "not an earlier regular file");
  EXPECT_EQ(tree.size(), 0u);
}

TEST(ImageTreeTest, RejectsHardlinkToLaterTarget) {
  ImageTree tree;
  ExpectRejected(tree.Admit(Make("h", EntryType::kHardlink, "later")),
                 ErrorCode::kMalformed, "not an earlier regular file");
  ASSERT_TRUE(tree.Admit(Make("later", EntryType::kFile)).ok());
  // Only now is the target earlier.
  EXPECT_TRUE(tree.Admit(Make("h", EntryType::kHardlink, "later")).ok());
}

TEST(ImageTreeTest, RejectsHardlinkToFolder) {
  ImageTree tree;
  ASSERT_TRUE(tree.Admit(Make("d", EntryType::kDir)).ok());
  ExpectRejected(tree.Admit(Make("h", EntryType::kHardlink, "d")),
                 ErrorCode::kMalformed, "not an earlier regular file");
}

TEST(ImageTreeTest, RejectsHardlinkToNonCanonicalTarget) {
  ImageTree tree;
  ExpectRejected(tree.Admit(Make("h", EntryType::kHardlink, "../etc/shadow")),
                 ErrorCode::kMalformed, "'..'");
}

TEST(ImageTreeTest, RejectsEmptySymlinkTarget) {
  ImageTree tree;
  ExpectRejected(tree.Admit(Make("s", EntryType::kSymlink, "")),
                 ErrorCode::kMalformed, "symlink target");
  EXPECT_EQ(tree.Find("s"), nullptr);
}

TEST(ImageTreeTest, RejectsOverlongSymlinkTarget) {
  ImageTree tree;
  EXPECT_TRUE(tree.Admit(Make("ok", EntryType::kSymlink,
                              std::string(kMaxPathBytes, 'x')))
                  .ok());
  ExpectRejected(tree.Admit(Make("s", EntryType::kSymlink,
                                 std::string(kMaxPathBytes + 1, 'x'))),
                 ErrorCode::kMalformed, "symlink target");
}

TEST(ImageTreeTest, RejectsSymlinkTargetWithNul) {
  ImageTree tree;
  ExpectRejected(
      tree.Admit(Make("s", EntryType::kSymlink, std::string("a\0b", 3))),
      ErrorCode::kMalformed, "symlink target");
}

}  // namespace
}  // namespace imab
