// The rules a kernel applies before it loads a certificate into its .ima or
// .evm keyring, one rule set per kernel whose sources we read
// (manifests/kernel-rules.md gives the file:line of each), and the choice
// of rule sets for a target kernel version.
//
// A version between two studied kernels gets both rule sets: the sources of
// the two cannot tell in which version in between a rule changed, so a
// certificate must satisfy both. Below the oldest studied kernel its rules
// hold, above the newest the newest's. With no version known every studied
// kernel's rules hold (the strictest choice).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/read/kernel_version.h"

namespace imab {

// What differs between the studied kernels. Rules every studied kernel
// applies alike (a built-in CA issued it, validity times it can parse, a
// signature algorithm it knows, ...) are not fields:
// common/read/kernel_keyring.h applies them always.
struct KernelKeyringRules {
  KernelVersion kernel;  // the source tree these rules were read from
  // restrict_link_by_digsig: keyUsage must carry digitalSignature, and
  // neither basicConstraints CA:TRUE nor keyUsage keyCertSign may be set
  // (-ENOKEY otherwise).
  bool signing_usage_only = false;
  // The X.509 parser decodes keyUsage and basicConstraints and refuses
  // (-EBADMSG) an encoding it does not expect, e.g. basicConstraints with a
  // pathLenConstraint but no cA, or an empty keyUsage bit string.
  bool parses_usage_extensions = false;
  // Its authorityKeyIdentifier grammar reads the GeneralName tags of
  // authorityCertIssuer as EXPLICIT, so any name but a directoryName fails
  // to parse (-EBADMSG).
  bool akid_issuer_directory_names_only = false;
  // notBefore/notAfter are enforced when the key loads or is used.
  bool checks_validity_dates = false;
};

// The studied kernels' rules, oldest first (at least one).
std::span<const KernelKeyringRules> StudiedKernelKeyringRules();

// The rule sets that hold for a device: the kernels that may boot on it.
class KernelTarget {
 public:
  // No version known: every studied kernel's rules.
  static KernelTarget Unknown();
  // Any of `versions` may boot (an empty list is Unknown()).
  static KernelTarget ForVersions(std::span<const KernelVersion> versions);
  static KernelTarget ForVersion(KernelVersion version);

  bool known() const { return !versions_.empty(); }
  const std::vector<KernelVersion>& versions() const { return versions_; }
  // Studied rule sets that hold, oldest first, none twice.
  const std::vector<const KernelKeyringRules*>& rule_sets() const {
    return rule_sets_;
  }
  bool Applies(const KernelKeyringRules& rules) const;
  // ChecksValidityDates and Describe are the release pipeline's, defined in
  // common/write/kernel_target_text.cpp: the device calls neither.
  // One of the rule sets checks validity dates.
  bool ChecksValidityDates() const;

  // "6.1", "6.1 and 6.12", "unknown" for messages and reports, with the
  // rule sets when they are not simply the version's own:
  // "6.6 (rules of kernels 6.1 and 6.12: between the studied kernels)".
  std::string Describe() const;
  // Why `rules` holds here, for a refusal it makes: "rules of kernel 6.12
  // and later", plus ", applied to 6.6: ..." when 6.6 only borrows them.
  std::string Why(const KernelKeyringRules& rules) const;

 private:
  std::vector<KernelVersion> versions_;  // empty: unknown
  std::vector<const KernelKeyringRules*> rule_sets_;
};

// "kernel 6.12 and later", "kernel 6.1 and earlier", "kernel 6.4" (a
// studied kernel in the middle).
std::string RuleSetName(const KernelKeyringRules& rules);

}  // namespace imab
