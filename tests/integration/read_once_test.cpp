// A bundle changed in place while `imab-verify install` reads it (issue 12
// item 8). The verifier must read the manifest once, into a private copy:
// whatever the file says later, the device ends up with the signed image
// or with its old images untouched, never with an erased fallback slot.
//
// The change is made at an exact moment: fanotify permission events stop
// the installer at each read of the bundle, /proc/TID/syscall tells which
// bytes it is about to read, and the test rewrites the file before letting
// the read go on. Needs CAP_SYS_ADMIN (else GTEST_SKIP).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/read/bundle_container.h"
#include "common/read/byte_source.h"
#include "common/read/handles.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/tree_compare.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

// pread64's number in /proc/TID/syscall (-1: unknown here, offsets are then
// never known and the tests fail their "tampered" precondition loudly).
#if defined(__x86_64__)
constexpr long kPread64 = 17;
#elif defined(__aarch64__)
constexpr long kPread64 = 67;
#else
constexpr long kPread64 = -1;
#endif

struct ReadAt {
  uint64_t offset = 0;
  uint64_t count = 0;
  bool known = false;  // false when the blocked call is not a pread64
};

// The pread64 thread `tid` is blocked in, from /proc/TID/syscall
// ("NR ARG1 ARG2 ARG3 ARG4 ...", the arguments in hex).
ReadAt BlockedRead(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/syscall");
  long nr = -1;
  std::string fd, buf, count, pos;
  in >> nr >> fd >> buf >> count >> pos;
  if (!in || nr != kPread64) {
    return {};
  }
  return {std::stoull(pos, nullptr, 16), std::stoull(count, nullptr, 16), true};
}

// Called before each read of the watched file is allowed to proceed.
using BeforeRead = std::function<void(const ReadAt&)>;

struct Watched {
  bool supported = true;
  CommandResult result;
};

// Runs `command` while every read of `path` first goes through `before`.
Watched RunWatched(const std::string& command, const std::string& path,
                   const BeforeRead& before) {
  Watched watched;
  UniqueFd fan(fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_REPORT_TID,
                             O_RDONLY | O_LARGEFILE));
  if (!fan.valid() || fanotify_mark(fan.get(), FAN_MARK_ADD, FAN_ACCESS_PERM,
                                    AT_FDCWD, path.c_str()) != 0) {
    watched.supported = false;
    return watched;
  }
  const std::string out = path + ".out", err = path + ".err";
  pid_t child = fork();
  if (child == 0) {
    std::string full =
        command + " >" + ShellQuote(out) + " 2>" + ShellQuote(err);
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::minutes(2);
  int status = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      break;
    }
    pollfd p{fan.get(), POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) {
      continue;
    }
    alignas(fanotify_event_metadata) char buffer[4096];
    ssize_t n = read(fan.get(), buffer, sizeof buffer);
    auto* event = reinterpret_cast<fanotify_event_metadata*>(buffer);
    while (n > 0 && FAN_EVENT_OK(event, n)) {
      if ((event->mask & FAN_ACCESS_PERM) != 0) {
        before(BlockedRead(event->pid));
        fanotify_response allow{event->fd, FAN_ALLOW};
        EXPECT_EQ(write(fan.get(), &allow, sizeof allow),
                  static_cast<ssize_t>(sizeof allow));
      }
      close(event->fd);
      event = FAN_EVENT_NEXT(event, n);
    }
  }
  watched.result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  watched.result.out = ReadFile(out);
  watched.result.err = ReadFile(err);
  return watched;
}

// How many bytes of the manifest member `read` covers.
uint64_t Overlap(const ReadAt& read, const BundleLayout& layout) {
  if (!read.known) {
    return 0;
  }
  uint64_t begin = std::max(read.offset, layout.manifest_offset);
  uint64_t end = std::min(read.offset + read.count,
                          layout.manifest_offset + layout.manifest_size);
  return end > begin ? end - begin : 0;
}

BundleLayout LayoutOf(const std::string& bundle) {
  auto source = FileByteSource::Open(bundle);
  EXPECT_TRUE(source.has_value());
  auto layout = ReadBundleLayout(**source);
  EXPECT_TRUE(layout.has_value());
  return *layout;
}

// Writes `was` flipped to another hex digit at `at` of the file, in place.
// Never reads the file: a read would wait for this very process's answer.
void FlipHexDigit(const std::string& path, uint64_t at, char was) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  char flipped = was == '0' ? '1' : '0';
  ASSERT_EQ(pwrite(fd.get(), &flipped, 1, static_cast<off_t>(at)), 1);
}

