// ImaPolicy: a kernel IMA policy (ima-evm-formats.md §5.4) as the device's
// kernel would load and apply it, evaluated for the files of an update: what
// appraisal will demand of each one.
//
// Parse refuses, naming the line, every policy the kernel would refuse
// (ima_policy_grammar.h): the kernel refuses the whole write for one bad
// rule and keeps its boot policy, so the verifier would judge against rules
// the device never runs.
//
// Evaluate models ima_match_policy(): for each hook that can reach the file
// (decided from its mode, name and path), the rules of each action family
// are walked in order and the first match decides. File conditions (fowner,
// fgroup, func, mask) come from the manifest, file-system conditions
// (fsmagic, fsname, fsuuid) from device.conf's description of the root file
// system. Conditions nobody can know in advance (uid, euid, gid, egid,
// subj_*, obj_*, and the file system when device.conf does not describe it)
// may go either way: every rule that may match is a possible outcome, and
// the file must satisfy all of them. What appraisal flags persist across
// hooks in the kernel (signature and verity required) accumulates likewise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/entry.h"
#include "common/result.h"
#include "verifier/device_config.h"
#include "verifier/ima_policy_grammar.h"

namespace imab::verifier {

// Which kernel reads the policy, and what the files live on.
struct PolicyContext {
  PolicyGrammar grammar;
  RootFileSystem rootfs;
};

PolicyContext PolicyContextOf(const DeviceConfig& config);

// What the policy demands of one regular file.
struct Appraisal {
  bool appraised = false;
  bool signature_required = false;  // appraise_type=imasig, sigv3, ...
  bool verity_required = false;     // digest_type=verity
  uint32_t allowed_algos = 0;       // appraise_algos: 1 << hash_algo; 0 any
  // For messages: "LINE: RULE" of the first rule that may appraise the
  // file, and of the rules behind each demand.
  std::string rule;
  std::string signature_rule, verity_rule, algos_rule;
};

// The demand of `appraisal` that `entry` (as its security.ima stands) fails:
// (reason, kernel audit cause), or nullopt. A missing or malformed
// security.ima is left to the signature check.
std::optional<std::pair<std::string, std::string>> UnmetPolicyDemand(
    const Entry& entry, const Appraisal& appraisal);

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

  Appraisal Evaluate(const Entry& entry) const;
  // A non-executable regular file with this owner and group.
  Appraisal Evaluate(uint32_t owner, uint32_t group) const;

  size_t rule_count() const { return rules_.size(); }

 private:
  struct Rule {
    PolicyRule rule;
    std::string where;  // "LINE: TEXT"
  };
  struct Access {
    PolicyHook hook;
    int mask;
  };
  enum class Match { kNo, kMaybe, kYes };

  static std::vector<Access> Accesses(const Entry& entry);
  Match Matches(const PolicyRule& rule, const Access& access,
                const Entry& entry) const;
  void Walk(const Access& access, const Entry& entry, Appraisal& out,
            std::string& verity) const;

  std::vector<Rule> rules_;
  RootFileSystem rootfs_;
};

}  // namespace imab::verifier
