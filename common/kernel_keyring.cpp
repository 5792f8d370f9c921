#include "common/kernel_keyring.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/digest_signature.h"

namespace imab {
namespace {

Status Refuse(const std::string& why) {
  return MakeError(ErrorCode::kBadSignature, why);
}

bool SameOctets(const ASN1_OCTET_STRING* a, const ASN1_OCTET_STRING* b) {
  return a != nullptr && b != nullptr && ASN1_OCTET_STRING_cmp(a, b) == 0;
}

}  // namespace

Status CheckKernelAcceptsCertificate(const X509* cert,
                                     std::span<X509* const> cas,
                                     const KernelKeyringRules& rules) {
  X509* c = const_cast<X509*>(cert);  // OpenSSL getters take non-const
  // The kernel looks keys up by SKID; without one no signature finds it.
  if (X509_get0_subject_key_id(c) == nullptr) {
    return Refuse("no subjectKeyIdentifier");
  }
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(c);
  if (akid == nullptr) {
    return Refuse("no authorityKeyIdentifier keyid (the kernel needs it to "
                  "find the issuing CA)");
  }
  Status key = CheckKernelKeyType(X509_get0_pubkey(c));
  if (!key.ok()) {
    return Refuse(key.error().message);
  }
  if (rules.require_digital_signature) {
    uint32_t usage = X509_get_key_usage(c);
    if (usage == UINT32_MAX || (usage & KU_DIGITAL_SIGNATURE) == 0) {
      return Refuse("keyUsage lacks digitalSignature (kernel >= 6.6)");
    }
    if ((usage & KU_KEY_CERT_SIGN) != 0 || X509_check_ca(c) != 0) {
      return Refuse("is a CA or has keyCertSign (kernel >= 6.6)");
    }
  }
  for (X509* ca : cas) {
    if (!SameOctets(akid, X509_get0_subject_key_id(ca))) {
      continue;
    }
    int ok = X509_verify(c, X509_get0_pubkey(ca));
    ERR_clear_error();
    if (ok == 1) {
      return OkStatus();
    }
  }
  return Refuse("not issued by a kernel CA (authorityKeyIdentifier matches no "
                "CA's key, or the signature does not verify)");
}

}  // namespace imab
