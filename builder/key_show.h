// `imab-build key show`: describes a certificate or key file and reports,
// rule by rule, whether the kernel would load the certificate into the
// .ima/.evm keyrings (ima-evm-formats.md §3, §5.1, §7).
//
// CLI contract (builder/cli/key_command.cpp parses it into ShowOptions
// and prints ShowReport::text to stdout):
//
//   imab-build key show FILE [--ca CA] [--kernel-profile P]
//                            [--kernel-version X.Y] [--json] [--set CERT ...]
//
// Exit codes (style.md): any returned error -> 2; ShowReport::all_ok false
// (a certificate FAILs a kernel rule) -> 1, else 0. The report text is
// printed in both cases.
#pragma once

#include <string>
#include <vector>

#include "common/read/result.h"

namespace imab::builder {

struct ShowOptions {
  std::string path;     // certificate (PEM/DER) or key (PEM private/public)
  std::string ca_path;  // optional: the CA the certificate must chain to
  // Optional kernel profile name (common/read/kernel_profile.h). Without a
  // kernel_version, a profile with an xattr list (contains ':') describes a
  // kernel before 5.14, which gets the oldest studied kernel's rules.
  std::string kernel_profile;
  // Optional "MAJOR.MINOR[...]" kernel version (common/read/kernel_version.h):
  // its rule sets (common/read/kernel_keyring_rules.h) decide; a rule only
  // other studied kernels enforce is reported "not enforced". With neither
  // option every studied kernel's rules hold (the strictest).
  std::string kernel_version;
  bool json = false;
  // Certificates (PEM, possibly several per file, or DER) that will share a
  // keyring with this one; the keyid must be unique among them.
  std::vector<std::string> set;
};

struct ShowReport {
  std::string text;     // the report: "name: value" lines, or one JSON object
  bool all_ok = false;  // no rule FAILed (always true for a key file)
};

// Describes a certificate: subject, issuer, serial, key type, keyid, SKID,
// AKID, how the kernel finds its CA (ca_lookup), validity (ISO 8601 UTC),
// SHA-256 of the DER SubjectPublicKeyInfo, the target kernel, and one
// verdict per kernel rule, each "ok", "FAIL: why", "not checked (...)" or
// "not enforced (...)": the rules of common/read/kernel_keyring.h in their
// order (validity_times, usage_encoding, akid_issuer_names,
// signature_algorithm, key_type, self_signature, digital_signature, not_ca,
// chains_to_ca, has_skid), then validity_dates, skid_is_hash (evmctl 1.4 finds
// keys by SHA-1 of the key) and keyid_unique. For a key file: key type, keyid
// by the public-key rule, SPKI SHA-256 and key_type; private key bytes are
// never shown. JSON output is one flat object; rule verdicts use "rule_<name>"
// keys. Errors: kIo/kInvalidArgument naming a file that cannot be read or
// parsed (including an encrypted key) or a bad profile or version.
Result<ShowReport> ShowKey(const ShowOptions& options);

}  // namespace imab::builder
