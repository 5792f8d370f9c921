// Checking a signature over a raw digest the way the kernel does for IMA and
// EVM (ima-evm-formats.md §2.2): RSA PKCS#1 v1.5 over DigestInfo(algo,
// digest), or ECDSA (DER r,s) over the digest.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "common/read/handles.h"
#include "common/read/hash_algo.h"
#include "common/read/result.h"

namespace imab {

// OK when `signature` is valid for `digest` under `key` (RSA or EC public
// key). kBadSignature when it is not; kInvalidArgument for a key type the
// kernel cannot use. `digest` must be HashAlgoDigestSize(algo) bytes.
Status VerifyDigestSignature(EVP_PKEY* key, HashAlgo algo,
                             std::span<const uint8_t> digest,
                             std::span<const uint8_t> signature);

// A public key set up once for checking many signatures with one hash
// algorithm. Setting up a context fetches provider algorithms under a lock,
// which costs about a fifth of an RSA-2048 verify; a prepared key pays it
// once and copies the context per check. Verify() only reads the prepared
// context, so one instance may be shared by threads.
class PreparedVerifyKey {
 public:
  // Same refusals as VerifyDigestSignature for the key type.
  static Result<PreparedVerifyKey> Create(EVP_PKEY* key, HashAlgo algo);

  // As VerifyDigestSignature(key, algo, digest, signature).
  Status Verify(std::span<const uint8_t> digest,
                std::span<const uint8_t> signature) const;

  HashAlgo algo() const { return algo_; }

 private:
  PreparedVerifyKey(Ptr<EVP_PKEY_CTX> ctx, HashAlgo algo, std::string key)
      : ctx_(std::move(ctx)), algo_(algo), key_description_(std::move(key)) {}
  Ptr<EVP_PKEY_CTX> ctx_;
  HashAlgo algo_;
  std::string key_description_;
};

// Key types and sizes a kernel accepts for new IMA/EVM keys: RSA 2048, 3072
// or 4096 bits; EC P-256 or P-384. kInvalidArgument naming the key
// otherwise ("RSA-1024: the kernel accepts RSA 2048, 3072 or 4096").
Status CheckKernelKeyType(const EVP_PKEY* key);

// "RSA-2048", "EC P-256", ... for messages.
std::string DescribeKey(const EVP_PKEY* key);

}  // namespace imab
