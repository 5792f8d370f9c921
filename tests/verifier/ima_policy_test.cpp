// The IMA policy as the device's kernel parses and applies it: one test per
// grammar rule of ima_parse_rule()/ima_validate_rule() (linux-source-6.1
// and -6.12) and per condition ima_match_rules() evaluates.
#include "verifier/trust/ima_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/read/ima_xattr.h"
#include "common/write/ima_xattr_writer.h"
#include "common/write/xattr_order.h"

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;

PolicyContext Kernel(uint32_t major, uint32_t minor, bool modsig = false) {
  PolicyContext context;
  context.grammar.version = {major, minor};
  context.grammar.modsig = modsig;
  return context;
}

const PolicyContext k61 = Kernel(6, 1);
const PolicyContext k612 = Kernel(6, 12);

// The error of parsing `text` with `context` ("" when it parses).
std::string Refusal(const std::string& text,
                    const PolicyContext& context = k612) {
  Result<ImaPolicy> policy = ImaPolicy::Parse(text, "p", context);
  return policy.has_value() ? "" : policy.error().message;
}

bool Accepted(const std::string& text, const PolicyContext& context = k612) {
  return Refusal(text, context).empty();
}

ImaPolicy Policy(const std::string& text, const PolicyContext& context = k612) {
  Result<ImaPolicy> policy = ImaPolicy::Parse(text, "p", context);
  EXPECT_TRUE(policy.has_value()) << policy.error().message;
  return policy.has_value() ? std::move(policy).value()
                            : ImaPolicy::AppraiseTcb();
}

Entry File(const std::string& path, uint32_t mode, uint32_t uid = 0,
           uint32_t gid = 0) {
  Entry entry;
  entry.type = EntryType::kFile;
  entry.path = path;
  entry.mode = mode;
  entry.uid = uid;
  entry.gid = gid;
  return entry;
}

Entry SignedWith(Entry entry, HashAlgo algo) {
  std::vector<uint8_t> sig(64, 0x5a);
  SetXattr(entry, kImaXattr,
           EncodeSignatureV2(XattrType::kDigsig, algo, 0x11223344, sig));
  return entry;
}

// --- ima_parse_add_rule(): lines ---------------------------------------

TEST(ImaPolicyGrammar, CommentAndBlankLinesAreSkipped) {
  EXPECT_TRUE(
      Accepted("# a comment\n\n   \n\t# indented comment\n"
               "appraise fowner=0\n"));
}

TEST(ImaPolicyGrammar, HashAfterARuleIsRefusedNamingTheLine) {
  std::string why = Refusal("appraise fowner=1000\nappraise fowner=0 # root\n");
  EXPECT_THAT(why, HasSubstr("p:2: unknown condition '#'"));
  EXPECT_THAT(why, HasSubstr("keep its boot policy"));
  // A '#' glued to the last token makes that token invalid too.
  EXPECT_FALSE(Accepted("appraise fowner=0#root\n"));
}

TEST(ImaPolicyGrammar, PolicyWithoutRulesIsRefused) {
  EXPECT_THAT(Refusal("# nothing\n\n"), HasSubstr("no rules"));
}

TEST(ImaPolicyGrammar, CarriageReturnIsPartOfTheToken) {
  EXPECT_FALSE(Accepted("appraise fowner=0\r\n"));
}

TEST(ImaPolicyGrammar, OverlongLineOrNulIsRefused) {
  EXPECT_FALSE(Accepted("appraise" + std::string(5000, ' ') + "fowner=0\n"));
  EXPECT_FALSE(Accepted(std::string("appraise fowner=0\0 x\n", 21)));
}

// --- ima_parse_rule(): actions and tokens ------------------------------

TEST(ImaPolicyGrammar, EveryRuleNeedsExactlyOneAction) {
  EXPECT_THAT(Refusal("fowner=0\n"), HasSubstr("no action"));
  EXPECT_FALSE(Accepted("appraise dont_appraise\n"));
  for (const char* action : {"measure", "dont_measure", "appraise",
                             "dont_appraise", "audit", "hash", "dont_hash"}) {
    EXPECT_TRUE(Accepted(std::string(action) + "\n")) << action;
  }
  EXPECT_FALSE(Accepted("apprise\n"));
}

