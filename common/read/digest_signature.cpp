#include "common/read/digest_signature.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <string>

#include "common/read/handles.h"
#include "common/read/openssl_error.h"

namespace imab {
namespace {

enum class KeyFamily { kRsa, kEc, kOther };

KeyFamily FamilyOf(const EVP_PKEY* key) {
  // "RSA" excludes RSA-PSS keys, which the kernel's pkcs1 path cannot use.
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    return KeyFamily::kRsa;
  }
  if (EVP_PKEY_is_a(key, "EC") == 1) {
    return KeyFamily::kEc;
  }
  return KeyFamily::kOther;
}

// NID of an EC key's named curve, or NID_undef.
int CurveNid(const EVP_PKEY* key) {
  char name[80] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1) {
    ERR_clear_error();
    return NID_undef;
  }
  int nid = OBJ_sn2nid(name);
  if (nid == NID_undef) {
    nid = EC_curve_nist2nid(name);
  }
  return nid;
}

}  // namespace

std::string DescribeKey(const EVP_PKEY* key) {
  if (key == nullptr) {
    return "(no key)";
  }
  switch (FamilyOf(key)) {
    case KeyFamily::kRsa:
      return "RSA-" + std::to_string(EVP_PKEY_get_bits(key));
    case KeyFamily::kEc: {
      int nid = CurveNid(key);
      const char* nist = EC_curve_nid2nist(nid);
      if (nist != nullptr) {
        return std::string("EC ") + nist;
      }
      const char* sn = nid == NID_undef ? nullptr : OBJ_nid2sn(nid);
      return std::string("EC ") + (sn != nullptr ? sn : "(unnamed curve)");
    }
    case KeyFamily::kOther: {
      const char* type = EVP_PKEY_get0_type_name(key);
      return type != nullptr ? type : "(unknown key type)";
    }
  }
  return "(unknown key type)";
}

Status CheckKernelKeyType(const EVP_PKEY* key) {
  if (key == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "no key");
  }
  switch (FamilyOf(key)) {
    case KeyFamily::kRsa: {
      int bits = EVP_PKEY_get_bits(key);
      if (bits == 2048 || bits == 3072 || bits == 4096) {
        return OkStatus();
      }
      return MakeError(
          ErrorCode::kInvalidArgument,
          DescribeKey(key) + ": the kernel accepts RSA 2048, 3072 or 4096");
    }
    case KeyFamily::kEc: {
      int nid = CurveNid(key);
      if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1) {
        return OkStatus();
      }
      return MakeError(
          ErrorCode::kInvalidArgument,
          DescribeKey(key) + ": the kernel accepts EC P-256 or P-384");
    }
    case KeyFamily::kOther:
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   DescribeKey(key) +
                       ": the kernel accepts RSA 2048/3072/4096 or EC "
                       "P-256/P-384 keys only");
}

Result<PreparedVerifyKey> PreparedVerifyKey::Create(EVP_PKEY* key,
                                                    HashAlgo algo) {
  if (key == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "no key");
  }
  const KeyFamily family = FamilyOf(key);
  if (family == KeyFamily::kOther) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        DescribeKey(key) + ": not an RSA or EC key, the kernel cannot use it");
  }
  ERR_clear_error();
  Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (ctx == nullptr || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return OpenSslError(ErrorCode::kInternal, "EVP_PKEY_verify_init");
  }
  // The md makes RSA wrap the digest in DigestInfo (PKCS#1 v1.5) as the
  // kernel's pkcs1pad(rsa,<hash>) does, and makes ECDSA check its length.
  if ((family == KeyFamily::kRsa &&
       EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), HashAlgoMd(algo)) != 1) {
    return OpenSslError(ErrorCode::kInternal, "verify parameters");
  }
  return PreparedVerifyKey(std::move(ctx), algo, DescribeKey(key));
}

Status PreparedVerifyKey::Verify(std::span<const uint8_t> digest,
                                 std::span<const uint8_t> signature) const {
  if (digest.size() != HashAlgoDigestSize(algo_)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(HashAlgoName(algo_)) + " digest of " +
                         std::to_string(digest.size()) + " bytes");
  }
  ERR_clear_error();
  // A copy per check: EVP_PKEY_verify may keep state in its context.
  Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_dup(ctx_.get()));
  if (ctx == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "EVP_PKEY_CTX_dup");
  }
  int rc = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(),
                           digest.data(), digest.size());
  if (rc != 1) {
    // 0 is a wrong signature, < 0 an undecodable one: both are refusals.
    return OpenSslError(ErrorCode::kBadSignature,
                        std::string(HashAlgoName(algo_)) + " signature by " +
                            key_description_ + " does not verify");
  }
  return OkStatus();
}

Status VerifyDigestSignature(EVP_PKEY* key, HashAlgo algo,
                             std::span<const uint8_t> digest,
                             std::span<const uint8_t> signature) {
  IMAB_ASSIGN_OR_RETURN(PreparedVerifyKey prepared,
                        PreparedVerifyKey::Create(key, algo));
  return prepared.Verify(digest, signature);
}

}  // namespace imab
