// Encodes trust roots (FORMAT.md §8): the release pipeline's side of
// common/read/trust_root.h, which the device only parses and checks.
#pragma once

#include <string>

#include "common/read/trust_root.h"

namespace imab {

// Canonical text of a body (FORMAT.md §8.1). Sorts nothing: callers keep
// release_cas and keys sorted (CheckTrustRootBody says so).
std::string EncodeTrustRootBody(const TrustRootBody& body);

// Body bytes followed by the signature lines and the closing line
// (FORMAT.md §8.2): the file `imab-build trust-root` writes and a bundle
// carries.
std::string EncodeSignedTrustRoot(const SignedTrustRoot& root);

}  // namespace imab
