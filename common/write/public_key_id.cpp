#include "common/write/public_key_id.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>
#include <span>

#include "common/read/byte_reader.h"
#include "common/read/handles.h"
#include "common/read/openssl_error.h"

namespace imab {

Result<uint32_t> KeyIdFromPublicKey(const EVP_PKEY* key) {
  if (key == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "no key");
  }
  ERR_clear_error();
  X509_PUBKEY* raw = nullptr;
  // X509_PUBKEY_set() only reads the key (it up-refs it); the const_cast is
  // for its pre-const signature.
  if (X509_PUBKEY_set(&raw, const_cast<EVP_PKEY*>(key)) != 1) {
    return OpenSslError(ErrorCode::kInvalidArgument,
                        "cannot encode public key");
  }
  Ptr<X509_PUBKEY> pub(raw);
  const unsigned char* bits = nullptr;
  int bits_len = 0;
  // `bits` is the BIT STRING contents without tag, length and unused-bits
  // byte: exactly what RFC 5280 method 1 and evmctl hash.
  if (X509_PUBKEY_get0_param(nullptr, &bits, &bits_len, nullptr, pub.get()) !=
          1 ||
      bits == nullptr || bits_len <= 0) {
    return OpenSslError(ErrorCode::kInternal, "X509_PUBKEY_get0_param");
  }
  std::array<uint8_t, 20> sha1{};
  unsigned int sha1_len = 0;
  if (EVP_Digest(bits, static_cast<size_t>(bits_len), sha1.data(), &sha1_len,
                 EVP_sha1(), nullptr) != 1 ||
      sha1_len != sha1.size()) {
    return OpenSslError(ErrorCode::kInternal, "SHA-1 of public key");
  }
  return ByteReader(std::span<const uint8_t>(sha1).last(4)).ReadU32Be();
}

}  // namespace imab