TEST(ImaPolicyGrammar, UnknownTokenIsRefused) {
  EXPECT_EQ(Refusal("appraise\nappraise colour=red\n"),
            "p:2: unknown condition 'colour' (the kernel would refuse the "
            "policy and keep its boot policy)");
  EXPECT_FALSE(Accepted("appraise fowner_gt=5\n"));  // not a kernel spelling
  EXPECT_FALSE(Accepted("appraise permit_directio=1\n"));
  EXPECT_FALSE(Accepted("appraise func=\n"));  // "%s" needs a character
}

TEST(ImaPolicyGrammar, FuncNamesAndAliases) {
  for (const char* func :
       {"FILE_CHECK", "PATH_CHECK", "MODULE_CHECK", "FIRMWARE_CHECK",
        "FILE_MMAP", "MMAP_CHECK", "BPRM_CHECK", "CREDS_CHECK",
        "KEXEC_KERNEL_CHECK", "KEXEC_INITRAMFS_CHECK", "POLICY_CHECK"}) {
    EXPECT_TRUE(Accepted(std::string("appraise func=") + func + "\n")) << func;
  }
  EXPECT_FALSE(Accepted("appraise func=EXEC_CHECK\n"));
  EXPECT_FALSE(Accepted("appraise func=BPRM_CHECK func=FILE_CHECK\n"));
}

TEST(ImaPolicyGrammar, MmapCheckReqprotExistsFrom612Only) {
  const std::string rule = "appraise func=MMAP_CHECK_REQPROT\n";
  EXPECT_TRUE(Accepted(rule, k612));
  EXPECT_FALSE(Accepted(rule, k61));
  // 6.6: between the two sources, so refused as not modelled.
  EXPECT_THAT(Refusal(rule, Kernel(6, 6)),
              HasSubstr("parse this rule differently"));
}

TEST(ImaPolicyGrammar, KernelOutsideTheModelledRangeIsRefused) {
  EXPECT_THAT(Refusal("appraise fowner=0\n", Kernel(5, 15)),
              HasSubstr("not modelled"));
  EXPECT_FALSE(Accepted("appraise fowner=0\n", Kernel(6, 13)));
  EXPECT_TRUE(Accepted("appraise fowner=0\n", Kernel(6, 6)));
}

TEST(ImaPolicyGrammar, MaskTakesOneMayBitOptionallyWithCaret) {
  EXPECT_TRUE(Accepted("appraise mask=MAY_READ\n"));
  EXPECT_TRUE(Accepted("appraise mask=^MAY_EXEC\n"));
  EXPECT_FALSE(Accepted("appraise mask=MAY_OPEN\n"));
  EXPECT_FALSE(Accepted("appraise mask=MAY_READ mask=MAY_EXEC\n"));
}

TEST(ImaPolicyGrammar, OwnerConditionsTakeDecimalIds) {
  EXPECT_TRUE(Accepted("appraise fowner=0 fgroup>10\n"));
  EXPECT_TRUE(Accepted("appraise fowner<1000 fgroup<5\n"));
  EXPECT_FALSE(Accepted("appraise fowner=x\n"));
  EXPECT_FALSE(Accepted("appraise fowner=0x10\n"));
  EXPECT_FALSE(Accepted("appraise fowner=4294967295\n"));  // INVALID_UID
  EXPECT_FALSE(Accepted("appraise fowner=0 fowner>5\n"));
  // uid and euid (gid and egid) share one slot of the rule.
  EXPECT_FALSE(Accepted("appraise uid=0 euid=0\n"));
  EXPECT_FALSE(Accepted("appraise gid=0 egid=0\n"));
  EXPECT_TRUE(Accepted("appraise uid=0 gid=0\n"));
}

