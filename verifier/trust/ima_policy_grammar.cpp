// The kernel's IMA policy rule grammar, written from ima_parse_rule() and
// ima_validate_rule() of security/integrity/ima/ima_policy.c in
// linux-source-6.1 (6.1.192) and linux-source-6.12 (6.12.118).
#include "verifier/trust/ima_policy_grammar.h"

#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <vector>

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

struct Hook {
  std::string_view name;
  PolicyHook hook;
  bool only_612;  // MMAP_CHECK_REQPROT: not in 6.1's table
};

constexpr std::array<Hook, 16> kHooks = {{
    {"FILE_CHECK", PolicyHook::kFileCheck, false},
    {"PATH_CHECK", PolicyHook::kFileCheck, false},
    {"MODULE_CHECK", PolicyHook::kModuleCheck, false},
    {"FIRMWARE_CHECK", PolicyHook::kFirmwareCheck, false},
    {"FILE_MMAP", PolicyHook::kMmapCheck, false},
    {"MMAP_CHECK", PolicyHook::kMmapCheck, false},
    {"MMAP_CHECK_REQPROT", PolicyHook::kMmapCheckReqprot, true},
    {"BPRM_CHECK", PolicyHook::kBprmCheck, false},
    {"CREDS_CHECK", PolicyHook::kCredsCheck, false},
    {"KEXEC_KERNEL_CHECK", PolicyHook::kKexecKernelCheck, false},
    {"KEXEC_INITRAMFS_CHECK", PolicyHook::kKexecInitramfsCheck, false},
    {"POLICY_CHECK", PolicyHook::kPolicyCheck, false},
    {"KEXEC_CMDLINE", PolicyHook::kKexecCmdline, false},
    // Needs CONFIG_IMA_MEASURE_ASYMMETRIC_KEYS, which defaults to y with
    // the asymmetric keys signature appraisal depends on.
    {"KEY_CHECK", PolicyHook::kKeyCheck, false},
    {"CRITICAL_DATA", PolicyHook::kCriticalData, false},
    {"SETXATTR_CHECK", PolicyHook::kSetxattrCheck, false},
}};

// hash_algo_name[] of crypto/hash_info.c. Only the SHA-1/SHA-2 family is
// taken as available (crypto_has_alg): IMA selects SHA-1 and a device that
// checks SHA-2 signatures has SHA-2; for the rest it depends on the
// kernel's configuration, so a rule naming them may be refused.
struct Algo {
  std::string_view name;
  int id;
  bool available;
  bool only_612;
};
constexpr std::array<Algo, 23> kAlgos = {{
    {"md4", 0, false, false},          {"md5", 1, false, false},
    {"sha1", 2, true, false},          {"rmd160", 3, false, false},
    {"sha256", 4, true, false},        {"sha384", 5, true, false},
    {"sha512", 6, true, false},        {"sha224", 7, true, false},
    {"rmd128", 8, false, false},       {"rmd256", 9, false, false},
    {"rmd320", 10, false, false},      {"wp256", 11, false, false},
    {"wp384", 12, false, false},       {"wp512", 13, false, false},
    {"tgr128", 14, false, false},      {"tgr160", 15, false, false},
    {"tgr192", 16, false, false},      {"sm3", 17, false, false},
    {"streebog256", 18, false, false}, {"streebog512", 19, false, false},
    {"sha3-256", 20, false, true},     {"sha3-384", 21, false, true},
    {"sha3-512", 22, false, true},
}};

// The templates of ima_template.c's builtin_templates[].
constexpr std::array<std::string_view, 8> kTemplates = {
    "ima",       "ima-ng",  "ima-sig",    "ima-ngv2",
    "ima-sigv2", "ima-buf", "ima-modsig", "evm-sig"};

