// The device's IMA policy end to end (issue 12, item 3): real bundles built
// by imab-build, judged by `imab-verify device init`, `verify --root` and
// `install` against a device whose policy uses the conditions the kernel
// enforces. Policies the kernel refuses are refused naming the line; every
// condition that decides appraisal is judged as the kernel would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <ostream>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

class ImaPolicyConditionsTest : public DeviceTest {
 protected:
  void SetUp() override {
    for (const auto& [path, mode] :
         {std::pair<std::string, fs::perms>{"sbin/init", fs::perms(0755)},
          {"bin/tool", fs::perms(0755)},
          {"etc/motd", fs::perms(0644)},
          {"usr/lib/libz.so.1", fs::perms(0644)},
          {"home/app/data", fs::perms(0644)}}) {
      PutFile(rootfs_, path, "content of " + path, mode);
    }
  }

  // `device init` (kernel 6.12 unless `extra` says otherwise) with
  // `policy` as its IMA policy.
  CommandResult InitWith(const std::string& policy,
                         const std::string& extra = "") {
    const std::string file = dir_.Sub("device.policy");
    WriteFile(file, policy);
    return device_->Init("--force --ima-policy " + ShellQuote(file) + " " +
                         (extra.find("--kernel-version") == std::string::npos
                              ? "--kernel-version 6.12 "
                              : "") +
                         extra);
  }

  std::string Build(const std::string& name, const std::string& extra = "") {
    std::string bundle = dir_.Sub(name + ".imab");
    BuildVersion(rootfs_, bundle, *keys_, "1.0",
                 device_->ImaBuildFlags() + " " + extra);
    return bundle;
  }

  CommandResult Judge(const std::string& bundle) {
    return RunVerifyOnDevice(bundle, device_->root());
  }

  void ExpectAccepted(const std::string& bundle) {
    CommandResult judged = Judge(bundle);
    EXPECT_EQ(judged.exit_code, 0) << judged.err;
  }

  // Refused by verify --root, naming `file` with `reason`, and not naming
  // `spared` (when given).
  void ExpectRefused(const std::string& bundle, const std::string& file,
                     const std::string& reason,
                     const std::string& spared = "") {
    CommandResult judged = Judge(bundle);
    EXPECT_EQ(judged.exit_code, 1) << judged.err;
    EXPECT_THAT(judged.err, HasSubstr(file + ": " + reason));
    if (!spared.empty()) {
      EXPECT_THAT(judged.err, Not(HasSubstr(spared + ":")));
    }
  }

  bool Root() const { return geteuid() == 0; }
};

// --- policies the kernel refuses: refused by device init, naming the line

struct RefusedPolicy {
  std::string name;
  std::string policy;
  std::string error;  // after "--ima-policy FILE"
  std::string extra = "";
};

void PrintTo(const RefusedPolicy& policy, std::ostream* os) {
  *os << policy.name;
}

class KernelRefusedPolicyTest
    : public ImaPolicyConditionsTest,
      public ::testing::WithParamInterface<RefusedPolicy> {};

TEST_P(KernelRefusedPolicyTest, DeviceInitRefusesItNamingTheLine) {
  CommandResult init = InitWith(GetParam().policy, GetParam().extra);
  EXPECT_EQ(init.exit_code, 2) << init.err;
  EXPECT_THAT(init.err, HasSubstr("device.policy" + GetParam().error));
  EXPECT_FALSE(fs::exists(device_->root() + "/etc/imabundle/device.conf"));
}

