// Issue 12 item 9: every path `device init`, `install` and `status` use
// under --root is resolved beneath ROOT, so a symlink inside ROOT (at
// ROOT/var/lib, ROOT/etc/imabundle, or inside the slots folder) never
// makes them read or write outside it. A symlink resolves as if ROOT were
// "/" (manifests/device.conf.md, "Paths under the root"). Each case checks
// that a folder outside ROOT is byte for byte unchanged, and that the
// command either works inside ROOT or fails with one error line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <vector>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

// Every entry below `dir` (not following symlinks): type, mode, size,
// content or link target. Equal snapshots mean nothing was changed.
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const fs::path& path = it->path();
    std::string rel = path.lexically_relative(dir).string();
    fs::file_status st = fs::symlink_status(path);
    std::string entry = std::to_string(static_cast<int>(st.type())) + " " +
                        std::to_string(static_cast<int>(st.permissions()));
    if (fs::is_symlink(st)) {
      entry += " -> " + fs::read_symlink(path).string();
    } else if (fs::is_regular_file(st)) {
      entry += " " + ReadFile(path);
    }
    out[rel] = entry;
  }
  return out;
}

// The names added, removed or changed between two snapshots.
std::vector<std::string> Changes(const std::map<std::string, std::string>& a,
                                 const std::map<std::string, std::string>& b) {
  std::vector<std::string> out;
  for (const auto& [name, entry] : a) {
    auto it = b.find(name);
    if (it == b.end() || it->second != entry) {
      out.push_back((it == b.end() ? "removed " : "changed ") + name);
    }
  }
  for (const auto& [name, entry] : b) {
    if (a.count(name) == 0) {
      out.push_back("added " + name);
    }
  }
  return out;
}

void ExpectUnchanged(const std::map<std::string, std::string>& before,
                     const std::string& dir) {
  std::vector<std::string> changes = Changes(before, Snapshot(dir));
  EXPECT_TRUE(changes.empty())
      << dir << ": " << ::testing::PrintToString(changes);
}

// A refusal: non-zero exit and exactly one error line, naming `what`.
void ExpectOneLineError(const CommandResult& result, const std::string& what) {
  EXPECT_NE(result.exit_code, 0) << result.out << result.err;
  size_t lines = 0;
  size_t start = 0;
  while ((start = result.err.find("error:", start)) != std::string::npos) {
    ++lines;
    ++start;
  }
  EXPECT_EQ(lines, 1u) << result.err;
  EXPECT_THAT(result.err, HasSubstr(what));
}

class RootConfinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    root_ = dir_.Sub("device");
    outside_ = dir_.Sub("outside");
    device_ = std::make_unique<TestDevice>(root_, *keys_, dir_.Sub(""));
    fs::create_directories(outside_);
    WriteFile(outside_ + "/precious", "not the device's\n");
    rootfs_ = dir_.Sub("rootfs");
    SampleTreeOptions small;
    small.big_file_bytes = 64u << 10;
    MakeSampleTree(rootfs_, small);
  }

  std::string Build(const std::string& version) {
    std::string bundle = dir_.Sub("v" + version + ".imab");
    BuildVersion(rootfs_, bundle, *keys_, version, device_->ImaBuildFlags());
    return bundle;
  }

  // Makes ROOT/`link` (parents created) a symlink to `target`.
  void Plant(const std::string& link, const std::string& target) {
    fs::path path = fs::path(root_) / link;
    fs::create_directories(path.parent_path());
    fs::create_symlink(target, path);
  }

  // Moves ROOT/`folder` to OUTSIDE and leaves a symlink `target` to it in
  // its place: the device's real files now live outside ROOT.
  void MoveOutside(const std::string& folder, const std::string& target) {
    fs::path path = fs::path(root_) / folder;
    for (const auto& entry : fs::directory_iterator(path)) {
      fs::rename(entry.path(), fs::path(outside_) / entry.path().filename());
    }
    fs::remove(path);
    fs::create_symlink(target, path);
  }

  void InitAndInstallFirst() {
    CommandResult init = device_->Init();
    ASSERT_EQ(init.exit_code, 0) << init.err;
    CommandResult install = device_->Install(Build("1.0"));
    ASSERT_EQ(install.exit_code, 0) << install.err;
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  std::unique_ptr<TestDevice> device_;
  std::string root_;
  std::string outside_;
  std::string rootfs_;
};

// ---- device init ----------------------------------------------------------

TEST_F(RootConfinementTest, InitRefusesVarLibSymlinkedOutsideAbsolute) {
  Plant("var/lib", outside_);
  auto before = Snapshot(outside_);
  ExpectOneLineError(device_->Init(), "var/lib");
  ExpectUnchanged(before, outside_);
  EXPECT_FALSE(fs::exists(root_ + "/etc/imabundle/device.conf"));
}

