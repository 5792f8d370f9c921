#include "common/read/content_hasher.h"

#include "common/read/openssl_error.h"

namespace imab {

Result<ContentHasher> ContentHasher::Create(std::optional<HashAlgo> second) {
  IMAB_ASSIGN_OR_RETURN(Sha256 sha, Sha256::Create());
  ContentHasher hasher(std::move(sha), second);
  if (second.has_value() && *second != HashAlgo::kSha256) {
    hasher.other_.reset(EVP_MD_CTX_new());
    if (hasher.other_ == nullptr ||
        EVP_DigestInit_ex(hasher.other_.get(), HashAlgoMd(*second), nullptr) !=
            1) {
      return OpenSslError(ErrorCode::kInternal, "digest unavailable");
    }
  }
  return hasher;
}

void ContentHasher::Update(std::span<const uint8_t> data) {
  sha_.Update(data);
  if (other_ != nullptr && !data.empty()) {
    EVP_DigestUpdate(other_.get(), data.data(), data.size());
  }
}

Sha256Digest ContentHasher::Finish(std::vector<uint8_t>* second) {
  Sha256Digest sha256 = sha_.Finish();
  second->clear();
  if (other_ != nullptr) {
    second->resize(EVP_MD_CTX_get_size(other_.get()) > 0
                       ? static_cast<size_t>(EVP_MD_CTX_get_size(other_.get()))
                       : 0);
    unsigned int len = 0;
    EVP_DigestFinal_ex(other_.get(), second->data(), &len);
  } else if (second_algo_.has_value()) {
    second->assign(sha256.begin(), sha256.end());
  }
  return sha256;
}

}  // namespace imab
