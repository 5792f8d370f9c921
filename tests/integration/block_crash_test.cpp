// SIGKILL an install onto block slots anywhere: at every mutating system
// call of a small bundle's install (strace fault injection) and at >= 200
// random moments. Afterwards either the old slot is active and primary
// with its state, and its partition is byte for byte what it was, or the
// boot loader starts the new slot and that slot is complete: its state
// recorded and its file system, mounted read-only, the image. Loop
// devices; root only, skipped elsewhere. (The directory-slot sibling is
// install_crash_test.cpp.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "tests/testutil/block_device.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

// Mutating system calls of an install (install_crash_test.cpp's, plus the
// mount calls and what starts mkfs).
const char* const kMutatingSyscalls[] = {
    "write",    "pwrite64", "fsync",   "rename",    "unlink",    "unlinkat",
    "symlink",  "mkdir",    "rmdir",   "chmod",     "fchmod",    "lchown",
    "fchownat", "link",     "mknodat", "lsetxattr", "utimensat", "syncfs",
    "mount",    "umount2",  "unshare", "clone",     "clone3"};

struct Snapshot {
  std::string active;   // "a" / "b"
  std::string primary;  // grubenv's first slot
  std::string state;    // of the active slot
  std::string digest;   // of the active slot's partition
};

struct Outcomes {
  int old_kept = 0;
  int new_primary = 0;  // killed after SetPrimary
  int completed = 0;
};

class BlockCrashTest : public DeviceTest {
 protected:
  void SetUp() override {
    block_ = std::make_unique<BlockTestDevice>(dir_.Sub(""), *device_);
    if (auto why = block_->Attach(8)) {
      GTEST_SKIP() << *why;
    }
    ASSERT_EQ(block_->Init().exit_code, 0);
    for (const char* name : {"a", "b"}) {
      // A small image: few entries, so few kill points per install.
      std::string rootfs = dir_.Sub(std::string("rootfs-") + name);
      PutFile(rootfs, "etc/hostname", std::string("image-") + name + "\n",
              std::filesystem::perms(0644));
      PutFile(rootfs, "usr/bin/tool", "ELF tool\n",
              std::filesystem::perms(0755));
      PutFile(rootfs, "usr/bin/sh", "ELF sh\n", std::filesystem::perms(0755));
      std::filesystem::create_directory_symlink("usr/bin", rootfs + "/bin");
      std::string bundle = dir_.Sub(std::string(name) + ".imab");
      BuildVersion(rootfs, bundle, *keys_, "1.0", device_->ImaBuildFlags());
      std::string image = bundle + ".tree";
      ASSERT_EQ(RunExtract(bundle, keys_->ca().cert_path, image).exit_code, 0);
      images_.push_back(image);
      bundles_.push_back(bundle);
    }
    for (size_t i = 0; i < 2; ++i) {
      CommandResult install =
          device_->Install(bundles_[i], "--allow-reinstall");
      ASSERT_EQ(install.exit_code, 0) << install.err;
      image_of_state_[BundleSha(block_->State(block_->Active()))] = i;
    }
  }

  Snapshot Take() const {
    Snapshot s;
    s.active = block_->Active();
    s.primary = block_->Primary();
    s.state = block_->State(s.active);
    s.digest = block_->PartitionDigest(s.active);
    return s;
  }

  static std::string BundleSha(const std::string& state) {
    size_t at = state.find("bundle-sha256 ");
    return at == std::string::npos ? "" : state.substr(at + 14, 64);
  }

  size_t ActiveImage() const {
    return image_of_state_.at(BundleSha(block_->State(block_->Active())));
  }

  std::string InstallCommand(size_t image) const {
    return device_->InstallCommand(bundles_[image], "--allow-reinstall");
  }

  // The rule of the file's head comment, after an install of `target`
  // from `before` ran (killed or not).
  void CheckAfterKill(const Snapshot& before, size_t target, bool killed,
                      Outcomes& outcomes) {
    const std::string active = block_->Active();
    const std::string primary = block_->Primary();
    const std::string other = before.active == "a" ? "b" : "a";
    if (active == before.active && primary == before.active) {
      ASSERT_TRUE(killed) << "an install that ran to the end did not switch";
      ASSERT_EQ(block_->State(active), before.state);
      ASSERT_EQ(block_->PartitionDigest(active), before.digest)
          << "the active slot's partition changed";
      ++outcomes.old_kept;
      return;
    }
    // The boot loader starts the new slot: it must be complete.
    ASSERT_EQ(primary, other);
    auto image = image_of_state_.find(BundleSha(block_->State(other)));
    ASSERT_NE(image, image_of_state_.end()) << block_->State(other);
    ASSERT_EQ(image->second, target);
    std::vector<std::string> diffs =
        block_->CompareSlot(other, images_[target]);
    ASSERT_TRUE(diffs.empty()) << ::testing::PrintToString(diffs);
    ++(killed ? outcomes.new_primary : outcomes.completed);
    // Killed between SetPrimary and the pointer: the next install starts
    // from the old pointer, which is fine; make the device agree again.
    if (active != other) {
      ASSERT_EQ(RunShell(ShellQuote(VerifyBin()) + " mark-active " + other +
                         " --root " + ShellQuote(device_->root()))
                    .exit_code,
                0);
    }
  }