// Every name below `root` with its type, mode, size, times and content
// (or link target), one line each: two equal snapshots mean nothing in the
// tree was written, replaced or touched.
std::string Snapshot(const std::string& root) {
  std::string out;
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    names.push_back(e.path().string());
  }
  names.push_back(root);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    struct stat st {};
    EXPECT_EQ(lstat(name.c_str(), &st), 0) << name;
    std::ostringstream line;
    line << name << " ino " << st.st_ino << " mode " << st.st_mode << " size "
         << st.st_size << " mtime " << st.st_mtim.tv_sec << "."
         << st.st_mtim.tv_nsec << " ctime " << st.st_ctim.tv_sec << "."
         << st.st_ctim.tv_nsec;
    if (S_ISREG(st.st_mode)) {
      line << " content " << std::hash<std::string>{}(ReadFile(name));
    } else if (S_ISLNK(st.st_mode)) {
      line << " -> " << fs::read_symlink(name).string();
    }
    out += line.str() + "\n";
  }
  return out;
}

// The lines of `after` not in `before` (what changed), at most five.
std::string Changed(const std::string& before, const std::string& after) {
  std::istringstream lines(after);
  std::string line, out;
  int shown = 0;
  while (std::getline(lines, line) && shown < 5) {
    if (before.find(line + "\n") == std::string::npos) {
      out += line + "\n";
      ++shown;
    }
  }
  return out;
}

class ReadOnceTest : public DeviceTest {
 protected:
  void SetUp() override {
    SampleTreeOptions small;
    small.big_file_bytes = 1u << 20;
    MakeSampleTree(rootfs_, small);
    // Enough records that the manifest spans several 64 KiB read chunks.
    fs::create_directories(rootfs_ + "/many");
    for (int i = 0; i < 600; ++i) {
      WriteFile(rootfs_ + "/many/file-" + std::to_string(i), std::to_string(i));
    }
  }

  std::string Build(const std::string& version, const ReleaseKeys& keys,
                    const std::string& extra = "") {
    std::string bundle = dir_.Sub("v" + version + ".imab");
    BuildVersion(rootfs_, bundle, keys, version,
                 device_->ImaBuildFlags() + " " + extra);
    return bundle;
  }

  std::string Extracted(const std::string& bundle, const std::string& ca = "") {
    std::string out = bundle + ".tree";
    CommandResult extract =
        RunExtract(bundle, ca.empty() ? keys_->ca().cert_path : ca, out);
    EXPECT_EQ(extract.exit_code, 0) << extract.err;
    return out;
  }

  // Installs 1.0 then 2.0: slot-a runs 2.0, slot-b keeps 1.0 as the
  // fallback the next install writes over.
  void InstallTwoVersions() {
    ASSERT_EQ(device_->Install(Build("1.0", *keys_)).exit_code, 0);
    ASSERT_EQ(device_->Install(Build("2.0", *keys_)).exit_code, 0);
    ASSERT_EQ(device_->ActiveSlotName(), "slot-a");
    fallback_ = Extracted(dir_.Sub("v1.0.imab"));
    std::vector<std::string> diffs =
        CompareTrees(fallback_, device_->SlotPath("slot-b"));
    ASSERT_TRUE(diffs.empty()) << ::testing::PrintToString(diffs);
  }

  // After an install of `bundle` that was tampered with: either the signed
  // image is active and 2.0 is the intact fallback, or nothing changed.
  void ExpectNoSlotLost(const CommandResult& install,
                        const std::string& bundle_tree) {
    if (install.exit_code == 0) {
      EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
      std::vector<std::string> diffs =
          CompareTrees(bundle_tree, device_->SlotPath("slot-b"));
      EXPECT_TRUE(diffs.empty()) << ::testing::PrintToString(diffs);
      return;
    }
    EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
    std::vector<std::string> diffs =
        CompareTrees(fallback_, device_->SlotPath("slot-b"));
    EXPECT_TRUE(diffs.empty())
        << "the fallback slot was erased by a refused install: " << install.err
        << ::testing::PrintToString(diffs);
  }

  // Trust root 1 (release CA keys_) and its successor 2 (release CA
  // release2_), each signed by a threshold of root keys.
  void MakeTrustRoots() {
    fs::create_directories(dir_.Sub("second"));
    release2_ = std::make_unique<ReleaseKeys>(dir_.Sub("second"));
    TrustRootPair roots = MakeTrustRootPair(dir_.Sub(""), *keys_, *release2_);
    root1_ = roots.first;
    root2_ = roots.second;
  }

