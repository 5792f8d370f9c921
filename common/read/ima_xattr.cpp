#include "common/read/ima_xattr.h"

#include <algorithm>

#include "common/read/byte_reader.h"
#include "common/read/hex.h"

namespace imab {
namespace {

// "0x04" for messages.
std::string ByteHex(uint8_t b) {
  return "0x" + HexEncode(std::span<const uint8_t>(&b, 1));
}

Error Malformed(const std::string& what) {
  return MakeError(ErrorCode::kMalformed, what);
}

// Reads the kernel hash id byte and requires an algorithm we know.
Result<HashAlgo> ReadAlgo(ByteReader& reader) {
  IMAB_ASSIGN_OR_RETURN(uint8_t id, reader.ReadU8());
  std::optional<HashAlgo> algo = HashAlgoFromKernelId(id);
  if (!algo.has_value()) {
    return Malformed("hash algorithm " + std::to_string(id) + " unknown");
  }
  return *algo;
}

}  // namespace

Result<SignatureV2> ParseSignatureV2(std::string_view value,
                                     XattrType expected_type) {
  if (value.empty()) {
    return Malformed("empty signature value");
  }
  // The kernel requires at least one signature byte after the header.
  if (value.size() <= kSignatureV2HeaderBytes) {
    return Malformed("truncated signature: " + std::to_string(value.size()) +
                     " bytes, need more than " +
                     std::to_string(kSignatureV2HeaderBytes));
  }
  ByteReader reader(value);
  SignatureV2 sig;
  IMAB_ASSIGN_OR_RETURN(uint8_t type, reader.ReadU8());
  if (type != static_cast<uint8_t>(expected_type)) {
    return Malformed("wrong type byte " + ByteHex(type) + ", expected " +
                     ByteHex(static_cast<uint8_t>(expected_type)));
  }
  sig.type = expected_type;
  IMAB_ASSIGN_OR_RETURN(uint8_t version, reader.ReadU8());
  // v1 is the legacy RSA-only format, v3 signs a different message (§2.4).
  if (version != 2) {
    return Malformed("version " + std::to_string(version) + ", expected 2");
  }
  IMAB_ASSIGN_OR_RETURN(sig.algo, ReadAlgo(reader));
  // SHA-1/SHA-224 signatures are weaker than the release key deserves.
  if (!IsSigningHashAlgo(sig.algo)) {
    return Malformed("hash algorithm " +
                     std::to_string(static_cast<int>(sig.algo)) + " (" +
                     std::string(HashAlgoName(sig.algo)) + ") not allowed");
  }
  IMAB_ASSIGN_OR_RETURN(sig.keyid, reader.ReadU32Be());
  IMAB_ASSIGN_OR_RETURN(uint16_t sig_size, reader.ReadU16Be());
  // Exact match as in the kernel: no truncated blob, no trailing bytes.
  if (sig_size != reader.remaining()) {
    return Malformed("sig_size " + std::to_string(sig_size) + " but " +
                     std::to_string(reader.remaining()) + " bytes follow");
  }
  std::span<const uint8_t> blob = reader.ReadRest();
  sig.signature.assign(blob.begin(), blob.end());
  return sig;
}

Result<ImaXattr> ParseImaXattr(std::string_view value) {
  if (value.empty()) {
    return Malformed("empty security.ima value");
  }
  ByteReader reader(value);
  IMAB_ASSIGN_OR_RETURN(uint8_t type, reader.ReadU8());
  ImaXattr out;
  switch (type) {
    case static_cast<uint8_t>(XattrType::kDigsig): {
      IMAB_ASSIGN_OR_RETURN(out.signature,
                            ParseSignatureV2(value, XattrType::kDigsig));
      out.is_signature = true;
      return out;
    }
    case static_cast<uint8_t>(XattrType::kImaDigestNg): {
      IMAB_ASSIGN_OR_RETURN(out.digest_algo, ReadAlgo(reader));
      break;
    }
    case static_cast<uint8_t>(XattrType::kImaDigest):
      out.digest_algo = HashAlgo::kSha1;
      break;
    default:
      return Malformed("security.ima type byte " + ByteHex(type) +
                       " not supported (expected 0x01, 0x03 or 0x04)");
  }
  size_t want = HashAlgoDigestSize(out.digest_algo);
  // A digest of the wrong length can never match; refuse it as malformed.
  if (reader.remaining() != want) {
    return Malformed(std::string(HashAlgoName(out.digest_algo)) +
                     " digest of " + std::to_string(reader.remaining()) +
                     " bytes, expected " + std::to_string(want));
  }
  std::span<const uint8_t> digest = reader.ReadRest();
  out.digest.assign(digest.begin(), digest.end());
  out.kernel_reads_md5 = type == static_cast<uint8_t>(XattrType::kImaDigest) &&
                         std::all_of(out.digest.begin() + 16, out.digest.end(),
                                     [](uint8_t b) { return b == 0; });
  return out;
}

}  // namespace imab
