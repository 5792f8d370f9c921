#include "common/read/keyid.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <array>
#include <span>

#include "common/read/handles.h"
#include "common/read/hex.h"
#include "common/read/openssl_error.h"

namespace imab {
namespace {

// The last 4 bytes of `id`, big-endian. Precondition: id.size() >= 4.
uint32_t Tail32(std::span<const uint8_t> id) {
  std::span<const uint8_t> t = id.last(4);
  return (uint32_t{t[0]} << 24) | (uint32_t{t[1]} << 16) |
         (uint32_t{t[2]} << 8) | uint32_t{t[3]};
}

}  // namespace

Result<uint32_t> KeyIdFromCertificate(const X509* cert) {
  if (cert == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "no certificate");
  }
  // X509_get0_subject_key_id() takes a non-const pointer only to fill
  // OpenSSL's internal extension cache; the certificate is not modified.
  const ASN1_OCTET_STRING* skid =
      X509_get0_subject_key_id(const_cast<X509*>(cert));
  ERR_clear_error();
  // The kernel finds keys by the SKID tail; without one it never could.
  if (skid == nullptr || ASN1_STRING_length(skid) < 4) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "certificate has no subjectKeyIdentifier (or one shorter "
                     "than 4 bytes); the kernel could never find its key");
  }
  return Tail32(
      std::span<const uint8_t>(ASN1_STRING_get0_data(skid),
                               static_cast<size_t>(ASN1_STRING_length(skid))));
}

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
  return Tail32(sha1);
}

std::string KeyIdHex(uint32_t keyid) {
  const std::array<uint8_t, 4> be = {
      static_cast<uint8_t>(keyid >> 24), static_cast<uint8_t>(keyid >> 16),
      static_cast<uint8_t>(keyid >> 8), static_cast<uint8_t>(keyid)};
  return HexEncode(be);
}

}  // namespace imab
