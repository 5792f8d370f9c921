// ImaPolicy: the appraise / dont_appraise rules of a kernel IMA policy
// (ima-evm-formats.md §5.4), evaluated from what the manifest says of a
// file: its owner and group. The verifier uses it to decide which files of
// an update the device's kernel will appraise.
//
// A rule condition the file's metadata cannot decide (func=, mask=, uid=,
// fsmagic=, LSM labels, ...) is resolved so that the verifier errs towards
// appraising: an `appraise` rule is taken to match, a `dont_appraise` rule
// is taken not to. Conditions on the process (uid, euid, gid, egid) cannot
// exempt a file either: root opens every file at boot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace imab::verifier {

// What the policy says about one regular file.
struct Appraisal {
  bool appraised = false;
  bool signature_required = false;  // appraise_type=imasig (or modsig)
  int line = 0;    // rule that decided, 1-based; 0 for "no rule matched"
  std::string rule;  // its text, for messages
};

class ImaPolicy {
 public:
  // Parses kernel policy syntax, one rule per line; blank lines and '#'
  // comments are skipped. kInvalidArgument naming `where`, the line and the
  // token for an unknown action, condition or option, or a bad number.
  static Result<ImaPolicy> Parse(std::string_view text,
                                 const std::string& where);

  // The kernel's built-in ima_policy=appraise_tcb as it applies to files
  // of a root file system: `appraise fowner=0`.
  static ImaPolicy AppraiseTcb();

  // First rule of the appraise family whose conditions match decides.
  Appraisal Evaluate(uint32_t owner, uint32_t group) const;

  size_t rule_count() const { return rules_.size(); }

 private:
  enum class Compare { kEqual, kGreater, kLess };
  struct IdCondition {
    bool on_group;  // fgroup, else fowner
    Compare compare;
    uint32_t value;
  };
  struct Rule {
    bool appraise;  // else dont_appraise
    bool signature_required = false;
    // A condition the metadata cannot decide: an appraise rule still
    // matches, a dont_appraise rule never does.
    bool undecidable = false;
    std::vector<IdCondition> ids;
    int line = 0;
    std::string text;
  };

  static Result<Rule> ParseRule(std::string_view line);
  static bool Matches(const IdCondition& c, uint32_t owner, uint32_t group);

  std::vector<Rule> rules_;
};

}  // namespace imab::verifier
