#include "builder/digest_signer.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include <utility>

#include "builder/signing_identity.h"
#include "common/read/digest_signature.h"
#include "common/read/keyid.h"
#include "common/read/openssl_error.h"

namespace imab::builder {
namespace {

// A key and certificate from files. Immutable after construction, so
// concurrent Sign() calls share nothing but the read-only EVP_PKEY.
class FileDigestSigner final : public DigestSigner {
 public:
  FileDigestSigner(Ptr<EVP_PKEY> key, Ptr<X509> cert, uint32_t keyid)
      : key_(std::move(key)), cert_(std::move(cert)), keyid_(keyid) {}

  uint32_t keyid() const override { return keyid_; }
  const X509* certificate() const override { return cert_.get(); }

  Result<std::vector<uint8_t>> Sign(
      HashAlgo algo, std::span<const uint8_t> digest) const override;

 private:
  Ptr<EVP_PKEY> key_;
  Ptr<X509> cert_;
  uint32_t keyid_;
};

Result<std::vector<uint8_t>> FileDigestSigner::Sign(
    HashAlgo algo, std::span<const uint8_t> digest) const {
  // A context per call inside: EVP_PKEY_CTX is not shared between threads.
  return SignDigestWithKey(key_.get(), key_.get(), algo, digest, "signing key");
}

}  // namespace

Result<std::vector<uint8_t>> SignDigestWithKey(EVP_PKEY* key,
                                               const EVP_PKEY* public_key,
                                               HashAlgo algo,
                                               std::span<const uint8_t> digest,
                                               const std::string& label) {
  if (!IsSigningHashAlgo(algo)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        std::string(HashAlgoName(algo)) + " is not a signing hash algorithm");
  }
  if (digest.size() != HashAlgoDigestSize(algo)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(HashAlgoName(algo)) + " digest of " +
                         std::to_string(digest.size()) + " bytes");
  }
  ERR_clear_error();
  Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (ctx == nullptr || EVP_PKEY_sign_init(ctx.get()) != 1) {
    return OpenSslError(ErrorCode::kInternal, label + ": EVP_PKEY_sign_init");
  }
  // With the md set, RSA signs DigestInfo(algo, digest) with PKCS#1 v1.5
  // padding, which is what evmctl writes and the kernel checks.
  bool rsa = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
  if ((rsa &&
       EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), HashAlgoMd(algo)) != 1) {
    return OpenSslError(ErrorCode::kInternal, label + ": signing parameters");
  }
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) !=
      1) {
    return OpenSslError(ErrorCode::kInternal, label + ": EVP_PKEY_sign (size)");
  }
  std::vector<uint8_t> sig(len);
  if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(),
                    digest.size()) != 1) {
    return OpenSslError(ErrorCode::kInternal, label + ": refused to sign");
  }
  sig.resize(len);
  // Checking costs one public-exponent operation, a few percent of an RSA
  // sign; ECDSA verification costs more than signing and has no CRT fault,
  // so EC signatures are not re-checked.
  if (!rsa) {
    return sig;
  }
  Status check = VerifyDigestSignature(const_cast<EVP_PKEY*>(public_key), algo,
                                       digest, sig);
  if (!check.ok()) {
    return MakeError(ErrorCode::kInternal, label +
                                               ": fresh signature does not "
                                               "verify: " +
                                               check.error().message);
  }
  return sig;
}

Result<std::unique_ptr<DigestSigner>> LoadFileDigestSigner(
    const std::string& key_path, const std::string& cert_path) {
  // Refuses encrypted keys (passphrase callback fails) and a key that does
  // not match the certificate, naming the files.
  IMAB_ASSIGN_OR_RETURN(SigningIdentity identity,
                        LoadSigningIdentity(key_path, cert_path, ""));
  Result<uint32_t> keyid = KeyIdFromCertificate(identity.cert.get());
  if (!keyid.has_value()) {
    return WithContext(std::move(keyid).error(), cert_path);
  }
  Status type = CheckKernelKeyType(identity.key.get());
  if (!type.ok()) {
    return WithContext(std::move(type).error(), key_path);
  }
  return std::unique_ptr<DigestSigner>(std::make_unique<FileDigestSigner>(
      std::move(identity.key), std::move(identity.cert), *keyid));
}

}  // namespace imab::builder