TEST(ImaPolicyGrammar, FileSystemConditions) {
  EXPECT_TRUE(Accepted("dont_appraise fsmagic=0x9fa0\n"));
  EXPECT_TRUE(Accepted("dont_appraise fsmagic=EF53\n"));
  EXPECT_FALSE(Accepted("dont_appraise fsmagic=proc\n"));
  EXPECT_FALSE(Accepted("dont_appraise fsmagic=1 fsmagic=2\n"));
  EXPECT_TRUE(Accepted("dont_appraise fsname=tmpfs\n"));
  EXPECT_TRUE(
      Accepted("appraise fsuuid=0D1E2C3B-aaaa-4bbb-8ccc-0123456789ab\n"));
  EXPECT_FALSE(Accepted("appraise fsuuid=0d1e2c3b-aaaa-4bbb-8ccc\n"));
  EXPECT_FALSE(
      Accepted("appraise fsuuid=0d1e2c3b-aaaa-4bbb-8ccc-0123456789ab "
               "fsuuid=1d1e2c3b-aaaa-4bbb-8ccc-0123456789ab\n"));
}

TEST(ImaPolicyGrammar, LsmConditionsOnceEach) {
  EXPECT_TRUE(Accepted("dont_appraise obj_type=var_log_t subj_user=u\n"));
  EXPECT_FALSE(Accepted("dont_appraise obj_type=a obj_type=b\n"));
}

TEST(ImaPolicyGrammar, ModsigAloneIsRefused) {
  std::string why =
      Refusal("appraise func=MODULE_CHECK appraise_type=modsig\n");
  EXPECT_THAT(why, HasSubstr("p:1: appraise_type=modsig"));
}

TEST(ImaPolicyGrammar, ImasigModsigNeedsTheKernelOptionAndAModuleHook) {
  const std::string rule =
      "appraise func=MODULE_CHECK appraise_type=imasig|modsig\n";
  EXPECT_FALSE(Accepted(rule, k612));  // Debian: no CONFIG_IMA_APPRAISE_MODSIG
  EXPECT_TRUE(Accepted(rule, Kernel(6, 12, true)));
  EXPECT_TRUE(Accepted(rule, Kernel(6, 1, true)));
  EXPECT_FALSE(
      Accepted("appraise func=BPRM_CHECK appraise_type=imasig|modsig\n",
               Kernel(6, 12, true)));
}

TEST(ImaPolicyGrammar, Sigv3NeedsDigestTypeVerityBeforeIt) {
  for (const PolicyContext& k : {k61, k612}) {
    std::string why = Refusal("appraise appraise_type=sigv3\n", k);
    EXPECT_THAT(why, HasSubstr("needs digest_type=verity"));
    EXPECT_TRUE(
        Accepted("appraise digest_type=verity appraise_type=sigv3\n", k));
    EXPECT_FALSE(
        Accepted("appraise appraise_type=sigv3 digest_type=verity\n", k));
    // Appraising verity digests needs a signature type.
    EXPECT_FALSE(Accepted("appraise digest_type=verity\n", k));
    EXPECT_FALSE(
        Accepted("appraise digest_type=verity appraise_type=imasig\n", k));
    EXPECT_TRUE(Accepted("measure digest_type=verity\n", k));
    EXPECT_FALSE(Accepted("measure digest_type=sha256\n", k));
    EXPECT_FALSE(
        Accepted("appraise appraise_type=imasig digest_type=verity\n", k));
    EXPECT_FALSE(Accepted(
        "appraise func=MODULE_CHECK digest_type=verity appraise_type=sigv3\n",
        k));
  }
}

TEST(ImaPolicyGrammar, AppraiseTypeOnlyOnAppraiseRules) {
  EXPECT_TRUE(Accepted("appraise appraise_type=imasig\n"));
  EXPECT_FALSE(Accepted("measure appraise_type=imasig\n"));
  EXPECT_FALSE(Accepted("dont_appraise appraise_type=imasig\n"));
  EXPECT_FALSE(Accepted("appraise appraise_type=sha256\n"));
}

