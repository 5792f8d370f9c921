// Which release CAs a bundle's signature must chain to: a PEM file given on
// the command line, or the device's trust root, advanced by one version
// when the bundle carries a valid successor (FORMAT.md §8).
#pragma once

#include <optional>
#include <string>

#include "common/read/result.h"
#include "common/read/trust_root.h"
#include "verifier/bundle/manifest_signature.h"

namespace imab::verifier {

struct AnchorDecision {
  ReleaseTrust anchors;
  std::string detail;  // for the report: which root, rotation or not
  // The root the bundle carries, verified as the current one's successor
  // (or equal to it); the caller adopts it only after a successful install.
  std::optional<std::string> carried_root;
  uint64_t effective_version = 0;
};

// With `release_ca` set: its certificates, nothing else. Else the signed
// trust root (`trust_root_bytes` as loaded by the caller, or the file
// `trust_root_path`, read once with a kMaxTrustRootBytes cap); it must
// meet its own threshold. When `carried_root` is not empty (the root the
// bundle's manifest carries, FORMAT.md §3.3.4, as the one manifest parser
// read it from the private copy of the manifest, before its signature was
// checked) it must be the current root or its valid successor
// (CheckTrustRootSuccessor); its release CAs then become the anchors. Using
// a root from unverified bytes is safe only because a trust root
// authenticates itself with signatures by keys the device already trusts.
// kInvalidArgument for an unusable trust source (naming it), else the
// trust-root check's error.
Result<AnchorDecision> DecideAnchors(
    const std::string& release_ca, const std::string& trust_root_path,
    const std::optional<std::string>& trust_root_bytes,
    const std::string& carried_root);

}  // namespace imab::verifier
