#include "verifier/bundle/release_signer.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <string>

#include "common/read/handles.h"

namespace imab::verifier {
namespace {

Error Refuse(const std::string& why) {
  return MakeError(ErrorCode::kBadSignature, "manifest.sig: " + why);
}

// The one value of the one signed attribute `nid`. A repeated or
// multi-valued attribute would leave open which value a verifier reads.
Result<const ASN1_TYPE*> SingleValue(CMS_SignerInfo* si, int nid,
                                     const std::string& name) {
  int at = CMS_signed_get_attr_by_NID(si, nid, -1);
  if (at < 0) {
    return Refuse(name + " signed attribute missing");
  }
  if (CMS_signed_get_attr_by_NID(si, nid, at) >= 0) {
    return Refuse(name + " signed attribute given more than once");
  }
  X509_ATTRIBUTE* attr = CMS_signed_get_attr(si, at);
  const ASN1_TYPE* value = attr != nullptr && X509_ATTRIBUTE_count(attr) == 1
                               ? X509_ATTRIBUTE_get0_type(attr, 0)
                               : nullptr;
  if (value == nullptr) {
    return Refuse(name + " signed attribute needs exactly one value");
  }
  return value;
}

// RFC 5652 §5.4 allows UTCTime or GeneralizedTime.
Result<const ASN1_TIME*> SigningTime(CMS_SignerInfo* si) {
  IMAB_ASSIGN_OR_RETURN(const ASN1_TYPE* value,
                        SingleValue(si, NID_pkcs9_signingTime, "signingTime"));
  const ASN1_TIME* time = nullptr;
  if (value->type == V_ASN1_UTCTIME) {
    time = value->value.utctime;
  } else if (value->type == V_ASN1_GENERALIZEDTIME) {
    time = value->value.generalizedtime;
  }
  if (time == nullptr || ASN1_TIME_check(time) != 1) {
    ERR_clear_error();
    return Refuse("signingTime is not a valid UTCTime or GeneralizedTime");
  }
  return time;
}

}  // namespace

Status CheckSignedAttributes(CMS_SignerInfo* si, std::optional<int64_t> now) {
  // The content type is signed so a signature over other content (a
  // receipt, a timestamp token) cannot be replayed as a manifest signature.
  IMAB_ASSIGN_OR_RETURN(const ASN1_TYPE* type,
                        SingleValue(si, NID_pkcs9_contentType, "contentType"));
  if (type->type != V_ASN1_OBJECT ||
      OBJ_obj2nid(type->value.object) != NID_pkcs7_data) {
    return Refuse("contentType signed attribute is not id-data");
  }
  IMAB_ASSIGN_OR_RETURN(
      const ASN1_TYPE* digest,
      SingleValue(si, NID_pkcs9_messageDigest, "messageDigest"));
  if (digest->type != V_ASN1_OCTET_STRING) {
    return Refuse("messageDigest signed attribute is not an OCTET STRING");
  }
  IMAB_ASSIGN_OR_RETURN(const ASN1_TIME* signed_at, SigningTime(si));
  if (now.has_value()) {
    const auto latest = static_cast<time_t>(*now + kMaxSigningTimeSkewSeconds);
    // -2 is an error: refused like a time in the future.
    int order = ASN1_TIME_cmp_time_t(signed_at, latest);
    if (order != -1 && order != 0) {
      ERR_clear_error();
      return Refuse("signingTime lies more than 24 hours in the future");
    }
  }
  return OkStatus();
}

Status CheckReleaseSigner(X509* signer, CMS_SignerInfo* si, X509_STORE* anchors,
                          bool require_eku) {
  // A CA's key signs certificates; letting it sign bundles too would make
  // every key that can issue a release certificate a release key.
  if (X509_check_ca(signer) != 0) {
    return Refuse(
        "signer certificate is a CA; bundles are signed by a "
        "CA:FALSE certificate the release CA issued");
  }
  const uint32_t flags = X509_get_extension_flags(signer);
  if ((flags & EXFLAG_INVALID) != 0) {
    return Refuse("signer certificate has invalid extensions");
  }
  X509StackPtr all(X509_STORE_get1_all_certs(anchors));
  for (int i = 0; all != nullptr && i < sk_X509_num(all.get()); ++i) {
    if (X509_cmp(sk_X509_value(all.get(), i), signer) == 0) {
      return Refuse("signer certificate is itself a release CA anchor");
    }
  }
  if ((flags & EXFLAG_KUSAGE) == 0 ||
      (X509_get_key_usage(signer) & KU_DIGITAL_SIGNATURE) == 0) {
    return Refuse("signer certificate lacks keyUsage digitalSignature");
  }
  // A TLS server or e-mail certificate names its purpose in its EKU; one
  // without codeSigning was never meant to sign software.
  if ((flags & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(signer) & XKU_CODE_SIGN) == 0) {
    return Refuse("signer certificate's extendedKeyUsage lacks codeSigning");
  }
  if ((flags & EXFLAG_XKUSAGE) == 0 && require_eku) {
    return Refuse(
        "signer certificate has no extendedKeyUsage codeSigning "
        "(required by release-require-eku / --require-eku)");
  }
  // A signature claiming a time its key was not valid at was made outside
  // the certificate's life, whatever the verifying clock says.
  IMAB_ASSIGN_OR_RETURN(const ASN1_TIME* signed_at, SigningTime(si));
  if (ASN1_TIME_compare(signed_at, X509_get0_notBefore(signer)) < 0 ||
      ASN1_TIME_compare(signed_at, X509_get0_notAfter(signer)) > 0) {
    ERR_clear_error();
    return Refuse(
        "signingTime lies outside the signer certificate's "
        "validity period");
  }
  return OkStatus();
}

int ReleaseChainVerifyCallback(int ok, X509_STORE_CTX* ctx) {
  // The signer (depth 0) is judged by CheckReleaseSigner, with its reasons.
  if (ok != 1 || X509_STORE_CTX_get_error_depth(ctx) == 0) {
    return ok;
  }
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  if (cert == nullptr) {
    return 0;
  }
  const uint32_t flags = X509_get_extension_flags(cert);
  const uint32_t eku = X509_get_extended_key_usage(cert);
  if ((flags & EXFLAG_XKUSAGE) != 0 &&
      (eku & (XKU_CODE_SIGN | XKU_ANYEKU)) == 0) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_INVALID_PURPOSE);
    return 0;
  }
  return ok;
}

}  // namespace imab::verifier
