// ImaPolicy: a kernel IMA policy (ima-evm-formats.md §5.4) as the device's
// kernel would load and apply it, evaluated for the files of an update: what
// appraisal will demand of each one.
//
// Parse refuses, naming the line, every policy the kernel would refuse
// (ima_policy_grammar.h): the kernel refuses the whole write for one bad
// rule and keeps its boot policy, so the verifier would judge against rules
// the device never runs.
//
// Evaluate models ima_match_policy() per hook, as the kernel appraises:
// each access through which a hook can reach the file (HookAccess, decided
// from how the device reaches it: Reach) is walked on its own, the rules of
// each action family in order, the first match deciding; the file is
// appraised at the accesses whose walk ends at an appraise rule, with that
// rule's demands, and only there. File conditions (fowner, fgroup, func,
// mask) come from the manifest, file-system conditions (fsmagic, fsname,
// fsuuid) from device.conf's description of the root file system.
// Conditions nobody can know in advance (uid, euid, gid, egid, subj_*,
// obj_*, and the file system when device.conf does not describe it) may go
// either way: every rule that may match is a possible outcome, and the file
// must satisfy all of them. What appraisal flags persist across hooks in
// the kernel's inode cache (signature and verity required) accumulates
// over every access likewise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/read/entry.h"
#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/trust/ima_policy_grammar.h"

namespace imab::verifier {

// Which kernel reads the policy, and what the files live on.
struct PolicyContext {
  PolicyGrammar grammar;
  RootFileSystem rootfs;
};

PolicyContext PolicyContextOf(const DeviceConfig& config);

// One access through which a hook reaches a file: the hook and the MAY_*
// mask it passes (FILE_CHECK the open's access mode, the mmap and exec
// hooks MAY_EXEC, the kernel's reads MAY_READ).
struct HookAccess {
  PolicyHook hook = PolicyHook::kNone;
  int mask = 0;
  bool operator==(const HookAccess&) const = default;
};

// How the device can reach a regular file; each way brings its accesses
// (ImaPolicy::Accesses).
enum Reach : unsigned {
  // open(2) for reading or writing, and mmap(PROT_EXEC) of what it opened:
  // every regular file, plus the kernel's own reads of modules, firmware,
  // kexec images and policy files, judged by name.
  kReachOpen = 1u << 0,
  // execve(2) of the file, directly or as a script's "#!" interpreter
  // (search_binary_handler() runs the bprm hook again for it).
  kReachExec = 1u << 1,
  // The ELF interpreter (PT_INTERP) of a program: the kernel opens it with
  // open_exec(), which passes MAY_EXEC to FILE_CHECK, and maps it.
  kReachElfInterpreter = 1u << 2,
};

// A shared object by name: "libc.so.6", "ld-linux-x86-64.so.2",
// "libc-2.31.so", "ld.so". Nobody executes these, though some carry an
// execute bit (Debian's libc.so.6 is 0755): they are mapped.
bool IsSharedObjectName(std::string_view path);

// What the manifest alone tells: kReachOpen, plus kReachExec for a program
// (a file with an execute bit that is not a shared object by name).
unsigned ReachOf(const Entry& entry);

// What the policy demands at one access that appraises the file.
struct HookDemand {
  HookAccess access;
  // "LINE: RULE" of the first rule that may appraise the file there.
  std::string rule;
  uint32_t allowed_algos = 0;  // appraise_algos: 1 << hash_algo; 0 any
  std::string algos_rule;
};

// What the policy demands of one regular file.
struct Appraisal {
  bool appraised = false;           // at one access or more
  bool signature_required = false;  // appraise_type=imasig, sigv3, ...
  bool verity_required = false;     // digest_type=verity
  // Every access's appraise_algos at once (for one-line summaries).
  uint32_t allowed_algos = 0;
  // For messages: "LINE: RULE" of the first rule that may appraise the
  // file, and of the rules behind each demand.
  std::string rule;
  std::string signature_rule, verity_rule, algos_rule;
  // Each access at which the file is appraised, in the order the device
  // meets them (execve's open, the bprm hooks, open, mmap, kernel reads).
  std::vector<HookDemand> hooks;
};

// A demand of the policy that a file fails: why, the kernel's audit cause,
// and the accesses at which it fails.
struct PolicyFailure {
  std::string reason;
  std::string cause;
  std::vector<HookAccess> hooks;
};

// The demand of `appraisal` that `entry` (as its security.ima stands)
// fails, or nullopt. A missing or malformed security.ima is left to the
// signature check.
std::optional<PolicyFailure> UnmetPolicyDemand(const Entry& entry,
                                               const Appraisal& appraisal);

class ImaPolicy {
 public:
  // One rule per line; lines that are empty or start with '#' (after
  // blanks) are skipped, as the kernel does; a '#' after a rule is a token
  // the kernel refuses. kInvalidArgument "WHERE:LINE: reason" for a rule
  // the kernel of `context` would refuse, or a policy without rules.
  static Result<ImaPolicy> Parse(std::string_view text,
                                 const std::string& where,
                                 const PolicyContext& context = {});

  // The kernel's built-in ima_policy=appraise_tcb as it applies to files
  // of a root file system: `appraise fowner=0`.
  static ImaPolicy AppraiseTcb();

  // The file as the device reaches it in the ways of `reach` (Reach
  // bits).
  Appraisal Evaluate(const Entry& entry, unsigned reach) const;
  // As the manifest alone tells: Evaluate(entry, ReachOf(entry)).
  Appraisal Evaluate(const Entry& entry) const;
  // A non-executable regular file with this owner and group.
  Appraisal Evaluate(uint32_t owner, uint32_t group) const;

  // The accesses of the hooks that can reach `entry` in the ways of
  // `reach`, on the kernel the policy is for.
  std::vector<HookAccess> Accesses(const Entry& entry, unsigned reach) const;

  // Whether the kernel calls MMAP_CHECK_REQPROT (6.12 does, 6.1 does not;
  // set from the version Parse() is given, true for a release in between
  // since the hook can only add appraisals). A rule without func= meets
  // it too, so it matters for every policy.
  bool mmap_reqprot() const { return mmap_reqprot_; }
  void set_mmap_reqprot(bool on) { mmap_reqprot_ = on; }

 private:
  struct Rule {
    PolicyRule rule;
    std::string where;  // "LINE: TEXT"
  };
  enum class Match { kNo, kMaybe, kYes };

  Match Matches(const PolicyRule& rule, const HookAccess& access,
                const Entry& entry) const;
  void Walk(const HookAccess& access, const Entry& entry, Appraisal& out,
            std::string& verity) const;

  std::vector<Rule> rules_;
  RootFileSystem rootfs_;
  bool mmap_reqprot_ = true;
};

}  // namespace imab::verifier