TEST(ImaPolicyGrammar, AppraiseFlagChangedIn612) {
  const std::string rule =
      "appraise appraise_type=imasig appraise_flag=check_blacklist\n";
  EXPECT_TRUE(Accepted(rule, k612));  // accepted and ignored
  EXPECT_FALSE(Accepted(rule, k61));  // needs modsig, and imasig|modsig
  EXPECT_FALSE(Accepted(rule, Kernel(6, 6)));
  EXPECT_TRUE(
      Accepted("appraise func=MODULE_CHECK appraise_type=imasig|modsig "
               "appraise_flag=check_blacklist\n",
               Kernel(6, 1, true)));
  // 6.1: the blacklist check needs imasig|modsig.
  EXPECT_FALSE(
      Accepted("appraise appraise_flag=check_blacklist\n", Kernel(6, 1, true)));
  EXPECT_FALSE(
      Accepted("measure appraise_flag=check_blacklist\n", Kernel(6, 1, true)));
}

TEST(ImaPolicyGrammar, AppraiseAlgosTakesAvailableKernelHashNames) {
  EXPECT_TRUE(Accepted("appraise appraise_algos=sha256,sha384,sha512\n"));
  EXPECT_FALSE(Accepted("appraise appraise_algos=sha256,\n"));
  EXPECT_FALSE(Accepted("appraise appraise_algos=SHA256\n"));
  EXPECT_THAT(Refusal("appraise appraise_algos=md5\n"),
              HasSubstr("may not be built"));
  // sha3-256 is a name in 6.12's hash_info only.
  EXPECT_THAT(Refusal("appraise appraise_algos=sha3-256\n", k61),
              HasSubstr("unknown hash algorithm"));
  EXPECT_FALSE(
      Accepted("appraise appraise_algos=sha256 appraise_algos=sha512\n"));
  EXPECT_FALSE(Accepted("measure appraise_algos=sha256\n"));
}

TEST(ImaPolicyGrammar, MeasureOnlyOptions) {
  EXPECT_TRUE(Accepted("measure pcr=11 template=ima-sig\n"));
  EXPECT_FALSE(Accepted("appraise pcr=11\n"));
  EXPECT_FALSE(Accepted("measure pcr=99\n"));
  EXPECT_FALSE(Accepted("template=ima-sig measure\n"));  // action first
  EXPECT_FALSE(Accepted("measure template=ima-fancy\n"));
  EXPECT_FALSE(Accepted("measure template=ima template=ima-ng\n"));
  EXPECT_TRUE(Accepted("appraise permit_directio\n"));
}

TEST(ImaPolicyGrammar, NonFileHooksTakeTheirOwnConditions) {
  EXPECT_TRUE(Accepted("measure func=KEY_CHECK keyrings=.ima|.evm\n"));
  EXPECT_FALSE(Accepted("appraise func=KEY_CHECK\n"));
  EXPECT_FALSE(Accepted("measure keyrings=.ima\n"));  // needs KEY_CHECK
  EXPECT_FALSE(
      Accepted("measure func=KEY_CHECK keyrings=.ima keyrings=.evm\n"));
  EXPECT_FALSE(
      Accepted("measure func=CRITICAL_DATA label=selinux label=kernel\n"));
  EXPECT_FALSE(Accepted("measure func=KEY_CHECK subj_type=t\n"));
  EXPECT_TRUE(Accepted("measure func=CRITICAL_DATA label=selinux\n"));
  EXPECT_TRUE(Accepted("measure func=KEXEC_CMDLINE\n"));
  EXPECT_FALSE(Accepted("appraise func=KEXEC_CMDLINE\n"));
  EXPECT_TRUE(Accepted("appraise func=SETXATTR_CHECK appraise_algos=sha256\n"));
  EXPECT_FALSE(Accepted("appraise func=SETXATTR_CHECK\n"));
  EXPECT_FALSE(Accepted(
      "appraise func=SETXATTR_CHECK appraise_algos=sha256 fowner=0\n"));
}

// --- ima_match_policy(): what appraisal demands -------------------------

