// SIGKILL the installer anywhere: at every mutating system call of an
// install (strace fault injection) and at random moments. After each kill
// the active slot must be byte- and xattr-identical to one of the two
// images, with its own state (the old slot and state untouched, or the new
// ones complete), `status` consistent, and the next install must succeed.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/tree_compare.h"

extern char** environ;

namespace imab::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Mutating system calls of an install; the sweep kills at each invocation.
const char* const kMutatingSyscalls[] = {
    "write", "fsync",   "rename", "unlink",    "unlinkat",  "symlink",
    "mkdir", "rmdir",   "chmod",  "fchmod",    "lchown",    "fchownat",
    "link",  "mknodat", "mknod",  "lsetxattr", "utimensat", "syncfs"};

struct Snapshot {
  std::string active;  // "slot-a" / "slot-b"
  std::string state;   // bytes of the active slot's state file
};

struct Outcomes {
  int old_kept = 0;    // killed before the switch
  int new_active = 0;  // killed after the switch
  int completed = 0;   // the kill came too late
};

// Kills do not lose the page cache, so fsync has nothing to prove here; a
// memory file system (when there is one) makes each install ~10x faster.
std::filesystem::path FastTempBase() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) &&
      ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return std::filesystem::temp_directory_path();
}

class InstallCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    device_ =
        std::make_unique<TestDevice>(dir_.Sub("device"), *keys_, dir_.Sub(""));
    SampleTreeOptions small;
    small.big_file_bytes = 512u << 10;
    for (const char* name : {"a", "b"}) {
      std::string rootfs = dir_.Sub(std::string("rootfs-") + name);
      MakeSampleTree(rootfs, small);
      // Same size in both, so both installs make the same system calls.
      WriteFile(rootfs + "/etc/hostname", std::string("image-") + name + "\n");
      std::string bundle = dir_.Sub(std::string(name) + ".imab");
      BuildVersion(rootfs, bundle, *keys_, "1.0", device_->ImaBuildFlags());
      // The image as installed: the build added security.ima/evm.
      std::string image = bundle + ".tree";
      ASSERT_EQ(RunExtract(bundle, keys_->ca().cert_path, image).exit_code, 0);
      images_.push_back(image);
      bundles_.push_back(bundle);
    }
    ASSERT_EQ(device_->Init().exit_code, 0);
    for (size_t i = 0; i < 2; ++i) {
      // Both images are version 1.0: the second is a reinstall.
      CommandResult install =
          device_->Install(bundles_[i], "--allow-reinstall");
      ASSERT_EQ(install.exit_code, 0) << install.err;
      image_of_state_[BundleSha(Take().state)] = i;
    }
  }

  Snapshot Take() const {
    Snapshot s;
    s.active = device_->ActiveSlotName();
    s.state = ReadFile(device_->SlotsDir() + "/" + s.active + ".state");
    return s;
  }

  static std::string BundleSha(const std::string& state) {
    size_t at = state.find("bundle-sha256 ");
    return at == std::string::npos ? "" : state.substr(at + 14, 64);
  }

  // The image (0 or 1) that is active now.
  size_t ActiveImage() { return image_of_state_[BundleSha(Take().state)]; }

  std::vector<std::string> InstallArgv(size_t image) const {
    return {VerifyBin(),     "install",         bundles_[image],    "--root",
            device_->root(), "--no-time-check", "--allow-reinstall"};
  }

  // Checks the device after a kill of an install of `target` that started
  // from `before`, and counts the outcome.
  void CheckAfterKill(const Snapshot& before, size_t target, bool killed,
                      Outcomes& outcomes) {
    Snapshot after = Take();
    CommandResult status = device_->Status();
    ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
    ASSERT_THAT(status.out, HasSubstr("consistent: yes"));
    auto image = image_of_state_.find(BundleSha(after.state));
    ASSERT_NE(image, image_of_state_.end()) << after.state;
    std::vector<std::string> diffs =
        CompareTrees(images_[image->second], device_->SlotPath(after.active));
    ASSERT_TRUE(diffs.empty()) << ::testing::PrintToString(diffs);
    if (after.active == before.active) {
      ASSERT_TRUE(killed) << "an install that ran to the end did not switch";
      ASSERT_EQ(after.state, before.state);
      ++outcomes.old_kept;
      return;
    }
    ASSERT_EQ(image->second, target);
    ++(killed ? outcomes.new_active : outcomes.completed);
  }

  TempDir dir_{FastTempBase()};
  std::unique_ptr<ReleaseKeys> keys_;
  std::unique_ptr<TestDevice> device_;
  std::vector<std::string> images_;  // extracted trees of the two bundles
  std::vector<std::string> bundles_;
  std::map<std::string, size_t> image_of_state_;
};

// Starts `argv` with stdout and stderr on /dev/null.
pid_t Spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for `pid`; true when it died of SIGKILL, false when it exited 0.
bool WaitKilled(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status)) {
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    return true;
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "install failed on its own (status " << status << ")";
  return false;
}

