#include "common/read/kernel_keyring_rules.h"

#include <algorithm>
#include <array>

namespace imab {
namespace {

// Read from Debian's linux-source-6.1 (6.1.192) and linux-source-6.12
// (6.12.118); manifests/kernel-rules.md cites the lines.
constexpr std::array<KernelKeyringRules, 2> kStudied = {{
    {.kernel = {6, 1},
     .signing_usage_only = false,
     .parses_usage_extensions = false,
     .akid_issuer_directory_names_only = true,
     .checks_validity_dates = false},
    {.kernel = {6, 12},
     .signing_usage_only = true,
     .parses_usage_extensions = true,
     .akid_issuer_directory_names_only = false,
     .checks_validity_dates = false},
}};

bool IsOldest(const KernelKeyringRules& rules) {
  return &rules == &kStudied.front();
}

bool IsNewest(const KernelKeyringRules& rules) {
  return &rules == &kStudied.back();
}

// The studied rule sets that hold for one version: its own, the nearest
// studied kernel's outside the studied range, both neighbours in a gap.
std::vector<const KernelKeyringRules*> RuleSetsOf(KernelVersion version) {
  auto above = std::find_if(
      kStudied.begin(), kStudied.end(),
      [&](const KernelKeyringRules& r) { return r.kernel >= version; });
  if (above == kStudied.end()) {
    return {&kStudied.back()};
  }
  if (above->kernel == version || above == kStudied.begin()) {
    return {&*above};
  }
  return {&*(above - 1), &*above};
}

}  // namespace

std::span<const KernelKeyringRules> StudiedKernelKeyringRules() {
  return kStudied;
}

std::string RuleSetName(const KernelKeyringRules& rules) {
  const std::string name = "kernel " + KernelVersionName(rules.kernel);
  if (IsNewest(rules)) {
    return name + " and later";
  }
  return IsOldest(rules) ? name + " and earlier" : name;
}

KernelTarget KernelTarget::Unknown() {
  KernelTarget target;
  for (const KernelKeyringRules& rules : kStudied) {
    target.rule_sets_.push_back(&rules);
  }
  return target;
}

KernelTarget KernelTarget::ForVersions(
    std::span<const KernelVersion> versions) {
  if (versions.empty()) {
    return Unknown();
  }
  KernelTarget target;
  for (KernelVersion version : versions) {
    if (std::find(target.versions_.begin(), target.versions_.end(), version) ==
        target.versions_.end()) {
      target.versions_.push_back(version);
    }
  }
  std::sort(target.versions_.begin(), target.versions_.end());
  for (const KernelKeyringRules& rules : kStudied) {
    const bool holds = std::any_of(
        target.versions_.begin(), target.versions_.end(), [&](KernelVersion v) {
          std::vector<const KernelKeyringRules*> sets = RuleSetsOf(v);
          return std::find(sets.begin(), sets.end(), &rules) != sets.end();
        });
    if (holds) {
      target.rule_sets_.push_back(&rules);
    }
  }
  return target;
}

KernelTarget KernelTarget::ForVersion(KernelVersion version) {
  return ForVersions(std::span<const KernelVersion>(&version, 1));
}

bool KernelTarget::Applies(const KernelKeyringRules& rules) const {
  return std::find(rule_sets_.begin(), rule_sets_.end(), &rules) !=
         rule_sets_.end();
}

std::string KernelTarget::Why(const KernelKeyringRules& rules) const {
  std::string why = "rules of " + RuleSetName(rules);
  for (KernelVersion v : versions_) {
    std::vector<const KernelKeyringRules*> sets = RuleSetsOf(v);
    if (sets.size() > 1 &&
        std::find(sets.begin(), sets.end(), &rules) != sets.end()) {
      return why + ", applied to " + KernelVersionName(v) +
             ": the sources of " + KernelVersionName(sets.front()->kernel) +
             " and " + KernelVersionName(sets.back()->kernel) +
             " do not show in which version between them it changed";
    }
  }
  return why;
}

}  // namespace imab
