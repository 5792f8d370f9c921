// CmsForge: edits the signed attributes of a valid manifest signature and
// signs them again with the signer's key, so tests get signatures that
// verify cryptographically yet break exactly one rule of FORMAT.md §5.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tests/testutil/pki.h"

namespace imab::testing {

struct SignedAttributeEdit {
  std::optional<int> content_type_nid;  // new contentType value
  bool drop_content_type = false;
  bool drop_message_digest = false;
  bool drop_signing_time = false;
  std::optional<int64_t> signing_time;  // replaces the signingTime value
  bool second_signing_time = false;     // adds another signingTime
  // Replaces the value of the attribute with this NID by a UTF8String.
  std::optional<int> utf8_value_nid;
  // Gives the attribute with this NID a second value (a copy of the first).
  std::optional<int> two_values_nid;
};

// `der` is a DER CMS SignedData with one SignerInfo made by `signer` (e.g.
// from SignWith). Returns it with `edit` applied to the signed attributes
// and a fresh SHA-256 signature over them by `signer`'s key. Fails the test
// (and returns empty) when OpenSSL or the DER walk fails.
std::vector<uint8_t> ResignAttributes(const std::vector<uint8_t>& der,
                                      const TestIdentity& signer,
                                      const SignedAttributeEdit& edit);

}  // namespace imab::testing
