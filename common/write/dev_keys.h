// Development keys: public fingerprints (SPKI SHA-256) of keys whose private
// halves example layers publish (manifests/known-dev-keys.tsv, built in).
// A bundle signed with one of them must never reach a production device.
#pragma once

#include <openssl/evp.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/read/result.h"

namespace imab {

struct DevKeyMatch {
  std::string spki_sha256;  // hex
  std::string kind;         // "ima-evm-signing", "ca", "bundle-signing"...
  std::string source;       // where it is published
};

// Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo of `key` (what
// `openssl pkey -pubout -outform DER | sha256sum` prints).
Result<std::string> SpkiSha256Hex(const EVP_PKEY* key);

// Looks `key` up in the built-in list and in `extra_tsv` (same columns:
// spki_sha256, ima_keyid, kind, source, note; header line optional), the
// contents of an operator-supplied list. nullopt when not listed.
Result<std::optional<DevKeyMatch>> FindDevKey(const EVP_PKEY* key,
                                              std::string_view extra_tsv = {});

}  // namespace imab
