// Which release CAs a bundle's signature must chain to: the release CA
// certificates the device holds, or its signed trust root, advanced by one
// version when the bundle carries a valid successor (FORMAT.md §8).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/read/handles.h"
#include "common/read/result.h"
#include "common/read/trust_root.h"
#include "verifier/bundle/manifest_signature.h"

namespace imab::verifier {

// A signed trust root as the device holds it: its exact bytes (compared
// with the root a bundle carries) and their parse. Its signatures are
// checked by DecideAnchors, so that a root that does not meet its own
// threshold is a verification failure of the bundle judged under it.
struct HeldTrustRoot {
  std::string bytes;
  SignedTrustRoot root;
};

// What the device trusts for bundle signatures before this bundle,
// loaded by the caller (verifier/load/): exactly one of `release_cas`
// (non-empty) and `trust_root`.
struct ReleaseAnchors {
  std::vector<Ptr<X509>> release_cas;
  std::optional<HeldTrustRoot> trust_root;
  // Where the release CAs came from, for the report ("release CA file
  // PATH"); unused with a trust root.
  std::string source;
};

struct AnchorDecision {
  ReleaseTrust anchors;
  std::string detail;  // for the report: which root, rotation or not
  // The root the bundle carries, verified as the current one's successor
  // (or equal to it); the caller adopts it only after a successful install.
  std::optional<std::string> carried_root;
  uint64_t effective_version = 0;
};

// With release CAs: those certificates, nothing else. Else the held trust
// root, which must meet its own threshold. When `carried_root` is not empty
// (the root the bundle's manifest carries, FORMAT.md §3.3.4, as the one
// manifest parser read it from the private copy of the manifest, before its
// signature was checked) it must be the current root or its valid
// successor (CheckTrustRootSuccessor); its release CAs then become the
// anchors. Using a root from unverified bytes is safe only because a trust
// root authenticates itself with signatures by keys the device already
// trusts. kInvalidArgument when `held` holds neither, else the trust-root
// check's error. `held` is only read.
Result<AnchorDecision> DecideAnchors(const ReleaseAnchors& held,
                                     const std::string& carried_root);

}  // namespace imab::verifier
