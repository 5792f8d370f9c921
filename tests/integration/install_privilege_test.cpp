// Issue 12, review item B, end to end: an install that cannot write the
// image's owners or security.* xattrs must not activate it. Run as an
// unprivileged user (setpriv), `imab-verify install` used to skip them with
// a warning and switch slots: the device then booted files without their
// IMA/EVM signatures and appraised nothing successfully.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

constexpr char kNobody[] = "65534";

class InstallPrivilegeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root to drop to another user with setpriv";
    }
    if (!HaveTool("setpriv")) {
      GTEST_SKIP() << "setpriv (util-linux) not installed";
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    device_ =
        std::make_unique<TestDevice>(dir_.Sub("device"), *keys_, dir_.Sub(""));
    rootfs_ = dir_.Sub("rootfs");
    SampleTreeOptions small;
    small.big_file_bytes = 1000;
    small.device_nodes = false;
    MakeSampleTree(rootfs_, small);
    ASSERT_EQ(device_->Init().exit_code, 0);
  }

  // The device and the bundle handed to the unprivileged user, so that
  // only privilege, not file permissions, stands in the way.
  CommandResult InstallAsNobody(const std::string& bundle) {
    fs::permissions(dir_.path(), fs::perms(0755));
    fs::permissions(bundle, fs::perms(0644));
    EXPECT_EQ(RunShell(std::string("chown -R ") + kNobody + ":" + kNobody +
                       " " + ShellQuote(device_->root()))
                  .exit_code,
              0);
    return RunShell(std::string("setpriv --reuid=") + kNobody +
                    " --regid=" + kNobody + " --clear-groups " +
                    device_->InstallCommand(bundle));
  }

  void ExpectNothingActivated() {
    EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
    EXPECT_TRUE(fs::is_empty(device_->SlotPath("slot-b")));
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  std::unique_ptr<TestDevice> device_;
  std::string rootfs_;
};

// The reviewer's example: a signed root-owned image, installed by nobody.
TEST_F(InstallPrivilegeTest, UnprivilegedInstallOfARootOwnedImageIsRefused) {
  std::string bundle = dir_.Sub("b.imab");
  BuildVersion(rootfs_, bundle, *keys_, "1.0", device_->ImaBuildFlags());
  CommandResult install = InstallAsNobody(bundle);
  EXPECT_NE(install.exit_code, 0) << install.out;
  EXPECT_THAT(install.err, HasSubstr("install must run as root: "));
  EXPECT_THAT(install.err, HasSubstr(" needs owner 0:0"));
  EXPECT_THAT(install.err, HasSubstr("nothing was installed"));
  ExpectNothingActivated();
}

// Variant: every file already belongs to the installing user; the
// security.ima / security.evm signatures alone still need privilege.
TEST_F(InstallPrivilegeTest, UnprivilegedInstallDropsNoSecurityXattrs) {
  ASSERT_EQ(RunShell(std::string("chown -R ") + kNobody + ":" + kNobody + " " +
                     ShellQuote(rootfs_))
                .exit_code,
            0);
  std::string bundle = dir_.Sub("owned.imab");
  BuildVersion(rootfs_, bundle, *keys_, "1.0", device_->ImaBuildFlags());
  CommandResult install = InstallAsNobody(bundle);
  EXPECT_NE(install.exit_code, 0) << install.out;
  EXPECT_THAT(install.err, HasSubstr("install must run as root: "));
  EXPECT_THAT(install.err, HasSubstr(" needs security."));
  EXPECT_THAT(install.err, Not(HasSubstr("needs owner")));
  ExpectNothingActivated();
}

}  // namespace
}  // namespace imab::testing
