#include "builder/manifest_signer.h"

#include <openssl/err.h>

#include <climits>

#include "common/read/openssl_error.h"

namespace imab::builder {

Result<std::vector<uint8_t>> SignManifest(std::string_view manifest,
                                          const SigningIdentity& identity) {
  if (identity.key == nullptr || identity.cert == nullptr ||
      identity.chain == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "signing identity is incomplete");
  }
  if (manifest.size() > static_cast<size_t>(INT_MAX)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "manifest too large to sign in one buffer");
  }
  ERR_clear_error();
  Ptr<BIO> data(
      BIO_new_mem_buf(manifest.data(), static_cast<int>(manifest.size())));
  if (data == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "BIO_new_mem_buf");
  }
  // BINARY: the manifest is signed byte for byte, no MIME canonicalisation.
  // PARTIAL: the signer is added below so the digest can be pinned.
  constexpr unsigned int kFlags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
  Ptr<CMS_ContentInfo> cms(
      CMS_sign(nullptr, nullptr, identity.chain.get(), nullptr, kFlags));
  if (cms == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "CMS_sign");
  }
  // SHA-256 explicitly, whatever the key's default digest is (FORMAT.md §5).
  if (CMS_add1_signer(cms.get(), identity.cert.get(), identity.key.get(),
                      EVP_sha256(), kFlags) == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "CMS_add1_signer");
  }
  if (CMS_final(cms.get(), data.get(), nullptr, kFlags) != 1) {
    return OpenSslError(ErrorCode::kInternal, "CMS_final");
  }
  // Two passes (size, then encode into our buffer) so no OpenSSL-allocated
  // buffer needs freeing here.
  int len = i2d_CMS_ContentInfo(cms.get(), nullptr);
  if (len <= 0) {
    return OpenSslError(ErrorCode::kInternal, "i2d_CMS_ContentInfo");
  }
  std::vector<uint8_t> out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  if (i2d_CMS_ContentInfo(cms.get(), &p) != len) {
    return OpenSslError(ErrorCode::kInternal, "i2d_CMS_ContentInfo");
  }
  return out;
}

}  // namespace imab::builder
