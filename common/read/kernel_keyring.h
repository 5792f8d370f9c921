// Whether a kernel loads a signing certificate into its .ima / .evm keyring
// and can then verify IMA/EVM signatures with it (ima-evm-formats.md §5.1,
// manifests/kernel-rules.md), so the builder can refuse, and the verifier
// predict, a certificate the device would reject. The rules that differ
// between kernels come from common/read/kernel_keyring_rules.h.
#pragma once

#include <openssl/x509.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/read/kernel_keyring_rules.h"
#include "common/read/result.h"

namespace imab {

// What "Problem loading X.509 certificate %d" prints when the kernel
// refuses to load a certificate (negated errno values).
inline constexpr int kKernelNoPackage = -65;   // -ENOPKG
inline constexpr int kKernelBadMessage = -74;  // -EBADMSG
inline constexpr int kKernelNoKey = -126;      // -ENOKEY
inline constexpr int kKernelRejected = -129;   // -EKEYREJECTED

// One rule, judged under every studied kernel's rule set.
struct KeyringRuleOutcome {
  // Stable name: "validity_times", "usage_encoding", "akid_issuer_names",
  // "signature_algorithm", "key_type", "self_signature",
  // "digital_signature", "not_ca", "chains_to_ca", "has_skid".
  std::string name;
  bool checked = true;  // false: chains_to_ca without CAs to judge by
  // Empty when the rule holds under every studied kernel; else why not.
  std::string broken;
  // The studied rule sets under which it is broken, oldest first.
  std::vector<const KernelKeyringRules*> broken_under;
  // The kernel's error when it refuses to load the certificate; 0 when it
  // loads it but can verify no signature with it (no usable keyid, a key
  // imabundle does not sign with).
  int kernel_error = 0;
};

// Every rule, in the order the kernel applies them (parsing, then the
// keyring restriction, then the key lookup of a signature). `cas`: the
// kernel's built-in CAs; nullopt leaves chains_to_ca unchecked. Validity
// dates are not a rule here: no studied kernel checks them
// (KernelTarget::ChecksValidityDates). `cert` and `cas` are borrowed.
std::vector<KeyringRuleOutcome> EvaluateKeyringRules(
    const X509* cert, std::optional<std::span<X509* const>> cas);

// How a refusal names the kernels behind it: " (rules of kernel 6.12 and
// later)" for `outcome` broken under `refusing` (a rule set of `target`),
// with "; --kernel-version 6.1 targets an older kernel" when `target` is
// unknown and a studied kernel breaks none of `outcomes`; empty when every
// studied kernel breaks the rule.
std::string RefusalContext(const KeyringRuleOutcome& outcome,
                           const KernelKeyringRules& refusing,
                           const KernelTarget& target,
                           const std::vector<KeyringRuleOutcome>& outcomes);

struct KeyringRefusal {
  // "keyUsage lacks digitalSignature (rules of kernel 6.12 and later)";
  // for an unknown target it adds which --kernel-version would accept it
  // ("; --kernel-version 6.1 targets an older kernel").
  std::string message;
  int kernel_error = 0;  // as KeyringRuleOutcome::kernel_error
};

// The first rule `target`'s rule sets break, or nullopt when every kernel
// of the target loads `cert` and can use its key.
std::optional<KeyringRefusal> FindKeyringRefusal(const X509* cert,
                                                 std::span<X509* const> cas,
                                                 const KernelTarget& target);

// FindKeyringRefusal as a Status: kBadSignature with its message.
Status CheckKernelAcceptsCertificate(const X509* cert,
                                     std::span<X509* const> cas,
                                     const KernelTarget& target);

}  // namespace imab
