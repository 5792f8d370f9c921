// Which release CAs a bundle's signature must chain to: a PEM file given on
// the command line, or the device's trust root, advanced by one version
// when the bundle carries a valid successor (FORMAT.md §8).
#pragma once

#include <optional>
#include <string>

#include "common/byte_source.h"
#include "common/result.h"
#include "common/trust_root.h"
#include "verifier/manifest_signature.h"

namespace imab::verifier {

struct AnchorDecision {
  ReleaseTrust anchors;
  std::string detail;  // for the report: which root, rotation or not
  // The root the bundle carries, verified as the current one's successor
  // (or equal to it); the caller adopts it only after a successful install.
  std::optional<std::string> carried_root;
  uint64_t effective_version = 0;
};

// With `release_ca` set: its certificates, nothing else. With
// `trust_root_path` set: that signed root (it must meet its own threshold),
// and, when the manifest at [offset, offset+size) of `source` starts its
// sections with `section trust-root 1`, the root carried there must be the
// current one or its valid successor (CheckTrustRootSuccessor): its release
// CAs then become the anchors. This peeks at the unsigned manifest, which
// is safe only because a trust root authenticates itself with signatures
// by keys the device already trusts; the caller must compare the root it
// later parses from the signed manifest with `carried_root`.
Result<AnchorDecision> DecideAnchors(const std::string& release_ca,
                                    const std::string& trust_root_path,
                                    ByteSource& source, uint64_t offset,
                                    uint64_t size);

}  // namespace imab::verifier