INSTANTIATE_TEST_SUITE_P(
    Kernel, KernelRefusedPolicyTest,
    ::testing::Values(
        // The example and its variants.
        RefusedPolicy{"HashAfterARule", "appraise fowner=0 # root's files\n",
                      ":1: unknown condition '#'"},
        RefusedPolicy{"HashAfterAPseudoFsRule",
                      "# pseudo file systems\n"
                      "dont_appraise fsmagic=0x9fa0   # proc\n"
                      "appraise fowner=0\n",
                      ":2: unknown condition '#'"},
        RefusedPolicy{"ModsigAlone",
                      "appraise func=MODULE_CHECK appraise_type=modsig\n",
                      ":1: appraise_type=modsig"},
        RefusedPolicy{"ImasigModsigWithoutTheKernelOption",
                      "appraise func=MODULE_CHECK "
                      "appraise_type=imasig|modsig\n",
                      ":1: appraise_type=imasig|modsig: needs "
                      "CONFIG_IMA_APPRAISE_MODSIG"},
        RefusedPolicy{"Sigv3WithoutDigestTypeVerity",
                      "appraise appraise_type=sigv3\n",
                      ":1: appraise_type=sigv3: needs digest_type=verity"},
        RefusedPolicy{"Sigv3BeforeDigestTypeVerity",
                      "appraise fowner=0\n"
                      "appraise appraise_type=sigv3 digest_type=verity\n",
                      ":2: appraise_type=sigv3: needs digest_type=verity"},
        RefusedPolicy{"VerityAppraisalWithoutSignature",
                      "appraise digest_type=verity\n",
                      ":1: digest_type=verity on appraise needs "
                      "appraise_type=sigv3"},
        RefusedPolicy{"UnknownHook",
                      "appraise func=EXEC_CHECK appraise_type=imasig\n",
                      ":1: func=EXEC_CHECK: unknown hook"},
        RefusedPolicy{"UnknownTokenInAMeasureRule",
                      "measure func=BPRM_CHECK colour=red\n"
                      "appraise fowner=0\n",
                      ":1: unknown condition 'colour'"},
        RefusedPolicy{"UidAndEuidInOneRule", "appraise uid=0 euid=0\n",
                      ":1: euid: a second owner condition"},
        RefusedPolicy{"InvalidOwnerId", "appraise fowner=4294967295\n",
                      ":1: fowner: '4294967295' is not a number"},
        RefusedPolicy{"UnknownHashAlgorithm",
                      "appraise appraise_algos=sha256,sha999\n",
                      ":1: appraise_algos: unknown hash algorithm 'sha999'"},
        RefusedPolicy{"OnlyComments", "# nothing yet\n",
                      ": no rules (the kernel refuses an empty policy)"},
        RefusedPolicy{"MmapCheckReqprotOn61",
                      "appraise func=MMAP_CHECK_REQPROT\n",
                      ":1: func=MMAP_CHECK_REQPROT: unknown hook",
                      "--kernel-version 6.1"}),
    [](const ::testing::TestParamInfo<RefusedPolicy>& param) {
      return param.param.name;
    });

