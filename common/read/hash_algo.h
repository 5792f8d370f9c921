// Hash algorithms by their kernel id (include/uapi/linux/hash_info.h), the
// byte IMA and EVM store in their headers (ima-evm-formats.md §1.2).
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace imab {

enum class HashAlgo : uint8_t {
  kSha1 = 2,
  kSha256 = 4,
  kSha384 = 5,
  kSha512 = 6,
  kSha224 = 7,
};

// "sha256" and friends.
std::string_view HashAlgoName(HashAlgo algo);
// The algorithm of a kernel id byte read from an xattr, or nullopt.
std::optional<HashAlgo> HashAlgoFromKernelId(uint8_t id);
// True for the algorithms a signature may use (sha256, sha384, sha512).
bool IsSigningHashAlgo(HashAlgo algo);
size_t HashAlgoDigestSize(HashAlgo algo);
// OpenSSL's implementation; never null for a valid enum value.
const EVP_MD* HashAlgoMd(HashAlgo algo);

}  // namespace imab