TEST(ImaPolicyEvaluate, FirstMatchingAppraiseRuleDecides) {
  ImaPolicy policy = Policy(
      "measure func=BPRM_CHECK\n"
      "dont_appraise fowner=1000\n"
      "appraise appraise_type=imasig\n"
      "appraise fowner=0\n");
  EXPECT_FALSE(policy.Evaluate(File("home/data", 0644, 1000)).appraised);
  Appraisal root = policy.Evaluate(File("etc/x", 0644));
  EXPECT_TRUE(root.appraised);
  EXPECT_TRUE(root.signature_required);
  EXPECT_EQ(root.rule, "3: appraise appraise_type=imasig");
}

TEST(ImaPolicyEvaluate, NoMatchingRuleMeansNotAppraised) {
  ImaPolicy policy = Policy("appraise fgroup=0\n");
  EXPECT_FALSE(policy.Evaluate(0, 42).appraised);
  EXPECT_TRUE(ImaPolicy::AppraiseTcb().Evaluate(0, 42).appraised);
  EXPECT_FALSE(ImaPolicy::AppraiseTcb().Evaluate(1, 0).appraised);
}

// The hooks (and FILE_CHECK masks) at which `appraisal` appraises.
std::vector<std::string> Hooks(const Appraisal& appraisal) {
  std::vector<std::string> out;
  for (const HookDemand& demand : appraisal.hooks) {
    std::string name(HookName(demand.access.hook));
    if (demand.access.hook == PolicyHook::kFileCheck) {
      name += ":" + std::to_string(demand.access.mask);
    }
    out.push_back(name);
  }
  return out;
}

using Names = std::vector<std::string>;

TEST(ImaPolicyEvaluate, BprmCheckReachesProgramsOnly) {
  ImaPolicy policy = Policy("appraise func=BPRM_CHECK appraise_type=imasig\n");
  Appraisal tool = policy.Evaluate(File("usr/bin/tool", 0755));
  EXPECT_TRUE(tool.appraised);
  EXPECT_TRUE(tool.signature_required);
  EXPECT_EQ(Hooks(tool), Names{"BPRM_CHECK"});
  EXPECT_TRUE(policy.Evaluate(File("usr/bin/only-group-x", 0610)).appraised);
  EXPECT_FALSE(policy.Evaluate(File("etc/motd", 0644)).appraised);
  // Shared objects are mapped, not executed, whatever their mode (Debian's
  // libc.so.6 is 0755): BPRM_CHECK never reaches them.
  for (const char* lib :
       {"usr/lib/x86_64-linux-gnu/libc.so.6", "lib64/ld-linux-x86-64.so.2",
        "lib/libc-2.31.so", "opt/ld.so"}) {
    EXPECT_FALSE(policy.Evaluate(File(lib, 0755)).appraised) << lib;
    EXPECT_FALSE(policy.Evaluate(File(lib, 0644)).appraised) << lib;
    // As a script's "#!" interpreter it is executed after all.
    EXPECT_EQ(Hooks(policy.Evaluate(File(lib, 0755), kReachExec)),
              Names{"BPRM_CHECK"})
        << lib;
  }
}

TEST(ImaPolicyEvaluate, SharedObjectsByName) {
  for (const char* lib :
       {"libc.so.6", "lib/ld-linux-x86-64.so.2", "libc-2.31.so", "ld.so",
        "ld-musl-x86_64.so.1", "usr/lib/libz.so.1.3"}) {
    EXPECT_TRUE(IsSharedObjectName(lib)) << lib;
  }
  for (const char* other : {"usr/bin/tool", "run/app.sock", "usr/bin/sort",
                            "lib/so/tool", "etc/resolv.conf"}) {
    EXPECT_FALSE(IsSharedObjectName(other)) << other;
  }
  EXPECT_EQ(ReachOf(File("usr/bin/tool", 0755)), kReachOpen | kReachExec);
  EXPECT_EQ(ReachOf(File("usr/lib/libc.so.6", 0755)), kReachOpen);
  EXPECT_EQ(ReachOf(File("etc/motd", 0644)), kReachOpen);
}