// A policy put on the device by hand (not through device init) is checked
// as strictly by every later judgement.
TEST_F(ImaPolicyConditionsTest, RefusedPolicyOnTheDeviceStopsVerifyAndInstall) {
  ASSERT_EQ(InitWith("appraise fowner=0\n").exit_code, 0);
  WriteFile(device_->root() + "/etc/imabundle/ima-policy",
            "appraise fowner=0\nappraise appraise_type=imasig # everything\n");
  std::string bundle = Build("b");
  CommandResult judged = Judge(bundle);
  EXPECT_NE(judged.exit_code, 0);
  EXPECT_THAT(judged.err, HasSubstr("ima-policy:2: unknown condition '#'"));
  CommandResult install = device_->Install(bundle);
  EXPECT_NE(install.exit_code, 0);
  EXPECT_THAT(install.err, HasSubstr("ima-policy:2: unknown condition '#'"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
}

// --- appraise_algos: the file's hash must be in the list ----------------

TEST_F(ImaPolicyConditionsTest, AppraiseAlgosSha512RefusesASha256Bundle) {
  ASSERT_EQ(InitWith("appraise appraise_algos=sha512\n").exit_code, 0);
  std::string sha256 = Build("sha256", "--hash sha256");
  ExpectRefused(sha256, "/bin/tool",
                "security.ima uses sha256, the IMA policy allows only sha512 "
                "(1: appraise appraise_algos=sha512)");
  CommandResult judged = Judge(sha256);
  EXPECT_THAT(judged.err, HasSubstr("audit cause denied-hash-algorithm"));
  CommandResult install = device_->Install(sha256);
  EXPECT_EQ(install.exit_code, 1) << install.err;
  EXPECT_THAT(install.err, HasSubstr("denied-hash-algorithm"));
  EXPECT_EQ(device_->ActiveSlotName(), "slot-a");
  EXPECT_TRUE(fs::is_empty(device_->SlotPath("slot-b")));

  std::string sha512 = Build("sha512", "--hash sha512");
  ExpectAccepted(sha512);
  ASSERT_EQ(device_->Install(sha512).exit_code, 0);
  EXPECT_EQ(device_->ActiveSlotName(), "slot-b");
}

TEST_F(ImaPolicyConditionsTest, AppraiseAlgosSha384ListRefusesTheOthers) {
  ASSERT_EQ(InitWith("appraise fowner<65534 appraise_algos=sha384\n").exit_code,
            0);
  ExpectRefused(Build("sha256", "--hash sha256"), "/etc/motd",
                "security.ima uses sha256, the IMA policy allows only sha384");
  ExpectRefused(Build("sha512", "--hash sha512"), "/usr/lib/libz.so.1",
                "security.ima uses sha512, the IMA policy allows only sha384");
  std::string sha384 = Build("sha384", "--hash sha384");
  ExpectAccepted(sha384);
  EXPECT_EQ(device_->Install(sha384).exit_code, 0);
}

// --- digest_type=verity: the images carry no fs-verity ------------------

TEST_F(ImaPolicyConditionsTest, VerityRuleRefusesTheExecutablesItReaches) {
  ASSERT_EQ(InitWith("appraise func=BPRM_CHECK digest_type=verity "
                     "appraise_type=sigv3\n")
                .exit_code,
            0);
  std::string bundle = Build("b");
  ExpectRefused(bundle, "/bin/tool",
                "the IMA policy rule 1: appraise func=BPRM_CHECK "
                "digest_type=verity appraise_type=sigv3 demands an fs-verity "
                "digest",
                "/etc/motd");
  EXPECT_THAT(Judge(bundle).err, HasSubstr("audit cause no-verity-digest"));
  EXPECT_EQ(device_->Install(bundle).exit_code, 1);
}

TEST_F(ImaPolicyConditionsTest, VerityMeasureRuleRefusesAppraisedFiles) {
  // The measure rule's verity flag reaches the file, which appraisal then
  // cannot satisfy.
  ASSERT_EQ(InitWith("measure func=FILE_CHECK digest_type=verity\nappraise\n")
                .exit_code,
            0);
  ExpectRefused(Build("b"), "/etc/motd",
                "the IMA policy rule 1: measure func=FILE_CHECK "
                "digest_type=verity demands an fs-verity digest");
}

// --- file-system conditions from the device's rootfs description --------

TEST_F(ImaPolicyConditionsTest, FsMagicIsJudgedFromTheRootFsMagic) {
  const std::string policy =
      "dont_appraise fsmagic=0xef53\nappraise appraise_type=imasig\n";
  std::string bundle = Build("b", "--ima-exclude etc/motd");
  // The rootfs is ext4: the dont_appraise rule exempts all of it.
  ASSERT_EQ(InitWith(policy, "--rootfs-magic 0xEF53").exit_code, 0);
  ExpectAccepted(bundle);
  // btrfs: the rule does not apply, the unsigned file is refused.
  ASSERT_EQ(InitWith(policy, "--rootfs-magic 0x9123683e").exit_code, 0);
  ExpectRefused(bundle, "/etc/motd", "no security.ima", "/bin/tool");
  // Unknown: the exemption may not apply either.
  ASSERT_EQ(InitWith(policy).exit_code, 0);
  ExpectRefused(bundle, "/etc/motd", "no security.ima");
  EXPECT_NE(InitWith(policy, "--rootfs-magic ext4").exit_code, 0);
}

TEST_F(ImaPolicyConditionsTest, FsNameAndFsUuidAreJudgedFromTheRootFs) {
  std::string bundle = Build("b", "--ima-exclude etc/motd");
  const std::string by_name =
      "dont_appraise fsname=ext4\nappraise appraise_type=imasig\n";
  ASSERT_EQ(InitWith(by_name, "--rootfs-type ext4").exit_code, 0);
  ExpectAccepted(bundle);
  ASSERT_EQ(InitWith(by_name, "--rootfs-type xfs").exit_code, 0);
  ExpectRefused(bundle, "/etc/motd", "no security.ima");

  const std::string by_uuid =
      "appraise fsuuid=6f1e2c3b-aaaa-4bbb-8ccc-0123456789ab "
      "appraise_type=imasig\n";
  ASSERT_EQ(
      InitWith(by_uuid, "--rootfs-uuid 6F1E2C3B-AAAA-4BBB-8CCC-0123456789AB")
          .exit_code,
      0);
  ExpectRefused(bundle, "/etc/motd", "no security.ima");
  ASSERT_EQ(
      InitWith(by_uuid, "--rootfs-uuid 00000000-aaaa-4bbb-8ccc-0123456789ab")
          .exit_code,
      0);
  ExpectAccepted(bundle);  // the rule is for another file system
}

// --- owner and group conditions, combined with what they decide ---------

TEST_F(ImaPolicyConditionsTest, FownerConditionExemptsOnlyTheOwnersFiles) {
  if (!Root()) {
    GTEST_SKIP() << "giving files another owner needs root";
  }
  fs::path data = rootfs_ + "/home/app/data";
  ASSERT_EQ(chown(data.c_str(), 1000, 1000), 0);
  ASSERT_EQ(
      InitWith("dont_appraise fowner>999\nappraise appraise_algos=sha512\n")
          .exit_code,
      0);
  ExpectRefused(Build("sha256", "--hash sha256"), "/etc/motd",
                "security.ima uses sha256", "/home/app/data");
}

TEST_F(ImaPolicyConditionsTest, FgroupConditionDecidesAppraisal) {
  if (!Root()) {
    GTEST_SKIP() << "giving files another group needs root";
  }
  fs::path tool = rootfs_ + "/bin/tool";
  ASSERT_EQ(chown(tool.c_str(), 0, 50), 0);
  ASSERT_EQ(InitWith("dont_appraise fgroup<50\n"
                     "appraise fgroup=50 appraise_algos=sha512\n")
                .exit_code,
            0);
  ExpectRefused(Build("sha256", "--hash sha256"), "/bin/tool",
                "security.ima uses sha256", "/etc/motd");
}

// --- func=: which hooks reach which files --------------------------------

TEST_F(ImaPolicyConditionsTest, BprmCheckRuleAppraisesExecutablesOnly) {
  ASSERT_EQ(
      InitWith("appraise func=BPRM_CHECK appraise_type=imasig\n").exit_code, 0);
  // A data file is never exec'd: it needs no signature.
  std::string data_unsigned = Build("data", "--ima-exclude etc/motd");
  ExpectAccepted(data_unsigned);
  ExpectRefused(Build("tool", "--ima-exclude bin/tool"), "/bin/tool",
                "no security.ima");
  EXPECT_EQ(device_->Install(data_unsigned).exit_code, 0);
}

// ima_file_mmap() appraises whatever is mapped with PROT_EXEC, and any
// regular file can be: a data file too.
TEST_F(ImaPolicyConditionsTest, MmapCheckRuleAppraisesEveryFile) {
  ASSERT_EQ(InitWith("appraise func=MMAP_CHECK mask=MAY_EXEC "
                     "appraise_type=imasig\n")
                .exit_code,
            0);
  ExpectRefused(Build("data", "--ima-exclude etc/motd"), "/etc/motd",
                "no security.ima");
  ExpectRefused(Build("lib", "--ima-exclude usr/lib/libz.so.1"),
                "/usr/lib/libz.so.1", "no security.ima");
  ExpectAccepted(Build("all"));
}

// --- per hook: what fails where (issue 13 item 3) ------------------------

constexpr const char* kLibc = "usr/lib/x86_64-linux-gnu/libc.so.6";

// Refused by verify --root with `consequence` in the message.
void ExpectConsequence(const CommandResult& judged,
                       const std::string& consequence) {
  EXPECT_EQ(judged.exit_code, 1) << judged.err;
  EXPECT_THAT(judged.err, HasSubstr(consequence));
}

// A policy appraising only at BPRM_CHECK: the kernel checks the program
// execve() runs, never the libc ld.so maps, whatever its mode.
TEST_F(ImaPolicyConditionsTest, BprmCheckOnlyPolicyLeavesAnUnsignedLibcAlone) {
  ASSERT_EQ(
      InitWith("appraise func=BPRM_CHECK appraise_type=imasig\n").exit_code, 0);
  for (unsigned mode : {0755u, 0644u}) {
    PutFile(rootfs_, kLibc, "stand-in libc\n", fs::perms(mode));
    ExpectAccepted(Build("libc-" + std::to_string(mode),
                         "--ima-exclude " + std::string(kLibc)));
  }
  std::string tool = Build("tool", "--ima-exclude bin/tool");
  ExpectRefused(tool, "/bin/tool", "no security.ima");
  ExpectConsequence(Judge(tool),
                    "appraised at BPRM_CHECK (execve): execve of it would "
                    "fail with EACCES");
  // --json names the hooks too.
  CommandResult json =
      RunShell(ShellQuote(VerifyBin()) + " verify " + ShellQuote(tool) +
               " --root " + ShellQuote(device_->root()) + " --json");
  EXPECT_THAT(json.out,
              HasSubstr("{\"path\": \"/bin/tool\", \"critical\": false"));
  EXPECT_THAT(json.out, HasSubstr("\"hooks\": [\"BPRM_CHECK\"]}"));
}

TEST_F(ImaPolicyConditionsTest, MmapCheckOnlyPolicyRefusesUnsignedLibc) {
  ASSERT_EQ(InitWith("appraise func=MMAP_CHECK\n").exit_code, 0);
  PutFile(rootfs_, kLibc, "stand-in libc\n", fs::perms(0755));
  std::string libc = Build("libc", "--ima-exclude " + std::string(kLibc));
  ExpectRefused(libc, "/" + std::string(kLibc), "no security.ima");
  ExpectConsequence(Judge(libc),
                    "appraised at MMAP_CHECK (mmap PROT_EXEC): every "
                    "dynamically linked program, init included, would fail "
                    "to map libc (ld.so exit 127");
  // A program can be mapped executable too (and the kernel maps an ELF
  // program at execve).
  std::string tool = Build("tool", "--ima-exclude bin/tool");
  ExpectRefused(tool, "/bin/tool", "no security.ima", "/" + std::string(kLibc));
  ExpectConsequence(Judge(tool),
                    "appraised at MMAP_CHECK (mmap PROT_EXEC): mmap(PROT_EXEC) "
                    "of it would fail with EACCES");
}

// FILE_CHECK with MAY_EXEC is execve's own open: programs, not libc.
TEST_F(ImaPolicyConditionsTest, FileCheckMayExecOnlyPolicyReachesPrograms) {
  ASSERT_EQ(InitWith("appraise func=FILE_CHECK mask=MAY_EXEC\n").exit_code, 0);
  PutFile(rootfs_, kLibc, "stand-in libc\n", fs::perms(0755));
  ExpectAccepted(Build("libc", "--ima-exclude " + std::string(kLibc) +
                                   " --ima-exclude etc/motd"));
  std::string tool = Build("tool", "--ima-exclude bin/tool");
  ExpectRefused(tool, "/bin/tool", "no security.ima");
  ExpectConsequence(Judge(tool),
                    "appraised at FILE_CHECK mask=MAY_EXEC (execve's open): "
                    "execve of it would fail with EACCES");
}

}  // namespace
}  // namespace imab::testing
