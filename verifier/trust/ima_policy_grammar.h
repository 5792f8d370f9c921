// One IMA policy rule as the device's kernel parses it: the token table,
// ima_parse_rule() and ima_validate_rule() of
// security/integrity/ima/ima_policy.c (linux-source-6.1 and -6.12). A rule
// the kernel would refuse is an error here, because the kernel refuses the
// whole policy write for one bad rule and keeps its boot policy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/read/result.h"
#include "verifier/device/device_config.h"

namespace imab::verifier {

// Which kernel parses the policy. The grammars of 6.1 and 6.12 are taken
// from their sources; for a release in between a rule is accepted only if
// both parse it, since the change may have landed on either side of it.
struct PolicyGrammar {
  KernelVersion version;
  // CONFIG_IMA_APPRAISE_MODSIG (off in Debian's kernels): enables
  // appraise_type=imasig|modsig and, on 6.1, appraise_flag=check_blacklist.
  bool modsig = false;
};

enum class PolicyAction {
  kMeasure,
  kDontMeasure,
  kAppraise,
  kDontAppraise,
  kAudit,
  kHash,
  kDontHash,
};

// The hooks of enum ima_hooks (ima.h), NONE when the rule names none.
enum class PolicyHook {
  kNone,
  kFileCheck,
  kMmapCheck,
  kMmapCheckReqprot,
  kBprmCheck,
  kCredsCheck,
  kPostSetattr,
  kModuleCheck,
  kFirmwareCheck,
  kKexecKernelCheck,
  kKexecInitramfsCheck,
  kPolicyCheck,
  kKexecCmdline,
  kKeyCheck,
  kCriticalData,
  kSetxattrCheck,
};

// The hook's name in policy syntax: "MMAP_CHECK", "FILE_CHECK".
std::string_view HookName(PolicyHook hook);

// The MAY_* bits of include/linux/fs.h the hooks pass as `mask`.
inline constexpr int kMayExec = 1;
inline constexpr int kMayWrite = 2;
inline constexpr int kMayRead = 4;
inline constexpr int kMayAppend = 8;

enum class IdCompare { kEqual, kGreater, kLess };

struct IdCondition {
  IdCompare compare = IdCompare::kEqual;
  uint32_t value = 0;
  bool Matches(uint32_t id) const;
};

struct PolicyRule {
  PolicyAction action = PolicyAction::kMeasure;
  PolicyHook func = PolicyHook::kNone;
  int mask = 0;               // 0: no mask condition
  bool mask_any_bit = false;  // mask=^MAY_X: any of the bits, else exact
  std::optional<uint64_t> fsmagic;
  std::optional<std::string> fsname;
  std::optional<std::string> fsuuid;  // canonical lower-case text
  std::optional<IdCondition> fowner, fgroup;
  // uid, euid, gid, egid, subj_*: the process opening the file; obj_*: the
  // file's LSM label. Neither is known from a manifest.
  bool process_condition = false;
  bool label_condition = false;
  bool digsig_required = false;  // appraise_type=imasig, sigv3, imasig|modsig
  bool modsig_allowed = false;
  bool verity_required = false;  // digest_type=verity
  uint32_t allowed_algos = 0;    // appraise_algos: bit 1 << hash_algo id
};

// Parses one non-comment line. kInvalidArgument with the reason (naming
// the token) for anything the kernel of `grammar` would refuse.
Result<PolicyRule> ParsePolicyRule(std::string_view line,
                                   const PolicyGrammar& grammar);

}  // namespace imab::verifier
