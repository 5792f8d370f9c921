// ContentHasher: SHA-256 (the manifest's content digest) and, when an
// IMA/EVM check needs it, a second algorithm, over one pass of the bytes.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/hash_algo.h"
#include "common/read/result.h"

namespace imab {

class ContentHasher {
 public:
  // `second`: the extra algorithm, or nullopt for SHA-256 alone.
  static Result<ContentHasher> Create(std::optional<HashAlgo> second);

  void Update(std::span<const uint8_t> data);

  // Returns the SHA-256 and writes the second digest into `second` (the
  // SHA-256 again when the second algorithm is SHA-256; cleared when there
  // is none).
  Sha256Digest Finish(std::vector<uint8_t>* second);

 private:
  ContentHasher(Sha256 sha, std::optional<HashAlgo> second)
      : sha_(std::move(sha)), second_algo_(second) {}
  Sha256 sha_;
  std::optional<HashAlgo> second_algo_;
  Ptr<EVP_MD_CTX> other_;  // only for a second algorithm other than SHA-256
};

}  // namespace imab
