// The kernel's IMA policy rule grammar, written from ima_parse_rule() and
// ima_validate_rule() of security/integrity/ima/ima_policy.c in
// linux-source-6.1 (6.1.192) and linux-source-6.12 (6.12.118).
#include "verifier/trust/ima_policy_grammar.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace imab::verifier {
namespace {

// The rule flags of ima.h / ima_policy.c that ima_validate_rule() checks.
enum Flag : uint32_t {
  kFunc = 1u << 0,
  kMask = 1u << 1,
  kInMask = 1u << 2,
  kFsMagic = 1u << 3,
  kFsName = 1u << 4,
  kFsUuid = 1u << 5,
  kUid = 1u << 6,
  kEuid = 1u << 7,
  kGid = 1u << 8,
  kEgid = 1u << 9,
  kFowner = 1u << 10,
  kFgroup = 1u << 11,
  kPcr = 1u << 12,
  kKeyrings = 1u << 13,
  kLabel = 1u << 14,
  kValidateAlgos = 1u << 15,
  kDigsig = 1u << 16,
  kModsig = 1u << 17,
  kBlacklist = 1u << 18,
  kVerity = 1u << 19,
  kDirectio = 1u << 20,
};

// Conditions every file hook accepts (the NONE/FILE_CHECK/... case).
constexpr uint32_t kCommonFlags = kFunc | kMask | kFsMagic | kUid | kFowner |
                                  kFsUuid | kInMask | kEuid | kPcr | kFsName |
                                  kGid | kEgid | kFgroup | kDigsig | kDirectio |
                                  kValidateAlgos | kBlacklist;

enum class Kernel { k61, k612 };

// The names of enum ima_hooks, by PolicyHook. NONE and POST_SETATTR are
// no func= token. KEY_CHECK needs CONFIG_IMA_MEASURE_ASYMMETRIC_KEYS,
// which defaults to y with the asymmetric keys signature appraisal
// depends on; MMAP_CHECK_REQPROT is not in 6.1's table.
constexpr std::array<std::string_view, 16> kHookNames = {
    "NONE",
    "FILE_CHECK",
    "MMAP_CHECK",
    "MMAP_CHECK_REQPROT",
    "BPRM_CHECK",
    "CREDS_CHECK",
    "POST_SETATTR",
    "MODULE_CHECK",
    "FIRMWARE_CHECK",
    "KEXEC_KERNEL_CHECK",
    "KEXEC_INITRAMFS_CHECK",
    "POLICY_CHECK",
    "KEXEC_CMDLINE",
    "KEY_CHECK",
    "CRITICAL_DATA",
    "SETXATTR_CHECK"};
static_assert(kHookNames.size() ==
              static_cast<size_t>(PolicyHook::kSetxattrCheck) + 1);

// The old spellings the kernel still takes.
constexpr std::pair<std::string_view, PolicyHook> kHookAliases[] = {
    {"PATH_CHECK", PolicyHook::kFileCheck},
    {"FILE_MMAP", PolicyHook::kMmapCheck}};

// The actions, by PolicyAction.
constexpr std::array<std::string_view, 7> kActionNames = {
    "measure", "dont_measure", "appraise", "dont_appraise",
    "audit",   "hash",         "dont_hash"};

// mask=: MAY_EXEC, MAY_WRITE, MAY_READ, MAY_APPEND are bits 0 to 3.
constexpr std::array<std::string_view, 4> kMayNames = {
    "MAY_EXEC", "MAY_WRITE", "MAY_READ", "MAY_APPEND"};

// hash_algo_name[] of crypto/hash_info.c, by id; the SHA-3 ones (20 on)
// are not in 6.1's. Only the SHA-1/SHA-2 family is taken as available
// (crypto_has_alg): IMA selects SHA-1 and a device that checks SHA-2
// signatures has SHA-2; for the rest it depends on the kernel's
// configuration, so a rule naming them may be refused.
constexpr std::array<std::string_view, 23> kAlgoNames = {
    "md4",         "md5",         "sha1",     "rmd160",   "sha256",  "sha384",
    "sha512",      "sha224",      "rmd128",   "rmd256",   "rmd320",  "wp256",
    "wp384",       "wp512",       "tgr128",   "tgr160",   "tgr192",  "sm3",
    "streebog256", "streebog512", "sha3-256", "sha3-384", "sha3-512"};
constexpr size_t kFirstSha3 = 20;
constexpr uint32_t kAvailableAlgos =
    1u << 2 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7;

// The templates of ima_template.c's builtin_templates[].
constexpr std::array<std::string_view, 8> kTemplates = {
    "ima",       "ima-ng",  "ima-sig",    "ima-ngv2",
    "ima-sigv2", "ima-buf", "ima-modsig", "evm-sig"};

// The conditions on ids, with the flag each sets.
constexpr std::pair<std::string_view, Flag> kIds[] = {
    {"uid", kUid},   {"euid", kEuid},     {"gid", kGid},
    {"egid", kEgid}, {"fowner", kFowner}, {"fgroup", kFgroup}};

// The LSM conditions: obj_* on the file's label, subj_* on the process.
constexpr std::array<std::string_view, 6> kLsm = {
    "obj_user", "obj_role", "obj_type", "subj_user", "subj_role", "subj_type"};

// The index of `name` in `names`, or names.size().
template <size_t N>
size_t IndexOf(const std::array<std::string_view, N>& names,
               std::string_view name) {
  size_t i = 0;
  while (i < N && names[i] != name) {
    ++i;
  }
  return i;
}

Error Refuse(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// "KEY=VALUE: why", the refusal of one condition's value.
Error RefuseValue(std::string_view key, std::string_view value,
                  std::string_view why) {
  return Refuse(std::string(key) + "=" + std::string(value) + ": " +
                std::string(why));
}

// kstrtoul(..., 10): an optional '+', then digits, nothing after them.
std::optional<uint64_t> KernelNumber(std::string_view text) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  uint64_t value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}
// What ima_parse_rule() builds up over one rule's tokens.
struct RuleState {
  Kernel kernel = Kernel::k61;
  bool modsig = false;
  std::optional<PolicyAction> action;
  uint32_t flags = 0;
  int lsm = 0;  // bit per obj_/subj_ condition
  bool template_set = false;
  PolicyRule rule;
};

Status Lsm(RuleState& s, size_t index) {
  // Refused when the LSM knows the rule and it is given twice: the
  // verifier does not know the LSM, so refuse any repetition.
  if ((s.lsm & (1 << index)) != 0) {
    return Refuse(std::string(kLsm[index]) + " given twice");
  }
  s.lsm |= 1 << index;
  (index < 3 ? s.rule.label_condition : s.rule.process_condition) = true;
  return OkStatus();
}

Status Id(RuleState& s, std::string_view key, Flag flag, char op,
          std::string_view value) {
  // uid and euid share one slot in the rule, as do gid and egid.
  const uint32_t slot = (flag & (kUid | kEuid)) != 0   ? kUid | kEuid
                        : (flag & (kGid | kEgid)) != 0 ? kGid | kEgid
                                                       : flag;
  if ((s.flags & slot) != 0) {
    return Refuse(std::string(key) + ": a second owner condition");
  }
  std::optional<uint64_t> number = KernelNumber(value);
  // An id must fit uid_t and not be (uid_t)-1, the invalid id.
  if (!number.has_value() || *number >= std::numeric_limits<uint32_t>::max()) {
    return Refuse(std::string(key) + ": '" + std::string(value) +
                  "' is not a number");
  }
  const IdCondition condition{op == '='   ? IdCompare::kEqual
                              : op == '>' ? IdCompare::kGreater
                                          : IdCompare::kLess,
                              static_cast<uint32_t>(*number)};
  s.flags |= flag;
  if (flag == kFowner) {
    s.rule.fowner = condition;
  } else if (flag == kFgroup) {
    s.rule.fgroup = condition;
  } else {
    s.rule.process_condition = true;
  }
  return OkStatus();
}

Status Func(RuleState& s, std::string_view key, std::string_view value) {
  size_t hook = IndexOf(kHookNames, value);
  for (const auto& [alias, aliased] : kHookAliases) {
    if (value == alias) {
      hook = static_cast<size_t>(aliased);
    }
  }
  const auto func = static_cast<PolicyHook>(hook);
  if (hook == kHookNames.size() || func == PolicyHook::kNone ||
      func == PolicyHook::kPostSetattr ||
      (func == PolicyHook::kMmapCheckReqprot && s.kernel != Kernel::k612)) {
    return RefuseValue(key, value, "unknown hook");
  }
  s.rule.func = func;
  return OkStatus();
}

Status Mask(RuleState& s, std::string_view key, std::string_view value) {
  const bool any_bit = !value.empty() && value.front() == '^';
  const size_t bit = IndexOf(kMayNames, value.substr(any_bit ? 1 : 0));
  if (bit == kMayNames.size()) {
    return RefuseValue(key, value, "unknown");
  }
  s.rule.mask = 1 << bit;
  s.rule.mask_any_bit = any_bit;
  s.flags |= any_bit ? kInMask : kMask;
  return OkStatus();
}

Status FsMagic(RuleState& s, std::string_view key, std::string_view value) {
  // A repeated fsmagic=0 is no repetition to the kernel.
  if (s.rule.fsmagic.value_or(0) != 0) {
    return Refuse("fsmagic given twice");
  }
  // kstrtoul(..., 16): ParseFsMagic after an optional '+'.
  Result<uint64_t> magic = ParseFsMagic(
      std::string(value.substr(!value.empty() && value[0] == '+' ? 1 : 0)));
  if (!magic.has_value()) {
    return RefuseValue(key, value, "not hexadecimal");
  }
  s.rule.fsmagic = *magic;
  return OkStatus();
}

Status FsName(RuleState& s, std::string_view, std::string_view value) {
  s.rule.fsname = std::string(value);  // a repeated fsname replaces
  return OkStatus();
}

Status FsUuid(RuleState& s, std::string_view key, std::string_view value) {
  // The kernel takes the null UUID for "not given".
  if (s.rule.fsuuid.has_value() &&
      *s.rule.fsuuid != "00000000-0000-0000-0000-000000000000") {
    return Refuse("fsuuid given twice");
  }
  Result<std::string> uuid = ParseFsUuid(std::string(value));  // uuid_parse()
  if (!uuid.has_value()) {
    return RefuseValue(key, value, "not a UUID");
  }
  s.rule.fsuuid = std::move(*uuid);
  return OkStatus();
}

Status DigestType(RuleState& s, std::string_view key, std::string_view value) {
  if ((s.flags & kDigsig) != 0 || value != "verity") {
    return RefuseValue(key, value, "only 'verity', and before appraise_type");
  }
  return OkStatus();
}

Status AppraiseType(RuleState& s, std::string_view key,
                    std::string_view value) {
  const bool verity = (s.flags & kVerity) != 0;
  // 6.12 adds IMA_CHECK_BLACKLIST to every signature type.
  const uint32_t signature =
      kDigsig | (s.kernel == Kernel::k612 ? kBlacklist : 0u);
  if ((value == "imasig" && !verity) || (value == "sigv3" && verity)) {
    s.flags |= signature;
  } else if (value == "imasig|modsig" && s.modsig && !verity) {
    s.flags |= signature | kModsig;
  } else if (value == "sigv3") {
    return RefuseValue(key, value, "needs digest_type=verity before it");
  } else if (value == "imasig|modsig") {
    return RefuseValue(key, value,
                       "needs CONFIG_IMA_APPRAISE_MODSIG (device.conf "
                       "ima-appraise-modsig) and no digest_type=verity");
  } else {
    return RefuseValue(
        key, value,
        "not imasig, imasig|modsig or sigv3 (with digest_type=verity)");
  }
  return OkStatus();
}

Status AppraiseFlag(RuleState& s, std::string_view key,
                    std::string_view value) {
  if (s.kernel == Kernel::k612) {
    return OkStatus();  // accepted and ignored since 6.12's rework
  }
  if (!s.modsig || value.find("blacklist") == std::string_view::npos) {
    return RefuseValue(key, value,
                       "needs CONFIG_IMA_APPRAISE_MODSIG and check_blacklist");
  }
  s.flags |= kBlacklist;
  return OkStatus();
}

Status AppraiseAlgos(RuleState& s, std::string_view, std::string_view value) {
  uint32_t allowed = 0;
  for (size_t start = 0; start <= value.size();) {
    const size_t end = std::min(value.find(',', start), value.size());
    const std::string name(value.substr(start, end - start));
    const size_t id = IndexOf(kAlgoNames, name);
    if (id == kAlgoNames.size() ||
        (id >= kFirstSha3 && s.kernel != Kernel::k612)) {
      return Refuse("appraise_algos: unknown hash algorithm '" + name + "'");
    }
    if ((kAvailableAlgos & (1u << id)) == 0) {
      return Refuse("appraise_algos: " + name +
                    " may not be built into the kernel");
    }
    allowed |= 1u << id;
    start = end + 1;
  }
  s.rule.allowed_algos = allowed;
  return OkStatus();
}

Status Pcr(RuleState&, std::string_view key, std::string_view value) {
  std::optional<uint64_t> pcr = KernelNumber(value);
  // INVALID_PCR: at least the bits of measured_pcrs (an unsigned long);
  // 32 on a 32-bit kernel.
  if (!pcr.has_value() || *pcr >= 32) {
    return RefuseValue(key, value, "not a PCR below 32");
  }
  return OkStatus();
}

Status Template(RuleState& s, std::string_view key, std::string_view value) {
  if (s.action != PolicyAction::kMeasure ||
      IndexOf(kTemplates, value) == kTemplates.size() || s.template_set) {
    return RefuseValue(key, value, "a known template, once, after 'measure'");
  }
  s.template_set = true;
  return OkStatus();
}

// The key=value conditions: the parser of the value (none: any value
// goes), the flags that make a second one an error ("KEY given twice"),
// the flag a valid one sets.
struct Condition {
  std::string_view key;
  Status (*parse)(RuleState& s, std::string_view key, std::string_view value);
  uint32_t once;
  uint32_t sets;
};
constexpr Condition kConditions[] = {
    {"func", &Func, kFunc, kFunc},
    {"mask", &Mask, kMask | kInMask, 0},  // Mask sets one of them
    {"fsmagic", &FsMagic, 0, kFsMagic},
    {"fsname", &FsName, 0, kFsName},
    {"fsuuid", &FsUuid, 0, kFsUuid},
    {"digest_type", &DigestType, 0, kVerity},
    {"appraise_type", &AppraiseType, 0, 0},
    {"appraise_flag", &AppraiseFlag, 0, 0},
    {"appraise_algos", &AppraiseAlgos, kValidateAlgos, kValidateAlgos},
    {"pcr", &Pcr, 0, kPcr},
    {"template", &Template, 0, 0},
    // Conditions of the non-file hooks.
    {"keyrings", nullptr, kKeyrings, kKeyrings},
    {"label", nullptr, kLabel, kLabel}};

Status Keyed(RuleState& s, std::string_view key, char op,
             std::string_view value) {
  for (const auto& [name, flag] : kIds) {
    if (key == name) {
      return Id(s, key, flag, op, value);
    }
  }
  if (op != '=') {
    return Refuse("unknown condition '" + std::string(key) + op +
                  std::string(value) + "'");
  }
  if (size_t lsm = IndexOf(kLsm, key); lsm < kLsm.size()) {
    return Lsm(s, lsm);
  }
  for (const Condition& condition : kConditions) {
    if (key != condition.key) {
      continue;
    }
    if ((s.flags & condition.once) != 0) {
      return Refuse(std::string(key) + " given twice");
    }
    if (condition.parse != nullptr) {
      IMAB_RETURN_IF_ERROR(condition.parse(s, key, value));
    }
    s.flags |= condition.sets;
    return OkStatus();
  }
  return Refuse("unknown condition '" + std::string(key) + "'");
}

Status Token(RuleState& s, std::string_view token) {
  const size_t action = IndexOf(kActionNames, token);
  if (action < kActionNames.size()) {
    if (s.action.has_value()) {
      return Refuse("a second action");
    }
    s.action = static_cast<PolicyAction>(action);
    return OkStatus();
  }
  if (token == "permit_directio") {
    s.flags |= kDirectio;
    return OkStatus();
  }
  size_t op = token.find_first_of("=<>");
  // match_token()'s "%s" needs at least one character.
  if (op == std::string_view::npos || op + 1 == token.size()) {
    return Refuse("unknown condition '" + std::string(token) + "'");
  }
  return Keyed(s, token.substr(0, op), token[op], token.substr(op + 1));
}

// The per-hook switch of ima_validate_rule().
Status ValidateHook(const RuleState& s) {
  const PolicyAction a = *s.action;
  const bool measure_only =
      a == PolicyAction::kMeasure || a == PolicyAction::kDontMeasure;
  uint32_t allowed = 0;
  switch (s.rule.func) {
    case PolicyHook::kNone:
    case PolicyHook::kFileCheck:
    case PolicyHook::kMmapCheck:
    case PolicyHook::kMmapCheckReqprot:
    case PolicyHook::kBprmCheck:
    case PolicyHook::kCredsCheck:
    case PolicyHook::kPostSetattr:
    case PolicyHook::kFirmwareCheck:
    case PolicyHook::kPolicyCheck:
      allowed = kCommonFlags | kVerity;
      break;
    case PolicyHook::kModuleCheck:
    case PolicyHook::kKexecKernelCheck:
    case PolicyHook::kKexecInitramfsCheck:
      allowed = kCommonFlags | kModsig;
      break;
    case PolicyHook::kKexecCmdline:
      allowed = kFunc | kFsMagic | kUid | kFowner | kFsUuid | kEuid | kPcr |
                kFsName | kGid | kEgid | kFgroup;
      if (!measure_only) {
        return Refuse("func=KEXEC_CMDLINE is only for measure rules");
      }
      break;
    case PolicyHook::kKeyCheck:
    case PolicyHook::kCriticalData:
      allowed = kFunc | kUid | kGid | kPcr;
      allowed |= s.rule.func == PolicyHook::kKeyCheck ? kKeyrings : kLabel;
      if (!measure_only || s.lsm != 0) {
        return Refuse(
            "func=KEY_CHECK/CRITICAL_DATA: measure rules without "
            "LSM conditions only");
      }
      break;
    case PolicyHook::kSetxattrCheck:
      allowed = kFunc | kValidateAlgos;
      if (a != PolicyAction::kAppraise || (s.flags & kValidateAlgos) == 0) {
        return Refuse("func=SETXATTR_CHECK needs appraise and appraise_algos");
      }
      break;
  }
  if ((s.flags & ~allowed) != 0) {
    return Refuse("a condition or option this func= does not take");
  }
  return OkStatus();
}

Status Validate(const RuleState& s) {
  if (!s.action.has_value()) {
    return Refuse("no action (measure, appraise, ...)");
  }
  const PolicyAction a = *s.action;
  if (a != PolicyAction::kMeasure && (s.flags & kPcr) != 0) {
    return Refuse("pcr= is only for measure rules");
  }
  if (a != PolicyAction::kAppraise &&
      (s.flags & (kDigsig | kModsig | kBlacklist | kValidateAlgos)) != 0) {
    return Refuse(
        "appraise_type/appraise_flag/appraise_algos are only for "
        "appraise rules");
  }
  IMAB_RETURN_IF_ERROR(ValidateHook(s));
  const uint32_t blacklist_needs = s.kernel == Kernel::k612
                                       ? static_cast<uint32_t>(kDigsig)
                                       : static_cast<uint32_t>(kModsig);
  if ((s.flags & kBlacklist) != 0 && (s.flags & blacklist_needs) == 0) {
    return Refuse("appraise_flag=check_blacklist without a signature type");
  }
  if (a == PolicyAction::kAppraise && (s.flags & kVerity) != 0 &&
      (s.flags & kDigsig) == 0) {
    return Refuse("digest_type=verity on appraise needs appraise_type=sigv3");
  }
  return OkStatus();
}

Result<PolicyRule> ParseRule(Kernel kernel, bool modsig,
                             std::string_view line) {
  RuleState s;
  s.kernel = kernel;
  s.modsig = modsig;
  for (size_t start = 0; start < line.size();) {
    const size_t end = std::min(line.find_first_of(" \t", start), line.size());
    if (end > start) {
      IMAB_RETURN_IF_ERROR(Token(s, line.substr(start, end - start)));
    }
    start = end + 1;
  }
  IMAB_RETURN_IF_ERROR(Validate(s));
  s.rule.action = *s.action;
  s.rule.digsig_required = (s.flags & kDigsig) != 0;
  s.rule.modsig_allowed = (s.flags & kModsig) != 0;
  s.rule.verity_required = (s.flags & kVerity) != 0;
  return s.rule;
}

}  // namespace

