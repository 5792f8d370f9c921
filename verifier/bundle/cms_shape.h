// CheckUnsignedCmsFields: pins the parts of a CMS SignedData that its
// signature does not cover (versions, algorithm lists, optional sets), so a
// signature has exactly one accepted encoding and no byte of manifest.sig
// can change without rejection (FORMAT.md §5).
#pragma once

#include <cstdint>
#include <span>

#include "common/read/result.h"

namespace imab::verifier {

// Walks the DER of a ContentInfo(SignedData) with a bounded reader and
// requires: SignedData version 1; exactly one digest algorithm, equal to
// the SignerInfo's; no crls; exactly one SignerInfo of version 1
// (issuerAndSerialNumber); signed attributes present; no unsigned
// attributes; nothing after the last field. `signature_algorithm` receives
// the DER of the SignerInfo's signatureAlgorithm (a view into `der`) for the
// caller to match against the signer's key. On failure: kBadSignature
// "manifest.sig: <field> ..." naming the field.
Status CheckUnsignedCmsFields(std::span<const uint8_t> der,
                              std::span<const uint8_t>* signature_algorithm);

}  // namespace imab::verifier