TEST_F(RootConfinementTest, InitRefusesVarLibSymlinkedOutsideRelative) {
  Plant("var/lib", "../../outside");  // from ROOT/var: ROOT/.. is the test dir
  auto before = Snapshot(outside_);
  ExpectOneLineError(device_->Init(), "var/lib");
  ExpectUnchanged(before, outside_);
}

TEST_F(RootConfinementTest, InitRefusesEtcImabundleSymlinkedOutside) {
  Plant("etc/imabundle", outside_);
  auto before = Snapshot(outside_);
  ExpectOneLineError(device_->Init(), "etc/imabundle");
  ExpectUnchanged(before, outside_);
  EXPECT_FALSE(fs::exists(outside_ + "/device.conf"));
}

TEST_F(RootConfinementTest, InitRefusesEtcImabundleSymlinkedOutsideRelative) {
  Plant("etc/imabundle", "../../outside");
  auto before = Snapshot(outside_);
  ExpectOneLineError(device_->Init(), "etc/imabundle");
  ExpectUnchanged(before, outside_);
}

TEST_F(RootConfinementTest, SymlinkTargetsResolveInsideRoot) {
  // ROOT/var/lib -> /abs/outside means ROOT/abs/outside, as under chroot:
  // with that folder present, everything works and stays in ROOT.
  const std::string mirror = root_ + outside_;
  fs::create_directories(mirror);
  Plant("var/lib", outside_);
  // From ROOT/etc, "../.." would be the test folder; ".." stops at ROOT.
  Plant("etc/imabundle", "../../cfg");
  fs::create_directories(root_ + "/cfg");
  auto before = Snapshot(outside_);
  CommandResult init = device_->Init();
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_TRUE(fs::is_symlink(mirror + "/imabundle/active"));
  EXPECT_TRUE(fs::exists(root_ + "/cfg/device.conf"));
  CommandResult install = device_->Install(Build("1.0"));
  ASSERT_EQ(install.exit_code, 0) << install.err;
  CommandResult status = device_->Status();
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("1.0"));
  EXPECT_TRUE(fs::exists(mirror + "/imabundle/last-result"));
  ExpectUnchanged(before, outside_);
  EXPECT_FALSE(fs::exists(dir_.Sub("cfg")));
}

