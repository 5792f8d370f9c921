#include "verifier/trust/trust_content_sink.h"

#include <openssl/evp.h>

#include <vector>

#include "common/read/hash_algo.h"

namespace imab::verifier {

Status TrustContentSink::Begin(const Entry& entry) {
  IMAB_RETURN_IF_ERROR(inner_.Begin(entry));
  watching_ = decider_ != nullptr && entry.type == EntryType::kFile;
  hash_.reset();
  if (!watching_) {
    return OkStatus();
  }
  scanner_.Begin(entry.size);
  if (std::optional<HashAlgo> algo = decider_->ContentDigestAlgo(entry)) {
    hash_.reset(EVP_MD_CTX_new());
    if (hash_ == nullptr ||
        EVP_DigestInit_ex(hash_.get(), HashAlgoMd(*algo), nullptr) != 1) {
      return MakeError(ErrorCode::kInternal, "cannot start a content digest");
    }
  }
  return OkStatus();
}

Status TrustContentSink::Content(std::span<const uint8_t> data) {
  IMAB_RETURN_IF_ERROR(inner_.Content(data));
  if (!watching_) {
    return OkStatus();
  }
  scanner_.Feed(data);
  if (hash_ != nullptr &&
      EVP_DigestUpdate(hash_.get(), data.data(), data.size()) != 1) {
    return MakeError(ErrorCode::kInternal, "content digest failed");
  }
  return OkStatus();
}

// Called once the content matched its manifest digest.
Status TrustContentSink::End(const Entry& entry) {
  IMAB_RETURN_IF_ERROR(inner_.End(entry));
  if (!watching_) {
    return OkStatus();
  }
  watching_ = false;
  if (hash_ != nullptr) {
    std::vector<uint8_t> digest(EVP_MAX_MD_SIZE);
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(hash_.get(), digest.data(), &size) != 1) {
      return MakeError(ErrorCode::kInternal, "content digest failed");
    }
    digest.resize(size);
    decider_->ConsiderContent(entry, digest);
    hash_.reset();
  }
  if (std::optional<ProgramDeps> deps = scanner_.Finish()) {
    decider_->ConsiderProgram(entry.path, std::move(*deps));
  }
  return OkStatus();
}

}  // namespace imab::verifier