  std::string fallback_;
  std::unique_ptr<ReleaseKeys> release2_;
  std::string root1_, root2_;
};

// The example: once the installer starts on the payload (the
// inactive slot was erased for it), the manifest's last record changes.
// 056fc7e re-read those bytes from the file, refused the bundle at the
// end and left slot-b empty.
TEST_F(ReadOnceTest, ManifestChangedWhilePayloadStreamsLosesNoSlot) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  InstallTwoVersions();
  std::string v3 = Build("3.0", *keys_);
  std::string v3_tree = Extracted(v3);
  const BundleLayout layout = LayoutOf(v3);
  ASSERT_GT(layout.manifest_size, 3u * (64u << 10));
  // A hex digit of the last record's line, well past the first chunks.
  const std::string manifest =
      ReadFile(v3).substr(layout.manifest_offset, layout.manifest_size);
  const size_t digit =
      manifest.find_last_of("0123456789abcdef", manifest.rfind("\nend\n"));
  ASSERT_NE(digit, std::string::npos);
  bool tampered = false;
  uint64_t manifest_bytes_read = 0;
  Watched run =
      RunWatched(device_->InstallCommand(v3), v3, [&](const ReadAt& read) {
        manifest_bytes_read += Overlap(read, layout);
        if (!tampered && read.known && read.offset == layout.payload_offset) {
          FlipHexDigit(v3, layout.manifest_offset + digit, manifest[digit]);
          tampered = true;
        }
      });
  if (!run.supported) {
    GTEST_SKIP() << "fanotify permission events need CAP_SYS_ADMIN";
  }
  ASSERT_TRUE(tampered) << "the installer never read the payload: "
                        << run.result.err;
  ExpectNoSlotLost(run.result, v3_tree);
  // The signed manifest was intact; what the file said later is not read.
  EXPECT_EQ(run.result.exit_code, 0) << run.result.err;
  EXPECT_EQ(manifest_bytes_read, layout.manifest_size)
      << "each manifest byte of the bundle is read exactly once";
}

// The payload changes in place once the installer streams it (the image
// is being written): the bundle is refused at the end, and the old inactive
// image stays, since the slot is replaced only after the last check.
// 056fc7e had erased slot-b before the first entry.
TEST_F(ReadOnceTest, PayloadChangedWhileItStreamsLosesNoSlot) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  InstallTwoVersions();
  std::string v3 = Build("3.0", *keys_);
  std::string v3_tree = Extracted(v3);
  const BundleLayout layout = LayoutOf(v3);
  // Near the payload's end, so nearly the whole image is written first.
  const uint64_t late = layout.payload_offset + layout.payload_size - 64;
  bool tampered = false;
  Watched run =
      RunWatched(device_->InstallCommand(v3), v3, [&](const ReadAt& read) {
        if (!tampered && read.known && read.offset == layout.payload_offset) {
          UniqueFd fd(open(v3.c_str(), O_WRONLY | O_CLOEXEC));
          ASSERT_TRUE(fd.valid());
          const char junk = 0x5a;
          ASSERT_EQ(pwrite(fd.get(), &junk, 1, static_cast<off_t>(late)), 1);
          tampered = true;
        }
      });
  if (!run.supported) {
    GTEST_SKIP() << "fanotify permission events need CAP_SYS_ADMIN";
  }
  ASSERT_TRUE(tampered) << run.result.err;
  EXPECT_NE(run.result.exit_code, 0) << "a changed payload was installed";
  ExpectNoSlotLost(run.result, v3_tree);
  EXPECT_THAT(device_->Status().out, HasSubstr("consistent: yes"));
}

// Variant without a race: a validly signed bundle whose payload is damaged
// at its start or its end, refused while it streams, keeps the fallback.
TEST_F(ReadOnceTest, DamagedPayloadLosesNoSlot) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  InstallTwoVersions();
  std::string v3 = Build("3.0", *keys_);
  std::string v3_tree = Extracted(v3);
  const BundleLayout layout = LayoutOf(v3);
  const std::string original = ReadFile(v3);
  for (uint64_t at : {layout.payload_offset + 600,
                      layout.payload_offset + layout.payload_size - 64}) {
    std::string damaged = original;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    WriteFile(v3, damaged);
    CommandResult install = device_->Install(v3);
    EXPECT_NE(install.exit_code, 0) << "payload byte " << at;
    ExpectNoSlotLost(install, v3_tree);
  }
  // The fallback is still a whole image: a later good install works.
  WriteFile(v3, original);
  EXPECT_EQ(device_->Install(v3).exit_code, 0);
}