  std::unique_ptr<BlockTestDevice> block_;
  std::vector<std::string> images_;
  std::vector<std::string> bundles_;
  std::map<std::string, size_t> image_of_state_;
};

// How often the installer's own process calls each mutating syscall.
std::map<std::string, int> CountSyscalls(const std::string& command,
                                         const std::string& log) {
  std::string set;
  for (const char* name : kMutatingSyscalls) {
    set += (set.empty() ? "" : ",") + std::string(name);
  }
  EXPECT_EQ(RunShell(std::string(kUnderPtrace) + "strace -qq -o " +
                     ShellQuote(log) + " -e trace=" + set + " " + command)
                .exit_code,
            0);
  std::map<std::string, int> counts;
  std::string text = ReadFile(log);
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    std::string call = text.substr(at, text.find('(', at) - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (!call.empty() &&
        call.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
            std::string::npos) {
      ++counts[call];
    }
  }
  return counts;
}

TEST_F(BlockCrashTest, KillAtEveryMutatingSyscallKeepsABootableSlot) {
  if (!HaveTool("strace") ||
      RunShell("strace -o /dev/null true").exit_code != 0) {
    GTEST_SKIP() << "strace missing or ptrace not permitted";
  }
  // Only the installer's process is traced (no -f): mkfs, killed with
  // it by PR_SET_PDEATHSIG, is not a kill point of its own.
  std::map<std::string, int> counts =
      CountSyscalls(InstallCommand(1 - ActiveImage()), dir_.Sub("strace.log"));
  int points = 0;
  for (const auto& [name, count] : counts) {
    points += count;
  }
  ASSERT_GT(points, 20);
  Outcomes outcomes;
  for (const auto& [name, count] : counts) {
    for (int n = 1; n <= count; ++n) {
      SCOPED_TRACE(name + " #" + std::to_string(n));
      Snapshot before = Take();
      size_t target = 1 - ActiveImage();
      CommandResult run = RunShell(std::string(kUnderPtrace) +
                                   "strace -qq -o /dev/null -e trace=" + name +
                                   " -e inject=" + name +
                                   ":signal=SIGKILL:when=" + std::to_string(n) +
                                   " " + InstallCommand(target));
      ASSERT_NO_FATAL_FAILURE(
          CheckAfterKill(before, target, run.exit_code != 0, outcomes));
    }
  }
  std::cout << "[ crash    ] block syscall sweep: " << points
            << " kill points, " << outcomes.old_kept << " kept the old slot, "
            << outcomes.new_primary << " after SetPrimary, "
            << outcomes.completed << " completed\n";
  EXPECT_GT(outcomes.old_kept, 0);
}

TEST_F(BlockCrashTest, KillAtRandomMomentsKeepsABootableSlot) {
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(RunShell(InstallCommand(1 - ActiveImage())).exit_code, 0);
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  std::mt19937 random(20261204);
  std::uniform_int_distribution<int64_t> delay(0, took.count());
  constexpr int kKills = 200;
  Outcomes outcomes;
  for (int i = 0; i < kKills; ++i) {
    SCOPED_TRACE("kill " + std::to_string(i));
    Snapshot before = Take();
    size_t target = 1 - ActiveImage();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c",
              ("exec " + InstallCommand(target) + " >/dev/null 2>&1").c_str(),
              nullptr);
      ::_exit(127);
    }
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    bool killed = WIFSIGNALED(status);
    ASSERT_TRUE(killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        << "install failed on its own (status " << status << ")";
    ASSERT_NO_FATAL_FAILURE(CheckAfterKill(before, target, killed, outcomes));
  }
  std::cout << "[ crash    ] block random kills: " << kKills << " within "
            << took.count() << " us, " << outcomes.old_kept
            << " kept the old slot, " << outcomes.new_primary
            << " after SetPrimary, " << outcomes.completed << " completed\n";
  EXPECT_GT(outcomes.old_kept, kKills / 4);
  CommandResult last =
      device_->Install(bundles_[1 - ActiveImage()], "--allow-reinstall");
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_THAT(device_->Status().out, HasSubstr("consistent: yes"));
}

}  // namespace
}  // namespace imab::testing
