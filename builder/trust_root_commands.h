// `imab-build trust-root create|sign|show`: writing and signing the trust
// roots devices use to decide which release CAs they accept.
//
// CLI contract (builder/cli/trust_root_command.cpp parses into the structs
// below):
//   imab-build trust-root create --version N --threshold K
//       --release-ca CA.pem (repeatable) --key PUB (repeatable; a public key
//       PEM, a certificate, or a private key PEM whose public half is used)
//       --out ROOT.trust
//   imab-build trust-root sign --root ROOT.trust --key KEY (PEM private key
//       or pkcs11: URI) [--pkcs11-module M] --out ROOT.trust (may be the same
//       file: replaced atomically)
//   imab-build trust-root show ROOT.trust [--previous OLD.trust] [--json]
#pragma once

#include <string>
#include <vector>

#include "common/read/result.h"

namespace imab::builder {

struct TrustRootCreateOptions {
  uint64_t version = 1;
  uint32_t threshold = 1;
  std::vector<std::string> release_cas;  // PEM files (all certs of each)
  std::vector<std::string> keys;         // public key sources
  std::string out;
};

struct TrustRootSignOptions {
  std::string root;
  std::string key;  // PEM private key or pkcs11: URI
  std::string pkcs11_module;
  std::string out;
};

struct TrustRootShowOptions {
  std::string root;
  std::string previous;  // optional: check the successor rule against it
  bool json = false;
};

// Writes an unsigned root (no signature lines). kInvalidArgument naming
// the problem (threshold 0 or above the key count, no CA, duplicate key,
// existing output is replaced atomically). Returns a report to print.
Result<std::string> CreateTrustRoot(const TrustRootCreateOptions& options);

// Adds (or replaces) the signature of `key` over the root's body. The key
// must be one of the root's keys, or one of the keys of the previous root
// that will vouch for it (any key is accepted; `show` says whether the
// signatures meet the thresholds). Returns a report.
Result<std::string> SignTrustRoot(const TrustRootSignOptions& options);

// Describes a root: version, threshold, CAs (subject, SPKI SHA-256), keys,
// signatures and whether the self-signature threshold is met, and with
// `previous` whether it is a valid successor. The bool is true when every
// check passed.
Result<std::pair<std::string, bool>> ShowTrustRoot(
    const TrustRootShowOptions& options);

}  // namespace imab::builder
