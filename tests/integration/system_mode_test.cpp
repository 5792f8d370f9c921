// System mode: `device init`, `install` and `status` without --root work on
// "/" and /etc/imabundle/device.conf. Run in a private mount namespace,
// chrooted into a scratch tree (ScratchSystem), so the host's "/" is never
// written; the test checks that it was not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/scratch_system.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

// What a system-mode command would write on this host, as a listing
// (names, sizes, times) to compare before and after; "missing" for a path
// that is not there.
std::string HostListing(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) {
    return path + ": missing\n";
  }
  std::string out;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto time = fs::last_write_time(it->path(), ec).time_since_epoch();
    out += it->path().string() + " " +
           std::to_string(it->is_regular_file() ? it->file_size(ec) : 0) + " " +
           std::to_string(time.count()) + "\n";
  }
  return path + ":\n" + out;
}

std::string HostSnapshot() {
  return HostListing("/etc/imabundle") + HostListing("/var/lib/imabundle");
}

class SystemModeTest : public DeviceTest {
 protected:
  void SetUp() override {
    const std::string why = ScratchSystem::Unavailable();
    if (!why.empty()) {
      GTEST_SKIP() << why;
    }
    SampleTreeOptions small;
    small.big_file_bytes = 1u << 16;
    MakeSampleTree(rootfs_, small);
    BuildVersion(rootfs_, dir_.Sub("v1.imab"), *keys_, "1.0",
                 device_->ImaBuildFlags());
    system_ = std::make_unique<ScratchSystem>(scratch_.Sub("root"));
    system_->ShareReadOnly(dir_.path().string(), "/input");
    system_->ShareReadOnly(fs::path(VerifyBin()).parent_path().string(),
                           "/opt/imab");
  }

  // `path` (below the test folder) as the scratch system sees it.
  std::string Input(const std::string& path) const {
    return "/input/" + fs::path(path)
                           .lexically_normal()
                           .lexically_relative(dir_.path())
                           .string();
  }

  CommandResult Verify(const std::string& arguments) const {
    return system_->Run("/opt/imab/imab-verify " + arguments);
  }

  std::string InitArguments() const {
    return "device init --compatible test-board --release-ca " +
           Input(keys_->ca().cert_path) + " --kernel-ca " +
           Input(device_->kernel_ca().cert_path) + " --ima-cert " +
           Input(dir_.Sub("ima.der"));
  }

  TempDir scratch_;
  std::unique_ptr<ScratchSystem> system_;
};

TEST_F(SystemModeTest, InitInstallAndStatusUseTheRunningSystem) {
  const std::string before = HostSnapshot();
  CommandResult init = Verify(InitArguments());
  ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
  EXPECT_THAT(init.out, HasSubstr("initialised / for test-board"));
  EXPECT_TRUE(
      fs::is_regular_file(system_->HostPath("/etc/imabundle/device.conf")));

  CommandResult install = Verify("install /input/v1.imab --no-time-check");
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_THAT(install.out, HasSubstr("into slot b"));
  const std::string slots = system_->HostPath("/var/lib/imabundle");
  EXPECT_EQ(fs::read_symlink(slots + "/active"), "slot-b");
  EXPECT_TRUE(fs::is_regular_file(slots + "/slot-b/bin/sh"));

  CommandResult status = Verify("status");
  ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_THAT(status.out, HasSubstr("device: / (test-board)"));
  EXPECT_THAT(status.out, HasSubstr("slot b (active): version 1.0"));
  EXPECT_THAT(status.out, HasSubstr("consistent: yes"));
  // Leaving --root out is the same as naming "/".
  CommandResult explicit_root = Verify("status --root /");
  EXPECT_EQ(explicit_root.out, status.out);

  EXPECT_EQ(HostSnapshot(), before);
}

// The namespace's binds are read-only: a command that tries to write the
// host's system folders or the shared inputs is refused, and the host
// never sees the scratch tree's mounts.
TEST_F(SystemModeTest, TheHostStaysOutOfReach) {
  CommandResult write = system_->Run(
      "touch /usr/imab-system-mode-probe || echo usr-refused; "
      "touch /input/probe || echo input-refused");
  EXPECT_THAT(write.out, HasSubstr("usr-refused"));
  EXPECT_THAT(write.out, HasSubstr("input-refused"));
  EXPECT_FALSE(fs::exists("/usr/imab-system-mode-probe"));
  EXPECT_FALSE(fs::exists(dir_.Sub("probe")));
  CommandResult mounts = RunShell("grep -c " + ShellQuote(system_->tree()) +
                                  " /proc/self/mountinfo");
  EXPECT_EQ(mounts.out, "0\n");
}

}  // namespace
}  // namespace imab::testing
