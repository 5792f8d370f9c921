// The byte layouts of security.ima and security.evm (ima-evm-formats.md §1-§2,
// §4.1): digest forms and version-2 signature headers, with the header checks
// the kernel makes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/hash_algo.h"
#include "common/read/result.h"

namespace imab {

inline constexpr std::string_view kImaXattr = "security.ima";
inline constexpr std::string_view kEvmXattr = "security.evm";

// First byte of the value (enum evm_ima_xattr_type).
enum class XattrType : uint8_t {
  kImaDigest = 0x01,          // legacy SHA-1 digest, no algo byte
  kEvmHmac = 0x02,            // device-local HMAC, never shipped
  kDigsig = 0x03,             // signature (security.ima; non-portable evm)
  kImaDigestNg = 0x04,        // digest with algo byte
  kEvmPortableDigsig = 0x05,  // portable EVM signature
};

inline constexpr size_t kSignatureV2HeaderBytes = 9;

// A parsed version-2 signature (struct signature_v2_hdr + blob).
struct SignatureV2 {
  XattrType type = XattrType::kDigsig;
  HashAlgo algo = HashAlgo::kSha256;
  uint32_t keyid = 0;
  std::vector<uint8_t> signature;
};

// Parses a signature xattr value, checking what the kernel checks and what
// we require: length > 9; first byte `expected_type`; version 2; a signing
// hash algorithm (sha256/384/512); sig_size == length - 9. On failure
// kMalformed with the rule ("wrong type byte 0x04, expected 0x03",
// "version 1, expected 2", "hash algorithm 2 not allowed",
// "sig_size 256 but 200 bytes follow").
Result<SignatureV2> ParseSignatureV2(std::string_view value,
                                     XattrType expected_type);

// security.ima holds either a digest or a signature.
struct ImaXattr {
  bool is_signature = false;
  SignatureV2 signature;                     // when is_signature
  HashAlgo digest_algo = HashAlgo::kSha256;  // when !is_signature
  std::vector<uint8_t> digest;               // when !is_signature
  // A 0x01 digest whose bytes 16..19 are zero: the kernel
  // (ima_appraise.c ima_get_hash_algo) takes it for an old 20-byte MD5
  // value and compares the content's MD5 with its first 16 bytes.
  bool kernel_reads_md5 = false;
};

// Parses a security.ima value: 0x03 (signature, as ParseSignatureV2), 0x04
// (algo byte, then exactly that algorithm's digest size), 0x01 (20-byte
// SHA-1). Anything else, or a wrong length, is kMalformed naming the rule.
Result<ImaXattr> ParseImaXattr(std::string_view value);

}  // namespace imab