TEST_F(RootConfinementTest, ConfiguredFilesResolveInsideRoot) {
  // release-ca.pem symlinked to a CA outside ROOT: following it would make
  // the device trust bundles that CA signed.
  CommandResult init = device_->Init();
  ASSERT_EQ(init.exit_code, 0) << init.err;
  fs::create_directories(dir_.Sub("evil"));
  ReleaseKeys evil(dir_.Sub("evil"));
  const std::string bundle = dir_.Sub("evil.imab");
  BuildVersion(rootfs_, bundle, evil, "9.0", device_->ImaBuildFlags());
  const std::string ca = root_ + "/etc/imabundle/release-ca.pem";
  fs::remove(ca);
  fs::create_symlink(evil.ca().cert_path, ca);
  // Only the lock and the record of the refusal are new in the slots.
  auto slot_a = Snapshot(device_->SlotPath("slot-a"));
  auto slot_b = Snapshot(device_->SlotPath("slot-b"));
  ExpectOneLineError(device_->Install(bundle), "release-ca.pem");
  EXPECT_THAT(ReadFile(device_->SlotPath("last-result")),
              HasSubstr("release-ca.pem"));
  // Relative: from ROOT/etc/imabundle, ../../../evil is the test's evil/.
  fs::remove(ca);
  fs::create_symlink("../../../evil/release-ca.pem", ca);
  ExpectOneLineError(device_->Install(bundle), "release-ca.pem");
  ExpectUnchanged(slot_a, device_->SlotPath("slot-a"));
  ExpectUnchanged(slot_b, device_->SlotPath("slot-b"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  EXPECT_FALSE(fs::exists(device_->SlotPath("slot-b.state")));
}

// ---- install and status on a device whose files were moved outside --------

class RootConfinementMovedTest
    : public RootConfinementTest,
      public ::testing::WithParamInterface<const char*> {
 protected:
  // The symlink left in place of the moved folder: absolute or relative.
  std::string Target(const std::string& folder) {
    std::string param = GetParam();
    if (param == "absolute") {
      return outside_;
    }
    // ROOT/var/lib -> ../../outside, ROOT/etc/imabundle -> ../../outside
    (void)folder;
    return "../../outside";
  }
};

TEST_P(RootConfinementMovedTest, InstallRefusesSlotsOutside) {
  InitAndInstallFirst();
  MoveOutside("var/lib", Target("var/lib"));
  const std::string bundle = Build("2.0");
  auto before = Snapshot(outside_);
  ExpectOneLineError(device_->Install(bundle), "var/lib/imabundle");
  ExpectUnchanged(before, outside_);
}

TEST_P(RootConfinementMovedTest, StatusRefusesSlotsOutside) {
  InitAndInstallFirst();
  MoveOutside("var/lib", Target("var/lib"));
  auto before = Snapshot(outside_);
  // The state outside is not the device's: reporting it would be a lie.
  CommandResult status = device_->Status();
  ExpectOneLineError(status, "var/lib/imabundle");
  EXPECT_THAT(status.out, Not(HasSubstr("1.0")));
  ExpectUnchanged(before, outside_);
}

TEST_P(RootConfinementMovedTest, InstallRefusesConfigurationOutside) {
  InitAndInstallFirst();
  MoveOutside("etc/imabundle", Target("etc/imabundle"));
  const std::string bundle = Build("2.0");
  auto outside = Snapshot(outside_);
  auto slots = Snapshot(device_->SlotsDir());
  ExpectOneLineError(device_->Install(bundle), "device not initialised");
  ExpectUnchanged(outside, outside_);
  ExpectUnchanged(slots, device_->SlotsDir());
  ExpectOneLineError(device_->Status(), "device not initialised");
}

TEST_P(RootConfinementMovedTest, VerifyRootDoesNotTakeFloorsFromOutside) {
  // Outside ROOT: a copy of the slots from when 1.0 was installed. The
  // device then installs 2.0, and ROOT/var/lib is swapped for a symlink to
  // the copy: judging 1.5 by the copy's floors would accept a rollback.
  InitAndInstallFirst();
  // cp -a: the images hold device nodes and fifos.
  ASSERT_EQ(RunShell("cp -a " + ShellQuote(root_ + "/var/lib/.") + " " +
                     ShellQuote(outside_))
                .exit_code,
            0);
  ASSERT_EQ(device_->Install(Build("2.0")).exit_code, 0);
  const std::string older = Build("1.5");
  fs::rename(root_ + "/var/lib", dir_.Sub("real-lib"));
  fs::create_symlink(Target("var/lib"), root_ + "/var/lib");
  auto before = Snapshot(outside_);
  CommandResult verify =
      RunShell(ShellQuote(VerifyBin()) + " verify " + ShellQuote(older) +
               " --root " + ShellQuote(root_) + " --no-time-check");
  ExpectOneLineError(verify, "var/lib/imabundle");
  ExpectUnchanged(before, outside_);
}

INSTANTIATE_TEST_SUITE_P(Targets, RootConfinementMovedTest,
                         ::testing::Values("absolute", "relative"));

// ---- symlinks inside the slots folder ---------------------------------------

TEST_F(RootConfinementTest, SymlinksInTheSlotsFolderAreReplacedNotFollowed) {
  InitAndInstallFirst();
  const std::string inactive =
      device_->ActiveSlotName() == "slot-a" ? "slot-b" : "slot-a";
  const std::string slots = device_->SlotsDir();
  fs::remove_all(slots + "/" + inactive);
  fs::create_symlink(outside_, slots + "/" + inactive);
  fs::remove(slots + "/last-result");
  fs::create_symlink(outside_ + "/precious", slots + "/last-result");
  auto before = Snapshot(outside_);
  CommandResult install = device_->Install(Build("2.0"));
  EXPECT_EQ(install.exit_code, 0) << install.err;
  ExpectUnchanged(before, outside_);
  EXPECT_EQ(device_->ActiveSlotName(), inactive);
  EXPECT_FALSE(fs::is_symlink(slots + "/" + inactive));
  EXPECT_FALSE(fs::is_symlink(slots + "/last-result"));
}

TEST_F(RootConfinementTest, SymlinkedLockIsRefusedNotFollowed) {
  InitAndInstallFirst();
  const std::string slots = device_->SlotsDir();
  fs::remove(slots + "/lock");
  fs::create_symlink(outside_ + "/lock", slots + "/lock");
  auto before = Snapshot(outside_);
  ExpectOneLineError(device_->Install(Build("2.0")), "lock");
  ExpectUnchanged(before, outside_);
}

TEST_F(RootConfinementTest, SymlinkFromAnEarlierImageDoesNotRedirectWrites) {
  // Image 1 holds escape -> OUTSIDE; image 3, written into the same slot,
  // holds a folder "escape" with a file: it must land in the slot.
  fs::create_symlink(outside_, rootfs_ + "/escape");
  InitAndInstallFirst();
  const std::string first_slot = device_->ActiveSlotName();
  fs::remove(rootfs_ + "/escape");
  fs::create_directories(rootfs_ + "/escape");
  WriteFile(rootfs_ + "/escape/precious", "from the image\n");
  auto before = Snapshot(outside_);
  ASSERT_EQ(device_->Install(Build("2.0")).exit_code, 0);
  CommandResult third = device_->Install(Build("3.0"));
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(device_->ActiveSlotName(), first_slot);
  ExpectUnchanged(before, outside_);
  EXPECT_EQ(ReadFile(device_->SlotPath(first_slot) + "/escape/precious"),
            "from the image\n");
}

}  // namespace
}  // namespace imab::testing
