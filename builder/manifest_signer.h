// Signs the manifest bytes as one unit: CMS SignedData, detached, DER
// (FORMAT.md §5).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "builder/signing_identity.h"
#include "common/read/result.h"

namespace imab::builder {

// Returns the DER of a detached CMS SignedData over exactly `manifest`
// (binary, no MIME canonicalisation), SHA-256, with signed attributes, the
// signer certificate and every chain certificate included. kInternal with
// the OpenSSL error queue on failure.
Result<std::vector<uint8_t>> SignManifest(std::string_view manifest,
                                          const SigningIdentity& identity);

}  // namespace imab::builder