// Any regular file can be mapped with PROT_EXEC (ima_file_mmap() asks
// only for PROT_EXEC; 6.12 first asks MMAP_CHECK_REQPROT): data files too.
TEST(ImaPolicyEvaluate, MmapCheckReachesEveryRegularFile) {
  ImaPolicy policy = Policy("appraise func=MMAP_CHECK mask=MAY_EXEC\n");
  EXPECT_EQ(Hooks(policy.Evaluate(File("usr/lib/libz.so.1.3", 0644))),
            Names{"MMAP_CHECK"});
  EXPECT_EQ(Hooks(policy.Evaluate(File("usr/bin/tool", 0755))),
            Names{"MMAP_CHECK"});
  EXPECT_EQ(Hooks(policy.Evaluate(File("usr/share/doc/README", 0644))),
            Names{"MMAP_CHECK"});
  ImaPolicy reqprot = Policy("appraise func=MMAP_CHECK_REQPROT\n");
  EXPECT_EQ(Hooks(reqprot.Evaluate(File("etc/motd", 0644))),
            Names{"MMAP_CHECK_REQPROT"});
}

// 6.12's ima_file_mmap() asks MMAP_CHECK_REQPROT before MMAP_CHECK, and a
// rule without func= meets it; 6.1 has no such hook.
TEST(ImaPolicyEvaluate, MmapCheckReqprotOnlyWhereTheKernelHasIt) {
  const std::string text =
      "dont_appraise func=MMAP_CHECK\n"
      "dont_appraise func=FILE_CHECK\n"
      "appraise\n";
  EXPECT_FALSE(Policy(text, k61).Evaluate(File("etc/motd", 0644)).appraised);
  EXPECT_EQ(Hooks(Policy(text, k612).Evaluate(File("etc/motd", 0644))),
            Names{"MMAP_CHECK_REQPROT"});
  EXPECT_TRUE(Policy(text, Kernel(6, 6)).mmap_reqprot());
}

// FILE_CHECK with MAY_EXEC is execve's open (do_open_execat) and the
// kernel's open_exec() of an ELF interpreter: programs, and ld.so only
// as an interpreter.
TEST(ImaPolicyEvaluate, FileCheckMayExecIsTheExecOpen) {
  ImaPolicy policy = Policy("appraise func=FILE_CHECK mask=MAY_EXEC\n");
  EXPECT_EQ(Hooks(policy.Evaluate(File("usr/bin/tool", 0755))),
            Names{"FILE_CHECK:1"});
  const Entry ld = File("lib64/ld-linux-x86-64.so.2", 0755);
  EXPECT_FALSE(policy.Evaluate(ld).appraised);
  EXPECT_EQ(Hooks(policy.Evaluate(ld, kReachElfInterpreter)),
            Names{"FILE_CHECK:1"});
  EXPECT_FALSE(policy.Evaluate(File("usr/lib/libc.so.6", 0755)).appraised);
  EXPECT_FALSE(policy.Evaluate(File("etc/motd", 0644)).appraised);
}

// A rule without func= reaches every access; the order is the one the
// device meets them in.
TEST(ImaPolicyEvaluate, EveryAccessOfAProgram) {
  Appraisal all = Policy("appraise\n").Evaluate(File("usr/bin/tool", 0755));
  EXPECT_EQ(Hooks(all), (Names{"FILE_CHECK:1", "BPRM_CHECK", "CREDS_CHECK",
                               "FILE_CHECK:4", "FILE_CHECK:12", "FILE_CHECK:2",
                               "FILE_CHECK:10", "FILE_CHECK:6", "FILE_CHECK:14",
                               "MMAP_CHECK_REQPROT", "MMAP_CHECK"}));
}

