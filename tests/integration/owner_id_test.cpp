// Owners the kernel cannot set (issue 12, item 2): uid or gid 4294967295 is
// (uid_t)-1, which chown(2) takes as "leave unchanged", so a file signed
// for that owner would install root-owned with a failing EVM signature.
// The builder refuses such an entry, the verifier such a record, with the
// real executables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/testutil/bundle_forge.h"
#include "tests/testutil/device_fixture.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr uint64_t kCreated = 1700000000;
constexpr uint32_t kUnsettable = 4294967295u;  // (uid_t)-1
constexpr uint32_t kHighest = 4294967294u;     // the largest real owner

// One record of the forged image given an owner, and the field to name.
struct OwnerCase {
  std::string label;
  ForgedEntry entry;
  std::string field;  // "uid" or "gid"
};

ForgedEntry Owned(ForgedEntry e, uint32_t uid, uint32_t gid) {
  e.entry.uid = uid;
  e.entry.gid = gid;
  return e;
}

// The example (a file's uid) and variants. A file owned by uid 0
// is appraised (fowner=0), so its variant sets both ids.
std::vector<OwnerCase> Cases(uint32_t id) {
  return {
      {"file uid", Owned(File("etc/odd", "odd\n"), id, 0), "uid"},
      {"file uid and gid", Owned(File("etc/odd", "odd\n"), id, id), "uid"},
      {"symlink uid", Owned(Symlink("etc/odd", "motd"), id, 0), "uid"},
      {"dir gid", Owned(Dir("etc/odd"), 0, id), "gid"},
  };
}

class OwnerIdTest : public ::testing::Test {
 protected:
  void SetUp() override { keys_ = std::make_unique<ReleaseKeys>(dir_.Sub("")); }

  // A validly signed bundle of etc/ and `odd`. No other file: a file the
  // device appraises would need an IMA signature for the device's trust
  // decision, and `odd` alone is what that decision has to judge.
  std::string ForgeBundle(const std::string& name, const ForgedEntry& odd) {
    std::vector<ForgedEntry> entries = {Dir("etc"), odd};
    std::string bundle = dir_.Sub(name + ".imab");
    WriteFile(bundle,
              Assemble(Forge(entries, keys_->signer(), kCreated), kCreated));
    return bundle;
  }

  // A pax tarball (python tarfile: GNU tar cannot write owner 2^32-1) of
  // etc/ and etc/odd, `kind` "file" or "dir", owned uid:gid.
  std::string Tarball(const std::string& name, const std::string& kind,
                      uint32_t uid, uint32_t gid) {
    std::string out = dir_.Sub(name + ".tar");
    std::string script =
        "import io, sys, tarfile\n"
        "kind, uid, gid, out = sys.argv[1], int(sys.argv[2]), "
        "int(sys.argv[3]), sys.argv[4]\n"
        "with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as t:\n"
        "    d = tarfile.TarInfo('etc'); d.type = tarfile.DIRTYPE\n"
        "    d.mode = 0o755; d.mtime = 1700000000; t.addfile(d)\n"
        "    i = tarfile.TarInfo('etc/odd'); i.uid = uid; i.gid = gid\n"
        "    i.mtime = 1700000000\n"
        "    if kind == 'dir':\n"
        "        i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)\n"
        "    else:\n"
        "        i.mode = 0o644; i.size = 4\n"
        "        t.addfile(i, io.BytesIO(b'odd\\n'))\n";
    WriteFile(dir_.Sub("make_tar.py"), script);
    CommandResult made =
        RunShell("python3 " + ShellQuote(dir_.Sub("make_tar.py")) + " " + kind +
                 " " + std::to_string(uid) + " " + std::to_string(gid) + " " +
                 ShellQuote(out));
    EXPECT_EQ(made.exit_code, 0) << made.err;
    return out;
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
};

TEST_F(OwnerIdTest, VerifyRefusesARecordWithAnOwnerTheKernelCannotSet) {
  std::vector<OwnerCase> cases = Cases(kUnsettable);
  cases.push_back(
      {"file gid", Owned(File("etc/odd", "odd\n"), 0, kUnsettable), "gid"});
  for (const OwnerCase& c : cases) {
    SCOPED_TRACE(c.label);
    std::string bundle = ForgeBundle("bad", c.entry);
    CommandResult r = RunVerify(bundle, keys_->ca().cert_path);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("manifest line "));
    EXPECT_THAT(r.err, HasSubstr(c.field + " 4294967295 exceeds 4294967294"));
    fs::remove(bundle);
  }
}

TEST_F(OwnerIdTest, TheHighestSettableOwnerStillVerifies) {
  for (const OwnerCase& c : Cases(kHighest)) {
    SCOPED_TRACE(c.label);
    std::string bundle = ForgeBundle("highest", c.entry);
    CommandResult r = RunVerify(bundle, keys_->ca().cert_path);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    fs::remove(bundle);
  }
}

TEST_F(OwnerIdTest, InstallRefusesARecordWithAnOwnerTheKernelCannotSet) {
  TestDevice device(dir_.Sub("device"), *keys_, dir_.Sub(""));
  CommandResult init = device.Init();
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string before = device.ActiveSlotName();
  for (const OwnerCase& c : Cases(kUnsettable)) {
    SCOPED_TRACE(c.label);
    std::string bundle = ForgeBundle("install", c.entry);
    // Each case on its own: the same version may be installed again.
    CommandResult r = device.Install(bundle, "--allow-reinstall");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.field + " 4294967295 exceeds 4294967294"));
    EXPECT_EQ(device.ActiveSlotName(), before);
    // Refused before anything was extracted.
    for (const char* slot : {"slot-a", "slot-b"}) {
      // symlink_status: the forged symlink dangles, so exists() of the
      // path itself would be false even had it been extracted.
      EXPECT_FALSE(
          fs::exists(fs::symlink_status(device.SlotPath(slot) + "/etc/odd")))
          << slot;
    }
    fs::remove(bundle);
  }
}

TEST_F(OwnerIdTest, BuilderRefusesATarballEntryWithAnOwnerTheKernelCannot) {
  if (!HaveTool("python3")) {
    GTEST_SKIP() << "python3 is needed to write a tarball with owner 2^32-1";
  }
  struct TarCase {
    std::string kind;
    uint32_t uid;
    uint32_t gid;
    std::string field;
  };
  for (const TarCase& c :
       std::vector<TarCase>{{"file", kUnsettable, 0, "uid"},
                            {"file", 0, kUnsettable, "gid"},
                            {"dir", kUnsettable, 0, "uid"}}) {
    SCOPED_TRACE(c.kind + " " + c.field);
    std::string tarball = Tarball("bad", c.kind, c.uid, c.gid);
    std::string bundle = dir_.Sub("bad.imab");
    CommandResult r = RunBuild(tarball, bundle, *keys_);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("etc/odd: " + c.field +
                                 " out of range: 4294967295 (owners are "
                                 "0..4294967294)"));
    EXPECT_FALSE(fs::exists(bundle));
  }
  // The largest owner a file can have is still built, and verifies.
  std::string tarball = Tarball("highest", "file", kHighest, kHighest);
  std::string bundle = dir_.Sub("highest.imab");
  CommandResult built = RunBuild(tarball, bundle, *keys_);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  CommandResult verified = RunVerify(bundle, keys_->ca().cert_path);
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
}

}  // namespace
}  // namespace imab::testing