Status Refuse(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// kstrtoul(): an optional '+', for base 16 an optional "0x", then digits,
// nothing after them.
std::optional<uint64_t> KernelNumber(std::string_view text, int base) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  if (base == 16 && text.size() > 2 && text[0] == '0' &&
      (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  uint64_t value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// uuid_parse(): exactly xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
std::optional<std::string> KernelUuid(std::string_view text) {
  if (text.size() != 36) {
    return std::nullopt;
  }
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (c == '-')) {
      return std::nullopt;
    }
    if (!dash && !std::isxdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

class RuleParser {
 public:
  explicit RuleParser(Kernel kernel, bool modsig)
      : kernel_(kernel), modsig_(modsig) {}

  Result<PolicyRule> Parse(std::string_view line);

 private:
  Status Token(std::string_view token);
  Status Action(PolicyAction action);
  Status Keyed(std::string_view key, char op, std::string_view value);
  Status Func(std::string_view value);
  Status Mask(std::string_view value);
  Status FileSystem(std::string_view key, std::string_view value);
  Status Id(std::string_view key, char op, std::string_view value);
  Status DigestType(std::string_view value);
  Status AppraiseType(std::string_view value);
  Status AppraiseFlag(std::string_view value);
  Status AppraiseAlgos(std::string_view value);
  Status Measurement(std::string_view key, std::string_view value);
  Status Validate() const;
  Status ValidateHook() const;

  Kernel kernel_;
  bool modsig_;
  std::optional<PolicyAction> action_;
  uint32_t flags_ = 0;
  int lsm_ = 0;  // bit per obj_/subj_ condition
  bool uid_set_ = false, gid_set_ = false;
  bool template_set_ = false;
  PolicyRule rule_;
};

Result<PolicyRule> RuleParser::Parse(std::string_view line) {
  size_t i = 0;
  while (i < line.size()) {
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      ++i;
    }
    if (i > start) {
      IMAB_RETURN_IF_ERROR(Token(line.substr(start, i - start)));
    }
    ++i;
  }
  IMAB_RETURN_IF_ERROR(Validate());
  rule_.action = *action_;
  rule_.digsig_required = (flags_ & kDigsig) != 0;
  rule_.modsig_allowed = (flags_ & kModsig) != 0;
  rule_.verity_required = (flags_ & kVerity) != 0;
  return rule_;
}

Status RuleParser::Token(std::string_view token) {
  static constexpr std::array<std::pair<std::string_view, PolicyAction>, 7>
      kActions = {{{"measure", PolicyAction::kMeasure},
                   {"dont_measure", PolicyAction::kDontMeasure},
                   {"appraise", PolicyAction::kAppraise},
                   {"dont_appraise", PolicyAction::kDontAppraise},
                   {"audit", PolicyAction::kAudit},
                   {"hash", PolicyAction::kHash},
                   {"dont_hash", PolicyAction::kDontHash}}};
  for (const auto& [name, action] : kActions) {
    if (token == name) {
      return Action(action);
    }
  }
  if (token == "permit_directio") {
    flags_ |= kDirectio;
    return OkStatus();
  }
  size_t op = token.find_first_of("=<>");
  // match_token()'s "%s" needs at least one character.
  if (op == std::string_view::npos || op + 1 == token.size()) {
    return Refuse("unknown condition '" + std::string(token) + "'");
  }
  return Keyed(token.substr(0, op), token[op], token.substr(op + 1));
}

Status RuleParser::Action(PolicyAction action) {
  if (action_.has_value()) {
    return Refuse("a second action");
  }
  action_ = action;
  return OkStatus();
}

Status RuleParser::Keyed(std::string_view key, char op,
                         std::string_view value) {
  static constexpr std::array<std::string_view, 6> kIds = {
      "uid", "euid", "gid", "egid", "fowner", "fgroup"};
  for (std::string_view id : kIds) {
    if (key == id) {
      return Id(key, op, value);
    }
  }
  const std::string token = std::string(key) + op + std::string(value);
  if (op != '=') {
    return Refuse("unknown condition '" + token + "'");
  }
  static constexpr std::array<std::string_view, 6> kLsm = {
      "obj_user",  "obj_role",  "obj_type",
      "subj_user", "subj_role", "subj_type"};
  for (size_t i = 0; i < kLsm.size(); ++i) {
    if (key == kLsm[i]) {
      // Refused when the LSM knows the rule and it is given twice: the
      // verifier does not know the LSM, so refuse any repetition.
      if ((lsm_ & (1 << i)) != 0) {
        return Refuse(std::string(key) + " given twice");
      }
      lsm_ |= 1 << i;
      (i < 3 ? rule_.label_condition : rule_.process_condition) = true;
      return OkStatus();
    }
  }
  if (key == "func") {
    return Func(value);
  }
  if (key == "mask") {
    return Mask(value);
  }
  if (key == "fsmagic" || key == "fsname" || key == "fsuuid") {
    return FileSystem(key, value);
  }
  if (key == "digest_type") {
    return DigestType(value);
  }
  if (key == "appraise_type") {
    return AppraiseType(value);
  }
  if (key == "appraise_flag") {
    return AppraiseFlag(value);
  }
  if (key == "appraise_algos") {
    return AppraiseAlgos(value);
  }
  return Measurement(key, value);
}

Status RuleParser::DigestType(std::string_view value) {
  if ((flags_ & kDigsig) != 0 || value != "verity") {
    return Refuse("digest_type=" + std::string(value) +
                  ": only 'verity', and before appraise_type");
  }
  flags_ |= kVerity;
  return OkStatus();
}

Status RuleParser::AppraiseFlag(std::string_view value) {
  if (kernel_ == Kernel::k612) {
    return OkStatus();  // accepted and ignored since 6.12's rework
  }
  if (!modsig_ || value.find("blacklist") == std::string_view::npos) {
    return Refuse("appraise_flag=" + std::string(value) +
                  ": needs CONFIG_IMA_APPRAISE_MODSIG and check_blacklist");
  }
  flags_ |= kBlacklist;
  return OkStatus();
}

Status RuleParser::Func(std::string_view value) {
  if (rule_.func != PolicyHook::kNone) {
    return Refuse("func given twice");
  }
  for (const Hook& hook : kHooks) {
    if (hook.name == value && (!hook.only_612 || kernel_ == Kernel::k612)) {
      rule_.func = hook.hook;
      flags_ |= kFunc;
      return OkStatus();
    }
  }
  return Refuse("func=" + std::string(value) + ": unknown hook");
}

Status RuleParser::Mask(std::string_view value) {
  if (rule_.mask != 0) {
    return Refuse("mask given twice");
  }
  bool any_bit = !value.empty() && value.front() == '^';
  std::string_view name = any_bit ? value.substr(1) : value;
  static constexpr std::array<std::pair<std::string_view, int>, 4> kBits = {
      {{"MAY_EXEC", kMayExec},
       {"MAY_WRITE", kMayWrite},
       {"MAY_READ", kMayRead},
       {"MAY_APPEND", kMayAppend}}};
  for (const auto& [bit_name, bit] : kBits) {
    if (name == bit_name) {
      rule_.mask = bit;
      rule_.mask_any_bit = any_bit;
      flags_ |= any_bit ? kInMask : kMask;
      return OkStatus();
    }
  }
  return Refuse("mask=" + std::string(value) + ": unknown");
}

Status RuleParser::FileSystem(std::string_view key, std::string_view value) {
  if (key == "fsmagic") {
    if (rule_.fsmagic.value_or(0) != 0) {
      return Refuse("fsmagic given twice");
    }
    rule_.fsmagic = KernelNumber(value, 16);
    if (!rule_.fsmagic.has_value()) {
      return Refuse("fsmagic=" + std::string(value) + ": not hexadecimal");
    }
    flags_ |= kFsMagic;
  } else if (key == "fsname") {
    rule_.fsname = std::string(value);  // a repeated fsname replaces
    flags_ |= kFsName;
  } else {
    if (rule_.fsuuid.has_value() &&
        *rule_.fsuuid != "00000000-0000-0000-0000-000000000000") {
      return Refuse("fsuuid given twice");
    }
    rule_.fsuuid = KernelUuid(value);
    if (!rule_.fsuuid.has_value()) {
      return Refuse("fsuuid=" + std::string(value) + ": not a UUID");
    }
    flags_ |= kFsUuid;
  }
  return OkStatus();
}

Status RuleParser::Id(std::string_view key, char op, std::string_view value) {
  const bool file = key == "fowner" || key == "fgroup";
  // uid and euid share one slot in the rule, as do gid and egid.
  bool& set = key == "uid" || key == "euid" ? uid_set_ : gid_set_;
  std::optional<IdCondition>& slot =
      key == "fowner" ? rule_.fowner : rule_.fgroup;
  if (file ? slot.has_value() : set) {
    return Refuse(std::string(key) + ": a second owner condition");
  }
  std::optional<uint64_t> number = KernelNumber(value, 10);
  // An id must fit uid_t and not be (uid_t)-1, the invalid id.
  if (!number.has_value() || *number >= std::numeric_limits<uint32_t>::max()) {
    return Refuse(std::string(key) + ": '" + std::string(value) +
                  "' is not a number");
  }
  IdCondition c;
  c.compare = op == '='   ? IdCompare::kEqual
              : op == '>' ? IdCompare::kGreater
                          : IdCompare::kLess;
  c.value = static_cast<uint32_t>(*number);
  static constexpr std::array<std::pair<std::string_view, Flag>, 6> kFlags = {
      {{"uid", kUid},
       {"euid", kEuid},
       {"gid", kGid},
       {"egid", kEgid},
       {"fowner", kFowner},
       {"fgroup", kFgroup}}};
  for (const auto& [name, flag] : kFlags) {
    if (key == name) {
      flags_ |= flag;
    }
  }
  if (file) {
    slot = c;
  } else {
    set = true;
    rule_.process_condition = true;
  }
  return OkStatus();
}

Status RuleParser::AppraiseType(std::string_view value) {
  const bool verity = (flags_ & kVerity) != 0;
  // 6.12 adds IMA_CHECK_BLACKLIST to every signature type.
  const uint32_t blacklist =
      kernel_ == Kernel::k612 ? static_cast<uint32_t>(kBlacklist) : 0u;
  if (value == "imasig" && !verity) {
    flags_ |= kDigsig | blacklist;
  } else if (value == "sigv3" && verity) {
    flags_ |= kDigsig | blacklist;
  } else if (value == "imasig|modsig" && modsig_ && !verity) {
    flags_ |= kDigsig | kModsig | blacklist;
  } else {
    return Refuse("appraise_type=" + std::string(value) +
                  (value == "sigv3" ? ": needs digest_type=verity before it"
                   : value == "imasig|modsig"
                       ? ": needs CONFIG_IMA_APPRAISE_MODSIG (device.conf "
                         "ima-appraise-modsig) and no digest_type=verity"
                       : ": not imasig, imasig|modsig or sigv3 (with "
                         "digest_type=verity)"));
  }
  return OkStatus();
}

Status RuleParser::AppraiseAlgos(std::string_view value) {
  if (rule_.allowed_algos != 0) {
    return Refuse("appraise_algos given twice");
  }
  uint32_t allowed = 0;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    std::string_view name = value.substr(start, comma == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : comma - start);
    const Algo* found = nullptr;
    for (const Algo& algo : kAlgos) {
      if (algo.name == name && (!algo.only_612 || kernel_ == Kernel::k612)) {
        found = &algo;
      }
    }
    if (found == nullptr) {
      return Refuse("appraise_algos: unknown hash algorithm '" +
                    std::string(name) + "'");
    }
    if (!found->available) {
      return Refuse("appraise_algos: " + std::string(name) +
                    " may not be built into the kernel");
    }
    allowed |= 1u << found->id;
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  rule_.allowed_algos = allowed;
  flags_ |= kValidateAlgos;
  return OkStatus();
}

// Tokens that change only what is measured, or only non-file hooks.
Status RuleParser::Measurement(std::string_view key, std::string_view value) {
  if (key == "pcr") {
    std::optional<uint64_t> pcr = KernelNumber(value, 10);
    // INVALID_PCR: at least the bits of measured_pcrs (an unsigned long);
    // 32 on a 32-bit kernel.
    if (!pcr.has_value() || *pcr >= 32) {
      return Refuse("pcr=" + std::string(value) + ": not a PCR below 32");
    }
    flags_ |= kPcr;
    return OkStatus();
  }
  if (key == "template") {
    bool known = false;
    for (std::string_view name : kTemplates) {
      known = known || name == value;
    }
    if (action_ != PolicyAction::kMeasure || !known || template_set_) {
      return Refuse("template=" + std::string(value) +
                    ": a known template, once, after 'measure'");
    }
    template_set_ = true;
    return OkStatus();
  }
  if (key == "keyrings" || key == "label") {
    const Flag flag = key == "keyrings" ? kKeyrings : kLabel;
    if ((flags_ & flag) != 0) {
      return Refuse(std::string(key) + " given twice");
    }
    flags_ |= flag;
    return OkStatus();
  }
  return Refuse("unknown condition '" + std::string(key) + "'");
}

Status RuleParser::Validate() const {
  if (!action_.has_value()) {
    return Refuse("no action (measure, appraise, ...)");
  }
  const PolicyAction a = *action_;
  if (a != PolicyAction::kMeasure && (flags_ & kPcr) != 0) {
    return Refuse("pcr= is only for measure rules");
  }
  if (a != PolicyAction::kAppraise &&
      (flags_ & (kDigsig | kModsig | kBlacklist | kValidateAlgos)) != 0) {
    return Refuse(
        "appraise_type/appraise_flag/appraise_algos are only for "
        "appraise rules");
  }
  IMAB_RETURN_IF_ERROR(ValidateHook());
  const uint32_t blacklist_needs = kernel_ == Kernel::k612
                                       ? static_cast<uint32_t>(kDigsig)
                                       : static_cast<uint32_t>(kModsig);
  if ((flags_ & kBlacklist) != 0 && (flags_ & blacklist_needs) == 0) {
    return Refuse("appraise_flag=check_blacklist without a signature type");
  }
  if (a == PolicyAction::kAppraise && (flags_ & kVerity) != 0 &&
      (flags_ & kDigsig) == 0) {
    return Refuse("digest_type=verity on appraise needs appraise_type=sigv3");
  }
  return OkStatus();
}

// The per-hook switch of ima_validate_rule().
Status RuleParser::ValidateHook() const {
  const PolicyAction a = *action_;
  const bool measure_only =
      a == PolicyAction::kMeasure || a == PolicyAction::kDontMeasure;
  uint32_t allowed = 0;
  switch (rule_.func) {
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
      allowed |= rule_.func == PolicyHook::kKeyCheck ? kKeyrings : kLabel;
      if (!measure_only || lsm_ != 0) {
        return Refuse(
            "func=KEY_CHECK/CRITICAL_DATA: measure rules without "
            "LSM conditions only");
      }
      break;
    case PolicyHook::kSetxattrCheck:
      allowed = kFunc | kValidateAlgos;
      if (a != PolicyAction::kAppraise || (flags_ & kValidateAlgos) == 0) {
        return Refuse("func=SETXATTR_CHECK needs appraise and appraise_algos");
      }
      break;
  }
  if ((flags_ & ~allowed) != 0) {
    return Refuse("a condition or option this func= does not take");
  }
  return OkStatus();
}

}  // namespace

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
    return MakeError(
        ErrorCode::kInvalidArgument,
        "the IMA policy grammar of kernel " + std::to_string(v.major) + "." +
            std::to_string(v.minor) + " is not modelled (6.1 to 6.12 are)");
  }
  if (v == KernelVersion{6, 1} || v == KernelVersion{6, 12}) {
    Kernel k = v == KernelVersion{6, 1} ? Kernel::k61 : Kernel::k612;
    return RuleParser(k, grammar.modsig).Parse(line);
  }
  // In between: both must take it; the results differ only in the
  // blacklist check, which the verifier does not model.
  Result<PolicyRule> old_rule =
      RuleParser(Kernel::k61, grammar.modsig).Parse(line);
  Result<PolicyRule> new_rule =
      RuleParser(Kernel::k612, grammar.modsig).Parse(line);
  if (!old_rule.has_value() && !new_rule.has_value()) {
    return new_rule;
  }
  if (!old_rule.has_value() || !new_rule.has_value()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "6.1 and 6.12 parse this rule differently (" +
            (old_rule.has_value() ? "6.12: " + new_rule.error().message
                                  : "6.1: " + old_rule.error().message) +
            "); which way kernel " + std::to_string(v.major) + "." +
            std::to_string(v.minor) + " goes is not modelled");
  }
  return new_rule;
}

}  // namespace imab::verifier
