// Encodes security.ima / security.evm values (ima-evm-formats.md §2).
#include "common/write/ima_xattr_writer.h"

#include <string>

namespace imab {
namespace {

void AppendBe(std::string& out, uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

}  // namespace

std::string EncodeSignatureV2(XattrType type, HashAlgo algo, uint32_t keyid,
                              std::span<const uint8_t> signature) {
  std::string out;
  out.reserve(kSignatureV2HeaderBytes + signature.size());
  out.push_back(static_cast<char>(type));
  out.push_back(2);
  out.push_back(static_cast<char>(algo));
  AppendBe(out, keyid, 4);
  // Precondition size <= 0xffff; a violation yields a value the parser (and
  // the kernel) refuse rather than a silently shortened blob.
  AppendBe(out, static_cast<uint32_t>(signature.size() & 0xffff), 2);
  out.append(reinterpret_cast<const char*>(signature.data()), signature.size());
  return out;
}

std::string EncodeImaDigest(HashAlgo algo, std::span<const uint8_t> digest) {
  std::string out;
  if (algo == HashAlgo::kSha1) {
    out.push_back(static_cast<char>(XattrType::kImaDigest));
  } else {
    out.push_back(static_cast<char>(XattrType::kImaDigestNg));
    out.push_back(static_cast<char>(algo));
  }
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return out;
}

Result<HashAlgo> SigningHashAlgoFromName(std::string_view name) {
  for (HashAlgo algo :
       {HashAlgo::kSha256, HashAlgo::kSha384, HashAlgo::kSha512}) {
    if (name == HashAlgoName(algo)) {
      return algo;
    }
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "hash algorithm '" + std::string(name) +
                       "' not supported for signing; use sha256, sha384 or "
                       "sha512");
}

}  // namespace imab