std::string_view HookName(PolicyHook hook) {
  const auto index = static_cast<size_t>(hook);
  return index < kHookNames.size() ? kHookNames[index] : kHookNames[0];
}

bool IdCondition::Matches(uint32_t id) const {
  switch (compare) {
    case IdCompare::kEqual:
      return id == value;
    case IdCompare::kGreater:
      return id > value;
    case IdCompare::kLess:
      return id < value;
  }
  return false;
}

Result<PolicyRule> ParsePolicyRule(std::string_view line,
                                   const PolicyGrammar& grammar) {
  const KernelVersion v = grammar.version;
  if (v < KernelVersion{6, 1} || v > KernelVersion{6, 12}) {
    return Refuse("the IMA policy grammar of kernel " + KernelVersionName(v) +
                  " is not modelled (6.1 to 6.12 are)");
  }
  if (v == KernelVersion{6, 1} || v == KernelVersion{6, 12}) {
    Kernel k = v == KernelVersion{6, 1} ? Kernel::k61 : Kernel::k612;
    return ParseRule(k, grammar.modsig, line);
  }
  // In between: both must take it; the results differ only in the
  // blacklist check, which the verifier does not model.
  Result<PolicyRule> old_rule = ParseRule(Kernel::k61, grammar.modsig, line);
  Result<PolicyRule> new_rule = ParseRule(Kernel::k612, grammar.modsig, line);
  if (old_rule.has_value() == new_rule.has_value()) {
    return new_rule;
  }
  return Refuse("6.1 and 6.12 parse this rule differently (" +
                (old_rule.has_value() ? "6.12: " + new_rule.error().message
                                      : "6.1: " + old_rule.error().message) +
                "); which way kernel " + KernelVersionName(v) +
                " goes is not modelled");
}

}  // namespace imab::verifier
