#include "common/read/keyid.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <array>
#include <span>

#include "common/read/byte_reader.h"
#include "common/read/hex.h"

namespace imab {

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
  std::span<const uint8_t> id(ASN1_STRING_get0_data(skid),
                              static_cast<size_t>(ASN1_STRING_length(skid)));
  return ByteReader(id.last(4)).ReadU32Be();
}

std::string KeyIdHex(uint32_t keyid) {
  const std::array<uint8_t, 4> be = {
      static_cast<uint8_t>(keyid >> 24), static_cast<uint8_t>(keyid >> 16),
      static_cast<uint8_t>(keyid >> 8), static_cast<uint8_t>(keyid)};
  return HexEncode(be);
}

}  // namespace imab
