// Streaming SHA-256 (and friends), the digest every record of the bundle pins.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256 over EVP. Update() never fails for a valid context;
// Create() fails only if OpenSSL cannot provide SHA-256.
class Sha256 {
 public:
  static Result<Sha256> Create();

  void Update(std::span<const uint8_t> data);
  void Update(std::string_view data);
  // Returns the digest and resets the context for reuse.
  Sha256Digest Finish();

 private:
  explicit Sha256(Ptr<EVP_MD_CTX> ctx) : ctx_(std::move(ctx)) {}
  Ptr<EVP_MD_CTX> ctx_;
};

// One-shot helper.
Result<Sha256Digest> Sha256Of(std::span<const uint8_t> data);

// Constant-time equality, for digests read from untrusted input.
bool DigestEquals(const Sha256Digest& a, const Sha256Digest& b);

}  // namespace imab
