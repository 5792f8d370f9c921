#include "verifier/trust/ima_policy.h"

#include <algorithm>
#include <array>
#include <initializer_list>

#include "common/read/hash_algo.h"
#include "common/read/ima_xattr.h"
#include "common/read/path_parts.h"

namespace imab::verifier {
namespace {

// ima_write_policy() takes at most PAGE_SIZE - 1 bytes per write, so a
// longer line would reach the parser cut.
constexpr size_t kMaxRuleBytes = 4094;

enum class Family { kMeasure, kAppraise, kAudit, kHash };

// The family of each PolicyAction, in the enum's order.
constexpr std::array<Family, 7> kFamilyOf = {
    Family::kMeasure, Family::kMeasure, Family::kAppraise, Family::kAppraise,
    Family::kAudit,   Family::kHash,    Family::kHash};
static_assert(kFamilyOf.size() ==
              static_cast<size_t>(PolicyAction::kDontHash) + 1);

bool StartsWithAny(std::string_view text,
                   std::initializer_list<std::string_view> prefixes) {
  for (std::string_view prefix : prefixes) {
    if (text.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

// Narrows the appraise_algos `into` (0: any) to `algos` as well; 1 << 31
// when no algorithm satisfies both.
void Intersect(uint32_t& into, uint32_t algos) {
  into = into == 0 ? algos : into & algos;
  if (into == 0) {
    into = 1u << 31;
  }
}

std::string AlgoList(uint32_t algos) {
  std::string out;
  for (HashAlgo algo : {HashAlgo::kSha1, HashAlgo::kSha256, HashAlgo::kSha384,
                        HashAlgo::kSha512, HashAlgo::kSha224}) {
    if ((algos & (1u << static_cast<int>(algo))) != 0) {
      out += (out.empty() ? "" : ",") + std::string(HashAlgoName(algo));
    }
  }
  return out.empty() ? "none" : out;
}

// What one appraise rule that may decide adds at a hook: the first one
// names the hook's rule, appraise_type=imasig demands a signature, and the
// appraise_algos of all of them intersect.
void NoteAppraiseRule(const PolicyRule& rule, const std::string& where,
                      bool first, HookDemand& here, Appraisal& out) {
  if (first) {
    here.rule = where;
  }
  if (rule.digsig_required && !out.signature_required) {
    out.signature_required = true;
    out.signature_rule = where;
  }
  if (rule.allowed_algos != 0) {
    Intersect(here.allowed_algos, rule.allowed_algos);
    here.algos_rule += (here.algos_rule.empty() ? "" : "; ") + where;
  }
}

}  // namespace

PolicyContext PolicyContextOf(const DeviceConfig& config) {
  PolicyContext context;
  context.grammar.version = config.kernel_version;
  context.grammar.modsig = config.ima_appraise_modsig;
  context.rootfs = config.rootfs;
  return context;
}

Result<ImaPolicy> ImaPolicy::Parse(std::string_view text,
                                   const std::string& where,
                                   const PolicyContext& context) {
  ImaPolicy policy;
  policy.rootfs_ = context.rootfs;
  policy.mmap_reqprot_ = context.grammar.version > KernelVersion{6, 1};
  int number = 0;
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    auto fail = [&](const std::string& why) {
      return MakeError(ErrorCode::kInvalidArgument,
                       where + ":" + std::to_string(number) + ": " + why);
    };
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') {
      continue;  // ima_parse_add_rule() skips these, and only these
    }
    if (line.size() > kMaxRuleBytes ||
        line.find('\0') != std::string_view::npos) {
      return fail("longer than the kernel reads in one write, or a NUL");
    }
    Result<PolicyRule> rule = ParsePolicyRule(line, context.grammar);
    if (!rule.has_value()) {
      return fail(rule.error().message +
                  " (the kernel would refuse the policy and keep its boot "
                  "policy)");
    }
    policy.rules_.push_back(
        Rule{std::move(*rule),
             std::to_string(number) + ": " + std::string(line.substr(first))});
  }
  if (policy.rules_.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + ": no rules (the kernel refuses an empty policy)");
  }
  return policy;
}

ImaPolicy ImaPolicy::AppraiseTcb() {
  ImaPolicy policy;
  PolicyRule rule;
  rule.action = PolicyAction::kAppraise;
  rule.fowner = IdCondition{IdCompare::kEqual, 0};
  policy.rules_.push_back(
      {rule, "1: appraise fowner=0 (built-in appraise_tcb)"});
  return policy;
}

// The accesses of ima_main.c's hooks (6.1 and 6.12 alike, where not said):
// - execve(2): the open of do_open_execat() passes MAY_EXEC to FILE_CHECK
//   (fs/exec.c open_exec_flags, fs/namei.c do_open()), then
//   search_binary_handler() calls ima_bprm_check(), BPRM_CHECK then
//   CREDS_CHECK; binfmt_script's open_exec() of the interpreter and the
//   loop of exec_binprm() do both again for a "#!" interpreter;
// - binfmt_elf's open_exec() of PT_INTERP: FILE_CHECK with MAY_EXEC;
// - open(2): FILE_CHECK with the open's MAY_READ/MAY_WRITE (and
//   MAY_APPEND for O_APPEND; build_open_flags());
// - mmap(PROT_EXEC) of any regular file, by a program or by the kernel
//   mapping an ELF image (elf_map() -> vm_mmap() -> security_mmap_file()):
//   MMAP_CHECK, and on 6.12 first MMAP_CHECK_REQPROT for the protection
//   asked for (ima_file_mmap());
// - the kernel reads modules, firmware, kexec images and policy files by
//   path (finit_module(), kexec_file_load(), ...): judged by name.
std::vector<HookAccess> ImaPolicy::Accesses(const Entry& entry,
                                            unsigned reach) const {
  std::vector<HookAccess> out;
  if ((reach & (kReachExec | kReachElfInterpreter)) != 0) {
    out.push_back({PolicyHook::kFileCheck, kMayExec});
  }
  if ((reach & kReachExec) != 0) {
    out.push_back({PolicyHook::kBprmCheck, kMayExec});
    out.push_back({PolicyHook::kCredsCheck, kMayExec});
  }
  if ((reach & kReachOpen) == 0) {
    return out;
  }
  for (int access : {kMayRead, kMayWrite, kMayRead | kMayWrite}) {
    out.push_back({PolicyHook::kFileCheck, access});
    out.push_back({PolicyHook::kFileCheck, access | kMayAppend});
  }
  if (mmap_reqprot_) {
    out.push_back({PolicyHook::kMmapCheckReqprot, kMayExec});
  }
  out.push_back({PolicyHook::kMmapCheck, kMayExec});
  const std::string base = BaseName(entry.path);
  if (base.ends_with(".ko") || base.find(".ko.") != std::string::npos) {
    out.push_back({PolicyHook::kModuleCheck, kMayRead});
  }
  if (StartsWithAny(entry.path, {"lib/firmware/", "usr/lib/firmware/"})) {
    out.push_back({PolicyHook::kFirmwareCheck, kMayRead});
  }
  if (entry.path.starts_with("boot/") ||
      StartsWithAny(base, {"vmlinuz", "vmlinux", "bzImage", "Image", "initrd",
                           "initramfs"})) {
    out.push_back({PolicyHook::kKexecKernelCheck, kMayRead});
    out.push_back({PolicyHook::kKexecInitramfsCheck, kMayRead});
  }
  if (entry.path.starts_with("etc/ima/") ||
      base.find("ima-policy") != std::string::npos ||
      base.find("ima_policy") != std::string::npos) {
    out.push_back({PolicyHook::kPolicyCheck, kMayRead});
  }
  return out;
}

// ima_match_rules(), with kMaybe for what only the running device knows.
ImaPolicy::Match ImaPolicy::Matches(const PolicyRule& rule,
                                    const HookAccess& access,
                                    const Entry& entry) const {
  if (rule.func != PolicyHook::kNone && rule.func != access.hook) {
    return Match::kNo;
  }
  if (rule.mask != 0 && (rule.mask_any_bit ? (rule.mask & access.mask) == 0
                                           : rule.mask != access.mask)) {
    return Match::kNo;
  }
  if ((rule.fowner && !rule.fowner->Matches(entry.uid)) ||
      (rule.fgroup && !rule.fgroup->Matches(entry.gid))) {
    return Match::kNo;
  }
  bool unknown = rule.process_condition || rule.label_condition;
  // A file-system condition is unknown without device.conf's value.
  auto differs = [&unknown](bool given, bool known, bool equal) {
    unknown = unknown || (given && !known);
    return given && known && !equal;
  };
  if (differs(rule.fsmagic.has_value(), rootfs_.magic.has_value(),
              rule.fsmagic == rootfs_.magic) ||
      differs(rule.fsname.has_value(), !rootfs_.type.empty(),
              rule.fsname == rootfs_.type) ||
      differs(rule.fsuuid.has_value(), !rootfs_.uuid.empty(),
              rule.fsuuid == rootfs_.uuid)) {
    return Match::kNo;
  }
  return unknown ? Match::kMaybe : Match::kYes;
}

// ima_match_policy() for one access: per action family the first matching
// rule ends the walk; a rule that may match is one possible outcome and
// the walk goes on to the others. The access is appraised when one
// possible outcome is an appraise rule; its appraise_algos are those of
// every appraise rule that may decide (ima_match_policy() takes the
// deciding rule's, process_measurement() checks them at this hook).
void ImaPolicy::Walk(const HookAccess& access, const Entry& entry,
                     Appraisal& out, std::string& verity) const {
  HookDemand here;
  here.access = access;
  bool appraised = false;
  for (Family family :
       {Family::kMeasure, Family::kAppraise, Family::kAudit, Family::kHash}) {
    for (const Rule& r : rules_) {
      const PolicyRule& rule = r.rule;
      if (kFamilyOf[static_cast<size_t>(rule.action)] != family) {
        continue;
      }
      Match match = Matches(rule, access, entry);
      if (match == Match::kNo) {
        continue;
      }
      // IMA_NONACTION_FLAGS of every matched rule reach the inode's flags
      // (iint->flags |= action) and stay for the other hooks.
      if (rule.verity_required && verity.empty()) {
        verity = r.where;
      }
      if (rule.action == PolicyAction::kAppraise) {
        NoteAppraiseRule(rule, r.where, !appraised, here, out);
        appraised = true;
      }
      if (match == Match::kYes) {
        break;
      }
    }
  }
  if (!appraised) {
    return;
  }
  if (!out.appraised) {
    out.rule = here.rule;
  }
  out.appraised = true;
  if (here.allowed_algos != 0) {
    Intersect(out.allowed_algos, here.allowed_algos);
    if (out.algos_rule.find(here.algos_rule) == std::string::npos) {
      out.algos_rule += (out.algos_rule.empty() ? "" : "; ") + here.algos_rule;
    }
  }
  out.hooks.push_back(std::move(here));
}

Appraisal ImaPolicy::Evaluate(const Entry& entry, unsigned reach) const {
  Appraisal out;
  std::string verity;
  for (const HookAccess& access : Accesses(entry, reach)) {
    Walk(access, entry, out, verity);
  }
  if (out.appraised && !verity.empty()) {
    out.verity_required = true;
    out.verity_rule = verity;
  }
  return out;
}

Appraisal ImaPolicy::Evaluate(const Entry& entry) const {
  return Evaluate(entry, ReachOf(entry));
}

Appraisal ImaPolicy::Evaluate(uint32_t owner, uint32_t group) const {
  Entry entry;
  entry.path = "file";
  entry.mode = 0644;
  entry.uid = owner;
  entry.gid = group;
  return Evaluate(entry);
}

bool IsSharedObjectName(std::string_view path) {
  const std::string base = BaseName(path);
  return base.ends_with(".so") || base.find(".so.") != std::string::npos;
}

unsigned ReachOf(const Entry& entry) {
  const bool program =
      (entry.mode & 0111) != 0 && !IsSharedObjectName(entry.path);
  return kReachOpen | (program ? kReachExec : 0u);
}

std::optional<PolicyFailure> UnmetPolicyDemand(const Entry& entry,
                                               const Appraisal& appraisal) {
  if (!appraisal.appraised) {
    return std::nullopt;
  }
  std::vector<HookAccess> all;
  for (const HookDemand& demand : appraisal.hooks) {
    all.push_back(demand.access);
  }
  if (appraisal.verity_required) {
    return PolicyFailure{
        "the IMA policy rule " + appraisal.verity_rule +
            " demands an fs-verity digest, and the image has no fs-verity",
        "no-verity-digest", all};
  }
  const Xattr* ima = FindXattr(entry, kImaXattr);
  if (ima == nullptr) {
    return std::nullopt;
  }
  Result<ImaXattr> parsed = ParseImaXattr(ima->value);
  if (!parsed.has_value()) {
    return std::nullopt;
  }
  const HashAlgo algo =
      parsed->is_signature ? parsed->signature.algo : parsed->digest_algo;
  const uint32_t bit = 1u << static_cast<int>(algo);
  std::optional<PolicyFailure> out;
  for (const HookDemand& demand : appraisal.hooks) {
    if (demand.allowed_algos == 0 || (demand.allowed_algos & bit) != 0) {
      continue;
    }
    if (!out.has_value()) {
      out = PolicyFailure{
          "security.ima uses " + std::string(HashAlgoName(algo)) +
              ", the IMA policy allows only " + AlgoList(demand.allowed_algos) +
              " (" + demand.algos_rule + ")",
          "denied-hash-algorithm",
          {}};
    }
    out->hooks.push_back(demand.access);
  }
  return out;
}

}  // namespace imab::verifier
