// Encodes security.ima and security.evm values: the signing side of
// common/read/ima_xattr.h, which the device only parses.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/read/hash_algo.h"
#include "common/read/ima_xattr.h"
#include "common/read/result.h"

namespace imab {

// type || 0x02 || algo || keyid (BE) || sig_size (BE) || signature.
// Precondition: signature.size() <= 0xffff.
std::string EncodeSignatureV2(XattrType type, HashAlgo algo, uint32_t keyid,
                              std::span<const uint8_t> signature);

// 0x01 || digest for SHA-1, else 0x04 || algo || digest (§2.1).
std::string EncodeImaDigest(HashAlgo algo, std::span<const uint8_t> digest);

// kInvalidArgument naming the choices for anything but sha256/sha384/sha512
// (the algorithms the builder signs with).
Result<HashAlgo> SigningHashAlgoFromName(std::string_view name);

}  // namespace imab
