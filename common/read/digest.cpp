#include "common/read/digest.h"

#include <openssl/crypto.h>

#include "common/read/openssl_error.h"

namespace imab {

Result<Sha256> Sha256::Create() {
  Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return OpenSslError(ErrorCode::kInternal, "SHA-256 unavailable");
  }
  return Sha256(std::move(ctx));
}

void Sha256::Update(std::span<const uint8_t> data) {
  if (!data.empty()) {
    // EVP_DigestUpdate cannot fail on an initialised SHA-256 context.
    EVP_DigestUpdate(ctx_.get(), data.data(), data.size());
  }
}

void Sha256::Update(std::string_view data) {
  Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()),
                                  data.size()));
}

Sha256Digest Sha256::Finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), out.data(), &len);
  EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  return out;
}

Result<Sha256Digest> Sha256Of(std::span<const uint8_t> data) {
  IMAB_ASSIGN_OR_RETURN(Sha256 h, Sha256::Create());
  h.Update(data);
  return h.Finish();
}

bool DigestEquals(const Sha256Digest& a, const Sha256Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace imab