// Variant: the signed trust root the bundle carries changes right after
// the verifier first read the manifest. 056fc7e took the root from one
// read and the signed bytes from another, and refused a valid rotation.
TEST_F(ReadOnceTest, CarriedTrustRootChangedBetweenReadsIsNotSeen) {
  MakeTrustRoots();
  const ReleaseKeys& release2 = *release2_;
  ASSERT_EQ(device_->InitWithTrustRoot(root1_).exit_code, 0);
  InstallTwoVersions();
  std::string v3 = Build("3.0", release2, "--trust-root " + ShellQuote(root2_));
  const BundleLayout layout = LayoutOf(v3);
  const std::string manifest =
      ReadFile(v3).substr(layout.manifest_offset, layout.manifest_size);
  const size_t line = manifest.find("\nsigned-root ");
  ASSERT_NE(line, std::string::npos);
  // A digit in the middle of the carried root's hex.
  const size_t end = manifest.find('\n', line + 1);
  const size_t digit = line + (end - line) / 2;
  int manifest_reads = 0;
  bool tampered = false;
  auto in_manifest = [&](const ReadAt& read) {
    return read.known && read.offset < layout.manifest_offset + digit &&
           read.offset + read.count > layout.manifest_offset;
  };
  Watched run =
      RunWatched(device_->InstallCommand(v3), v3, [&](const ReadAt& read) {
        if (!in_manifest(read)) {
          return;
        }
        // Let the first read of the root's bytes through, change them
        // before any second read.
        if (++manifest_reads == 2 && !tampered) {
          FlipHexDigit(v3, layout.manifest_offset + digit, manifest[digit]);
          tampered = true;
        }
      });
  if (!run.supported) {
    GTEST_SKIP() << "fanotify permission events need CAP_SYS_ADMIN";
  }
  EXPECT_EQ(manifest_reads, 1)
      << "the carried root's bytes are read from the bundle exactly once";
  ASSERT_EQ(run.result.exit_code, 0)
      << (tampered ? "refused once the root changed between two reads: " : "")
      << run.result.err;
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
  CommandResult status = device_->Status();
  EXPECT_THAT(status.out, HasSubstr("trust root version: 2"));
}

// Issue 12 item 9: `verify --root` judges a bundle and writes nothing, not
// even the trust root the device adopted (056fc7e rewrote it into the
// slots folder, without the install lock).
TEST_F(ReadOnceTest, VerifyRootWritesNothing) {
  MakeTrustRoots();
  ASSERT_EQ(device_->InitWithTrustRoot(root1_).exit_code, 0);
  ASSERT_EQ(device_->Install(Build("1.0", *keys_)).exit_code, 0);
  CommandResult adopt = device_->Install(
      Build("2.0", *release2_, "--trust-root " + ShellQuote(root2_)));
  ASSERT_EQ(adopt.exit_code, 0) << adopt.err;
  std::string v3 = Build("3.0", *release2_);
  const std::string verify = ShellQuote(VerifyBin()) + " verify " +
                             ShellQuote(v3) + " --root " +
                             ShellQuote(device_->root()) + " --no-time-check";

  const std::string before = Snapshot(device_->root());
  CommandResult judged = RunShell(verify);
  EXPECT_EQ(judged.exit_code, 0) << judged.err;
  EXPECT_EQ(Changed(before, Snapshot(device_->root())), "")
      << "verify --root changed the device tree";

  // Variant: the device mounted read-only (a private mount namespace).
  CommandResult probe = RunShell("unshare -m true");
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "no mount namespaces here: " << probe.err;
  }
  const std::string root = ShellQuote(device_->root());
  CommandResult read_only =
      RunShell("unshare -m sh -c " +
               ShellQuote("{ mount --make-rprivate / && mount --bind " + root +
                          " " + root + " && mount -o remount,bind,ro " + root +
                          " " + root + "; } || exit 77; touch " + root +
                          "/probe 2>/dev/null && exit 78; " + verify));
  // 77: the read-only mount could not be made; 78: it was not read-only.
  // Either way the verify below would not have run on a read-only device.
  if (read_only.exit_code == 77) {
    GTEST_SKIP() << "cannot make a read-only bind mount: " << read_only.err;
  }
  ASSERT_NE(read_only.exit_code, 78) << "the bind mount was not read-only";
  EXPECT_EQ(read_only.exit_code, 0) << read_only.err;
  EXPECT_EQ(Changed(before, Snapshot(device_->root())), "");
}

}  // namespace
}  // namespace imab::testing
