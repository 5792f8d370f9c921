// DigestSigner: makes IMA/EVM signatures over raw digests with a private
// key that never leaves the builder (a file now, PKCS#11 later).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/read/handles.h"
#include "common/read/hash_algo.h"
#include "common/read/result.h"

namespace imab::builder {

class DigestSigner {
 public:
  virtual ~DigestSigner() = default;
  // The keyid signatures carry (last 4 bytes of the certificate's SKID).
  virtual uint32_t keyid() const = 0;
  // The certificate the signatures verify under.
  virtual const X509* certificate() const = 0;
  // Signs `digest` (HashAlgoDigestSize(algo) bytes) exactly as evmctl
  // does: RSA PKCS#1 v1.5 over DigestInfo, or ECDSA DER. Thread-safe: many
  // threads may call Sign() at once. kInternal with OpenSSL's reason.
  virtual Result<std::vector<uint8_t>> Sign(
      HashAlgo algo, std::span<const uint8_t> digest) const = 0;
};

// The signing both DigestSigner implementations share: checks that `algo`
// is a signing algorithm and `digest` its size (kInvalidArgument), signs
// with `key` as evmctl does (RSA PKCS#1 v1.5 over DigestInfo, or ECDSA
// DER), and re-checks an RSA signature with `public_key` (a CRT fault would
// leak the key and brick devices). `label` names the key in messages. The
// caller serialises access to `key` when it is not thread-safe.
Result<std::vector<uint8_t>> SignDigestWithKey(EVP_PKEY* key,
                                               const EVP_PKEY* public_key,
                                               HashAlgo algo,
                                               std::span<const uint8_t> digest,
                                               const std::string& label);

// Loads a PEM private key and its certificate (PEM or DER). Refuses, with
// kInvalidArgument naming the file and the rule: a key that does not match
// the certificate, a certificate without subjectKeyIdentifier, a key type
// or size the kernel refuses (CheckKernelKeyType), an encrypted key.
Result<std::unique_ptr<DigestSigner>> LoadFileDigestSigner(
    const std::string& key_path, const std::string& cert_path);

}  // namespace imab::builder
