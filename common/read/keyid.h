// IMA/EVM key ids: the 4 bytes a signature header carries to name its key
// (ima-evm-formats.md §3).
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <string>

#include "common/read/result.h"

namespace imab {

// The kernel's rule: the last 4 bytes of the certificate's
// subjectKeyIdentifier, big-endian. kInvalidArgument ("certificate has no
// subjectKeyIdentifier; the kernel could never find its key") when the
// certificate has none or one shorter than 4 bytes.
Result<uint32_t> KeyIdFromCertificate(const X509* cert);

// evmctl's rule for a bare key (the builder's) is in
// common/write/public_key_id.h.

// Eight lower-case hex digits ("1a2b3c4d").
std::string KeyIdHex(uint32_t keyid);

}  // namespace imab