TEST(ImaPolicyEvaluate, KernelReadHooksByPath) {
  ImaPolicy policy = Policy(
      "appraise func=MODULE_CHECK appraise_type=imasig\n"
      "appraise func=FIRMWARE_CHECK appraise_type=imasig\n"
      "appraise func=KEXEC_KERNEL_CHECK appraise_type=imasig\n"
      "appraise func=POLICY_CHECK appraise_type=imasig\n");
  EXPECT_TRUE(policy.Evaluate(File("lib/modules/6.1.0/kernel/x.ko.xz", 0644))
                  .appraised);
  EXPECT_TRUE(policy.Evaluate(File("usr/lib/firmware/a.bin", 0644)).appraised);
  EXPECT_TRUE(policy.Evaluate(File("boot/vmlinuz", 0644)).appraised);
  EXPECT_TRUE(policy.Evaluate(File("etc/ima/ima-policy", 0644)).appraised);
  EXPECT_FALSE(policy.Evaluate(File("usr/lib/modules.txt", 0644)).appraised);
  EXPECT_TRUE(policy.Evaluate(File("opt/drv/wifi.ko", 0644)).appraised);
  EXPECT_TRUE(
      policy.Evaluate(File("usr/lib/modules/6.1/vmlinuz", 0644)).appraised);
  EXPECT_FALSE(policy.Evaluate(File("usr/share/kobold.txt", 0644)).appraised);
}

TEST(ImaPolicyEvaluate, MaskIsExactUnlessCaret) {
  ImaPolicy exact = Policy("appraise func=FILE_CHECK mask=MAY_EXEC\n");
  EXPECT_FALSE(exact.Evaluate(File("etc/conf", 0644)).appraised);
  EXPECT_TRUE(exact.Evaluate(File("usr/bin/tool", 0755)).appraised);
  ImaPolicy read = Policy("appraise mask=^MAY_READ\n");
  EXPECT_TRUE(read.Evaluate(File("etc/conf", 0644)).appraised);
  ImaPolicy append = Policy("appraise func=FILE_CHECK mask=MAY_APPEND\n");
  EXPECT_FALSE(append.Evaluate(File("etc/conf", 0644)).appraised);
}

TEST(ImaPolicyEvaluate, OwnerAndGroupComparisons) {
  ImaPolicy policy = Policy(
      "dont_appraise fowner>999\n"
      "dont_appraise fgroup<10 fowner=5\n"
      "appraise\n");
  EXPECT_FALSE(policy.Evaluate(1000, 0).appraised);
  EXPECT_TRUE(policy.Evaluate(999, 0).appraised);
  EXPECT_FALSE(policy.Evaluate(5, 9).appraised);
  EXPECT_TRUE(policy.Evaluate(5, 10).appraised);
}

TEST(ImaPolicyEvaluate, ProcessConditionsGoTheWorstWay) {
  // A dont_appraise on the process may not apply: the file is appraised.
  Appraisal a = Policy("dont_appraise uid=0\nappraise appraise_type=imasig\n")
                    .Evaluate(0, 0);
  EXPECT_TRUE(a.appraised);
  EXPECT_TRUE(a.signature_required);
  // An appraise rule on the process may apply, or the stricter rule after
  // it may decide: both demands hold.
  Appraisal b = Policy(
                    "appraise euid=1000 appraise_algos=sha512\n"
                    "appraise appraise_type=imasig\n")
                    .Evaluate(0, 0);
  EXPECT_TRUE(b.signature_required);
  EXPECT_EQ(b.allowed_algos, 1u << 6);
  EXPECT_TRUE(Policy("appraise subj_type=init_t\n").Evaluate(0, 0).appraised);
  EXPECT_TRUE(Policy("dont_appraise obj_type=etc_t\nappraise\n")
                  .Evaluate(0, 0)
                  .appraised);
}

