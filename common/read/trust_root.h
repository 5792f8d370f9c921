// Trust root: the versioned, threshold-signed document that tells a device
// which release CAs may sign bundles (TUF-style root rotation). A bundle may
// carry the next version, signed by a threshold of the current root's keys
// and of its own, so the release key can be rotated without stranding
// devices. Format: manifests/FORMAT.md §8.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/result.h"

namespace imab {

// The signed part.
struct TrustRootBody {
  uint64_t version = 1;                  // >= 1, only ever goes up
  uint32_t threshold = 1;                // signatures needed, 1..keys.size()
  std::vector<std::string> release_cas;  // DER certificates, 1..8, sorted
  std::vector<std::string> keys;  // DER SubjectPublicKeyInfo, 1..8, sorted

  bool operator==(const TrustRootBody&) const = default;
};

struct TrustRootSignature {
  std::string key_id;     // lower-case hex SHA-256 of the signer's SPKI DER
  std::string signature;  // over the exact body bytes; SHA-256, RSA PKCS#1
                          // v1.5 or ECDSA (DER)
  bool operator==(const TrustRootSignature&) const = default;
};

struct SignedTrustRoot {
  TrustRootBody body;
  std::string body_bytes;  // canonical encoding of `body` (what is signed)
  std::vector<TrustRootSignature> signatures;  // sorted by key_id, unique
};

// The encoders are the release pipeline's: common/write/trust_root_writer.h.

// Strict, bounded parse of a signed trust root from untrusted bytes (at most
// kMaxTrustRootBytes). Checks the syntax and the body's own rules (version
// >= 1, 1 <= threshold <= keys, counts, sorted unique entries) but verifies
// no signature. kMalformed / kLimitExceeded "trust root line N: ...".
Result<SignedTrustRoot> ParseSignedTrustRoot(std::string_view bytes);

// Counts the distinct keys of `signers` (SPKI DERs) that produced a valid
// signature over root.body_bytes, and checks it is at least `threshold`.
// Signatures by keys not in `signers` are ignored, never tried against
// other keys. kBadSignature "trust root version V: 1 of 2 required
// signatures by ..." otherwise.
Status CheckTrustRootSignatures(const SignedTrustRoot& root,
                                std::span<const std::string> signers,
                                uint32_t threshold, const std::string& whose);

// Accepts `next` as the successor of `current`: next.version is exactly
// current.version + 1, and next is signed by a threshold of current's keys
// and by a threshold of its own. A lower or equal version is kRollback.
Status CheckTrustRootSuccessor(const SignedTrustRoot& current,
                               const SignedTrustRoot& next);

// A root standing on its own (the first root, provisioned at the factory):
// signed by a threshold of its own keys.
Status CheckTrustRootSelfSigned(const SignedTrustRoot& root);

}  // namespace imab
