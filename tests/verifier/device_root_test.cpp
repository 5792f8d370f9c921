// DeviceRoot: paths under --root resolve as if ROOT were "/", by the
// kernel (openat2 RESOLVE_IN_ROOT) and by the fallback walk alike.
#include "verifier/device/device_root.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;
using imab::testing::TempDir;
using imab::testing::WriteFile;

class DeviceRootTest : public ::testing::TestWithParam<DeviceRoot::Lookup> {
 protected:
  void SetUp() override {
    root_ = fs::canonical(dir_.path()).string() + "/root";
    outside_ = fs::canonical(dir_.path()).string() + "/outside";
    fs::create_directories(root_ + "/etc");
    fs::create_directories(outside_);
    WriteFile(root_ + "/etc/file", "inside\n");
    WriteFile(outside_ + "/file", "outside\n");
  }

  DeviceRoot Open() {
    Result<DeviceRoot> root = DeviceRoot::Open(root_, GetParam());
    EXPECT_TRUE(root.has_value());
    return std::move(*root);
  }

  void Link(const std::string& target, const std::string& name) {
    fs::create_symlink(target, root_ + "/" + name);
  }

  TempDir dir_;
  std::string root_;
  std::string outside_;
};

TEST_P(DeviceRootTest, PlainPathsResolveToTheirRealLocation) {
  DeviceRoot root = Open();
  Result<std::string> file = root.Resolve("/etc/file");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(*file, root_ + "/etc/file");
  Result<std::string> top = root.Resolve("", true);
  ASSERT_TRUE(top.has_value()) << top.error().message;
  EXPECT_EQ(*top, root_);
}

TEST_P(DeviceRootTest, AbsoluteSymlinkTargetsStartAtRoot) {
  Link(outside_, "abs");     // ROOT/abs -> /…/outside: ROOT/…/outside
  Link("/etc", "etc-link");  // ROOT/etc-link -> /etc: ROOT/etc
  DeviceRoot root = Open();
  Result<std::optional<std::string>> abs = root.Find("abs/file");
  ASSERT_TRUE(abs.has_value()) << abs.error().message;
  EXPECT_FALSE(abs->has_value());  // ROOT/…/outside/file does not exist
  Result<std::string> etc = root.Resolve("etc-link/file");
  ASSERT_TRUE(etc.has_value()) << etc.error().message;
  EXPECT_EQ(*etc, root_ + "/etc/file");
}

TEST_P(DeviceRootTest, DotDotStopsAtRoot) {
  Link("../../../outside", "etc/up");  // ROOT/etc/up: ROOT/outside
  DeviceRoot root = Open();
  Result<std::optional<std::string>> up = root.Find("etc/up/file");
  ASSERT_TRUE(up.has_value()) << up.error().message;
  EXPECT_FALSE(up->has_value());
  Result<std::string> file = root.Resolve("../../etc/file");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(*file, root_ + "/etc/file");
  fs::create_directories(root_ + "/outside");
  WriteFile(root_ + "/outside/file", "mirror\n");
  Result<std::string> mirror = root.Resolve("etc/up/file");
  ASSERT_TRUE(mirror.has_value()) << mirror.error().message;
  EXPECT_EQ(*mirror, root_ + "/outside/file");
}

TEST_P(DeviceRootTest, LoopsAndNonFoldersAreErrorsNamingThePath) {
  Link("loop-b", "loop-a");
  Link("loop-a", "loop-b");
  DeviceRoot root = Open();
  Result<std::optional<std::string>> loop = root.Find("loop-a");
  ASSERT_FALSE(loop.has_value());
  EXPECT_THAT(loop.error().message, HasSubstr(root_ + "/loop-a: "));
  Result<std::optional<std::string>> file = root.Find("etc/file", true);
  ASSERT_FALSE(file.has_value());
  Result<std::optional<std::string>> through = root.Find("etc/file/x");
  ASSERT_FALSE(through.has_value());
}

TEST_P(DeviceRootTest, ResolveForCreateKeepsTheLastNameUnfollowed) {
  Link(outside_ + "/file", "etc/target");  // dangling inside ROOT
  Link(outside_, "dir");
  DeviceRoot root = Open();
  Result<std::string> target = root.ResolveForCreate("etc/target");
  ASSERT_TRUE(target.has_value()) << target.error().message;
  EXPECT_EQ(*target, root_ + "/etc/target");
  // The folder part must resolve, inside ROOT.
  EXPECT_FALSE(root.ResolveForCreate("dir/file").has_value());
  EXPECT_FALSE(root.ResolveForCreate("etc/..").has_value());
}

TEST_P(DeviceRootTest, MakeDirectoriesStaysInsideRoot) {
  Link(outside_, "var");  // ROOT/var -> /…/outside, missing inside ROOT
  DeviceRoot root = Open();
  Result<std::string> made = root.MakeDirectories("srv/a/b");
  ASSERT_TRUE(made.has_value()) << made.error().message;
  EXPECT_EQ(*made, root_ + "/srv/a/b");
  EXPECT_TRUE(fs::is_directory(*made));
  Result<std::string> var = root.MakeDirectories("var/lib/imabundle");
  ASSERT_FALSE(var.has_value());
  EXPECT_THAT(var.error().message,
              HasSubstr("var: a symlink to a missing folder"));
  EXPECT_FALSE(fs::exists(outside_ + "/lib"));
  // Once its target exists inside ROOT, the symlink is followed there.
  fs::create_directories(root_ + outside_);
  Result<std::string> through = root.MakeDirectories("var/lib");
  ASSERT_TRUE(through.has_value()) << through.error().message;
  EXPECT_EQ(*through, root_ + outside_ + "/lib");
  EXPECT_FALSE(fs::exists(outside_ + "/lib"));
}

INSTANTIATE_TEST_SUITE_P(Lookups, DeviceRootTest,
                         ::testing::Values(DeviceRoot::Lookup::kKernel,
                                           DeviceRoot::Lookup::kWalk));

}  // namespace
}  // namespace imab::verifier
