#include "common/read/hash_algo.h"

namespace imab {

std::string_view HashAlgoName(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::kSha1:
      return "sha1";
    case HashAlgo::kSha256:
      return "sha256";
    case HashAlgo::kSha384:
      return "sha384";
    case HashAlgo::kSha512:
      return "sha512";
    case HashAlgo::kSha224:
      return "sha224";
  }
  return "unknown";
}

std::optional<HashAlgo> HashAlgoFromKernelId(uint8_t id) {
  // Only ids we have an enumerator for; everything else (md5, rmd160, sm3,
  // out-of-range bytes) is unknown to us.
  switch (id) {
    case static_cast<uint8_t>(HashAlgo::kSha1):
      return HashAlgo::kSha1;
    case static_cast<uint8_t>(HashAlgo::kSha256):
      return HashAlgo::kSha256;
    case static_cast<uint8_t>(HashAlgo::kSha384):
      return HashAlgo::kSha384;
    case static_cast<uint8_t>(HashAlgo::kSha512):
      return HashAlgo::kSha512;
    case static_cast<uint8_t>(HashAlgo::kSha224):
      return HashAlgo::kSha224;
    default:
      return std::nullopt;
  }
}

bool IsSigningHashAlgo(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::kSha256:
    case HashAlgo::kSha384:
    case HashAlgo::kSha512:
      return true;
    case HashAlgo::kSha1:
    case HashAlgo::kSha224:
      return false;
  }
  return false;
}

size_t HashAlgoDigestSize(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::kSha1:
      return 20;
    case HashAlgo::kSha256:
      return 32;
    case HashAlgo::kSha384:
      return 48;
    case HashAlgo::kSha512:
      return 64;
    case HashAlgo::kSha224:
      return 28;
  }
  return 0;
}

const EVP_MD* HashAlgoMd(HashAlgo algo) {
  // The EVP_sha*() getters return static objects: no fetch, nothing to free.
  switch (algo) {
    case HashAlgo::kSha1:
      return EVP_sha1();
    case HashAlgo::kSha256:
      return EVP_sha256();
    case HashAlgo::kSha384:
      return EVP_sha384();
    case HashAlgo::kSha512:
      return EVP_sha512();
    case HashAlgo::kSha224:
      return EVP_sha224();
  }
  return nullptr;
}

}  // namespace imab
