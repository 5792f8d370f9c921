// The IMA/EVM key id of a bare public key, for the release pipeline's key
// commands; the device only reads key ids of certificates
// (common/read/keyid.h).
#pragma once

#include <openssl/evp.h>

#include <cstdint>

#include "common/read/result.h"

namespace imab {

// evmctl's rule for a bare key: SHA-1 over the contents of the
// subjectPublicKey BIT STRING, last 4 bytes. Equals the certificate rule for
// certificates made with subjectKeyIdentifier=hash.
Result<uint32_t> KeyIdFromPublicKey(const EVP_PKEY* key);

}  // namespace imab
