// The KernelTarget members only the release pipeline calls (its messages and
// key reports): here, so that the device links none of them.
#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "common/read/kernel_keyring_rules.h"

namespace imab {
namespace {

bool IsStudied(KernelVersion version) {
  std::span<const KernelKeyringRules> studied = StudiedKernelKeyringRules();
  return std::any_of(
      studied.begin(), studied.end(),
      [&](const KernelKeyringRules& r) { return r.kernel == version; });
}

// Versions that are neither studied nor outside the studied range (the
// ones that get the rule sets of both neighbours).
bool BetweenStudied(KernelVersion version) {
  std::span<const KernelKeyringRules> studied = StudiedKernelKeyringRules();
  return version > studied.front().kernel && version < studied.back().kernel &&
         !IsStudied(version);
}

std::string JoinNames(const std::vector<const KernelKeyringRules*>& sets) {
  std::string out;
  for (size_t i = 0; i < sets.size(); ++i) {
    out += i == 0 ? "" : (i + 1 == sets.size() ? " and " : ", ");
    out += KernelVersionName(sets[i]->kernel);
  }
  return out;
}

}  // namespace

bool KernelTarget::ChecksValidityDates() const {
  return std::any_of(
      rule_sets_.begin(), rule_sets_.end(),
      [](const KernelKeyringRules* r) { return r->checks_validity_dates; });
}

std::string KernelTarget::Describe() const {
  if (!known()) {
    return "unknown (rules of every studied kernel: " + JoinNames(rule_sets_) +
           ")";
  }
  std::string out;
  for (size_t i = 0; i < versions_.size(); ++i) {
    out += (i == 0 ? "" : ", ") + KernelVersionName(versions_[i]);
  }
  const bool own = std::all_of(versions_.begin(), versions_.end(), IsStudied);
  if (own) {
    return out;
  }
  const bool gap =
      std::any_of(versions_.begin(), versions_.end(), BetweenStudied);
  return out + " (rules of kernel" + (rule_sets_.size() > 1 ? "s " : " ") +
         JoinNames(rule_sets_) + (gap ? ": between the studied kernels)" : ")");
}

}  // namespace imab