// How often the main thread of one install calls each syscall of
// kMutatingSyscalls (strace counts injections per syscall and thread).
std::map<std::string, int> CountSyscalls(const std::string& command,
                                         const std::string& log) {
  std::string set;
  for (const char* name : kMutatingSyscalls) {
    if (!set.empty()) {
      set += ',';
    }
    set += name;
  }
  EXPECT_EQ(RunShell(std::string(kUnderPtrace) + "strace -f -qq -o " +
                     ShellQuote(log) + " -e trace=" + set + " " + command)
                .exit_code,
            0);
  std::map<std::string, int> counts;
  std::string text = ReadFile(log);
  std::string main_pid = text.substr(0, text.find(' '));
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (line.size() <= main_pid.size() ||
        line.compare(0, main_pid.size(), main_pid) != 0 ||
        line[main_pid.size()] != ' ') {
      continue;
    }
    std::string call = line.substr(main_pid.size());
    call = call.substr(call.find_first_not_of(' '));
    call = call.substr(0, call.find('('));
    // Signal and exit lines ("--- SIGCHLD ...", "+++ exited ...") are not
    // calls; only a plain syscall name may reach a shell command line.
    if (call.empty() ||
        call.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
            std::string::npos) {
      continue;
    }
    ++counts[call];
  }
  return counts;
}

TEST_F(InstallCrashTest, KillAtEveryMutatingSyscallKeepsTheActiveSlot) {
  if (!HaveTool("strace") ||
      RunShell("strace -o /dev/null true").exit_code != 0) {
    GTEST_SKIP() << "strace missing or ptrace not permitted";
  }
  auto command = [&](size_t image) {
    std::string out;
    for (const std::string& arg : InstallArgv(image)) {
      out += ShellQuote(arg) + " ";
    }
    return out;
  };
  size_t target = 1 - ActiveImage();
  std::map<std::string, int> counts =
      CountSyscalls(command(target), dir_.Sub("strace.log"));
  int points = 0;
  for (const auto& [name, count] : counts) {
    points += count;
  }
  ASSERT_GT(points, 50);
  Outcomes outcomes;
  for (const auto& [name, count] : counts) {
    for (int n = 1; n <= count; ++n) {
      SCOPED_TRACE(name + " #" + std::to_string(n));
      Snapshot before = Take();
      target = 1 - ActiveImage();
      CommandResult run = RunShell(
          std::string(kUnderPtrace) +
          "strace -f -qq -o /dev/null -e trace=" + name + " -e inject=" + name +
          ":signal=SIGKILL:when=" + std::to_string(n) + " " + command(target));
      ASSERT_NO_FATAL_FAILURE(
          CheckAfterKill(before, target, run.exit_code != 0, outcomes));
      // Start the next kill from a clean device, so that invocation n of
      // the next run is the same step as in the count.
      CommandResult recover =
          device_->Install(bundles_[1 - ActiveImage()], "--allow-reinstall");
      ASSERT_EQ(recover.exit_code, 0) << recover.err;
    }
  }
  std::cout << "[ crash    ] syscall sweep: " << points << " kill points, "
            << outcomes.old_kept << " kept the old slot, "
            << outcomes.new_active << " after the switch, "
            << outcomes.completed << " completed\n";
  EXPECT_GT(outcomes.old_kept, 0);
}

TEST_F(InstallCrashTest, KillAtRandomMomentsKeepsTheActiveSlot) {
  // Calibrate: how long one uninterrupted install takes, process start
  // included.
  auto start = std::chrono::steady_clock::now();
  ASSERT_FALSE(WaitKilled(Spawn(InstallArgv(1 - ActiveImage()))));
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  std::mt19937 random(20261128);
  std::uniform_int_distribution<int64_t> delay(0, took.count());
  constexpr int kKills = 220;
  Outcomes outcomes;
  for (int i = 0; i < kKills; ++i) {
    SCOPED_TRACE("kill " + std::to_string(i));
    Snapshot before = Take();
    size_t target = 1 - ActiveImage();
    pid_t pid = Spawn(InstallArgv(target));
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
    ::kill(pid, SIGKILL);
    bool killed = WaitKilled(pid);
    ASSERT_NO_FATAL_FAILURE(CheckAfterKill(before, target, killed, outcomes));
  }
  std::cout << "[ crash    ] random kills: " << kKills << " within "
            << took.count() << " us, " << outcomes.old_kept
            << " kept the old slot, " << outcomes.new_active
            << " after the switch, " << outcomes.completed
            << " completed before the kill\n";
  EXPECT_GT(outcomes.old_kept, kKills / 4);
  // And the device still installs.
  CommandResult last =
      device_->Install(bundles_[1 - ActiveImage()], "--allow-reinstall");
  ASSERT_EQ(last.exit_code, 0) << last.err;
  CommandResult status = device_->Status();
  EXPECT_THAT(status.out, Not(HasSubstr("interrupted")));
}

}  // namespace
}  // namespace imab::testing