TEST(ImaPolicyEvaluate, FileSystemConditionsFromTheRootFsDescription) {
  const std::string text = "dont_appraise fsmagic=0xef53\nappraise\n";
  PolicyContext ext4 = k612;
  ext4.rootfs.magic = 0xef53;
  PolicyContext btrfs = k612;
  btrfs.rootfs.magic = 0x9123683e;
  EXPECT_FALSE(Policy(text, ext4).Evaluate(0, 0).appraised);
  EXPECT_TRUE(Policy(text, btrfs).Evaluate(0, 0).appraised);
  EXPECT_TRUE(Policy(text, k612).Evaluate(0, 0).appraised);  // unknown

  PolicyContext named = k612;
  named.rootfs.type = "ext4";
  EXPECT_FALSE(Policy("dont_appraise fsname=ext4\nappraise\n", named)
                   .Evaluate(0, 0)
                   .appraised);
  EXPECT_TRUE(Policy("dont_appraise fsname=xfs\nappraise\n", named)
                  .Evaluate(0, 0)
                  .appraised);
  PolicyContext uuid = k612;
  uuid.rootfs.uuid = "0d1e2c3b-aaaa-4bbb-8ccc-0123456789ab";
  EXPECT_FALSE(
      Policy("dont_appraise fsuuid=0D1E2C3B-AAAA-4BBB-8CCC-0123456789AB\n"
             "appraise\n",
             uuid)
          .Evaluate(0, 0)
          .appraised);
  // An appraise rule for another file system does not reach the rootfs.
  EXPECT_FALSE(
      Policy("appraise fsname=vfat\n", named).Evaluate(0, 0).appraised);
}

TEST(ImaPolicyEvaluate, AppraiseAlgosRefusesOtherHashes) {
  ImaPolicy policy = Policy("appraise appraise_algos=sha512\n");
  Appraisal a = policy.Evaluate(0, 0);
  auto unmet =
      UnmetPolicyDemand(SignedWith(File("f", 0644), HashAlgo::kSha256), a);
  ASSERT_TRUE(unmet.has_value());
  EXPECT_EQ(unmet->cause, "denied-hash-algorithm");
  EXPECT_THAT(unmet->reason,
              HasSubstr("uses sha256, the IMA policy allows only sha512"));
  EXPECT_EQ(unmet->hooks.size(), a.hooks.size());
  EXPECT_FALSE(
      UnmetPolicyDemand(SignedWith(File("f", 0644), HashAlgo::kSha512), a));
  Appraisal both =
      Policy("appraise appraise_algos=sha384,sha256\n").Evaluate(0, 0);
  EXPECT_FALSE(
      UnmetPolicyDemand(SignedWith(File("f", 0644), HashAlgo::kSha384), both));
  EXPECT_TRUE(
      UnmetPolicyDemand(SignedWith(File("f", 0644), HashAlgo::kSha512), both));
}

// process_measurement() checks the list of the rule that appraises at
// each hook: a SHA-256 file fails only where SHA-512 is demanded.
TEST(ImaPolicyEvaluate, AppraiseAlgosPerHook) {
  ImaPolicy policy = Policy(
      "appraise func=MMAP_CHECK appraise_algos=sha512\n"
      "appraise func=FILE_CHECK\n");
  const Entry file =
      SignedWith(File("usr/lib/libz.so.1", 0644), HashAlgo::kSha256);
  auto unmet = UnmetPolicyDemand(file, policy.Evaluate(file));
  ASSERT_TRUE(unmet.has_value());
  ASSERT_EQ(unmet->hooks.size(), 1u);
  EXPECT_EQ(unmet->hooks[0].hook, PolicyHook::kMmapCheck);
  EXPECT_THAT(unmet->reason, HasSubstr("(1: appraise func=MMAP_CHECK"));
}

TEST(ImaPolicyEvaluate, VerityRulesDemandFsVerity) {
  Appraisal a =
      Policy(
          "appraise func=BPRM_CHECK digest_type=verity appraise_type=sigv3\n")
          .Evaluate(File("usr/bin/tool", 0755));
  EXPECT_TRUE(a.verity_required);
  auto unmet = UnmetPolicyDemand(File("usr/bin/tool", 0755), a);
  ASSERT_TRUE(unmet.has_value());
  EXPECT_EQ(unmet->cause, "no-verity-digest");
  // A measure rule's digest_type=verity reaches the file's flags too.
  Appraisal b = Policy("measure func=FILE_CHECK digest_type=verity\nappraise\n")
                    .Evaluate(0, 0);
  EXPECT_TRUE(b.verity_required);
  // Not appraised: no demand.
  Appraisal c = Policy("measure digest_type=verity\n").Evaluate(0, 0);
  EXPECT_FALSE(c.verity_required);
}

}  // namespace
}  // namespace imab::verifier
