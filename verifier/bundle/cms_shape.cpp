#include "verifier/bundle/cms_shape.h"

#include <algorithm>
#include <string>

#include "common/read/byte_reader.h"

namespace imab::verifier {
namespace {

// DER universal and context tags used by SignedData (RFC 5652 §5).
constexpr uint8_t kInteger = 0x02;
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kSet = 0x31;
constexpr uint8_t kContext0 = 0xa0;
constexpr uint8_t kContext1 = 0xa1;
constexpr uint8_t kOctetString = 0x04;

struct Tlv {
  uint8_t tag;
  std::span<const uint8_t> content;
  std::span<const uint8_t> whole;  // tag, length and content
};

Status Bad(const std::string& what) {
  return MakeError(ErrorCode::kBadSignature, "manifest.sig: " + what);
}

// One DER element with a single-byte tag and a definite length of at most
// four bytes; the length is checked against what remains.
Result<Tlv> ReadTlv(ByteReader& r) {
  std::span<const uint8_t> rest = r.ReadRest();
  ByteReader in(rest);
  IMAB_ASSIGN_OR_RETURN(uint8_t tag, in.ReadU8());
  IMAB_ASSIGN_OR_RETURN(uint8_t first, in.ReadU8());
  size_t length = first;
  if (first >= 0x80) {
    size_t count = first & 0x7f;
    if (count == 0 || count > 4) {
      return MakeError(ErrorCode::kBadSignature,
                       "manifest.sig: unsupported DER length");
    }
    length = 0;
    for (size_t i = 0; i < count; ++i) {
      IMAB_ASSIGN_OR_RETURN(uint8_t b, in.ReadU8());
      length = (length << 8) | b;
    }
  }
  IMAB_ASSIGN_OR_RETURN(auto content, in.ReadBytes(length));
  size_t used = in.position();
  r = ByteReader(rest.subspan(used));
  return Tlv{tag, content, rest.first(used)};
}

Result<Tlv> Expect(ByteReader& r, uint8_t tag, const char* field) {
  Result<Tlv> tlv = ReadTlv(r);
  if (!tlv.has_value() || tlv->tag != tag) {
    return MakeError(ErrorCode::kBadSignature,
                     std::string("manifest.sig: ") + field + " missing");
  }
  return tlv;
}

Status ExpectVersionOne(ByteReader& r, const char* field) {
  IMAB_ASSIGN_OR_RETURN(Tlv v, Expect(r, kInteger, field));
  if (v.content.size() != 1 || v.content[0] != 1) {
    return Bad(std::string(field) + " is not 1");
  }
  return OkStatus();
}

bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, [0] signedAttrs,
// signatureAlgorithm, signature, [1] unsignedAttrs OPTIONAL }
Status CheckSignerInfo(std::span<const uint8_t> content,
                       std::span<const uint8_t> digest_algorithm,
                       std::span<const uint8_t>* signature_algorithm) {
  ByteReader r(content);
  IMAB_RETURN_IF_ERROR(ExpectVersionOne(r, "SignerInfo version"));
  IMAB_RETURN_IF_ERROR(Expect(r, kSequence, "issuerAndSerialNumber"));
  IMAB_ASSIGN_OR_RETURN(Tlv digest, Expect(r, kSequence, "digestAlgorithm"));
  if (!SameBytes(digest.whole, digest_algorithm)) {
    return Bad("digest algorithm lists disagree");
  }
  IMAB_RETURN_IF_ERROR(Expect(r, kContext0, "signed attributes"));
  IMAB_ASSIGN_OR_RETURN(Tlv sig_alg,
                        Expect(r, kSequence, "signatureAlgorithm"));
  IMAB_RETURN_IF_ERROR(Expect(r, kOctetString, "signature value"));
  if (!r.empty()) {
    // Unsigned attributes are not covered by the signature.
    return Bad("unsigned attributes or trailing fields present");
  }
  *signature_algorithm = sig_alg.whole;
  return OkStatus();
}

}  // namespace

Status CheckUnsignedCmsFields(std::span<const uint8_t> der,
                              std::span<const uint8_t>* signature_algorithm) {
  ByteReader top(der);
  IMAB_ASSIGN_OR_RETURN(Tlv info, Expect(top, kSequence, "ContentInfo"));
  ByteReader ci(info.content);
  IMAB_RETURN_IF_ERROR(Expect(ci, kOid, "content type"));
  IMAB_ASSIGN_OR_RETURN(Tlv explicit0, Expect(ci, kContext0, "content"));
  ByteReader e0(explicit0.content);
  IMAB_ASSIGN_OR_RETURN(Tlv signed_data, Expect(e0, kSequence, "SignedData"));
  ByteReader sd(signed_data.content);
  IMAB_RETURN_IF_ERROR(ExpectVersionOne(sd, "SignedData version"));
  IMAB_ASSIGN_OR_RETURN(Tlv digests, Expect(sd, kSet, "digestAlgorithms"));
  ByteReader ds(digests.content);
  IMAB_ASSIGN_OR_RETURN(Tlv digest, Expect(ds, kSequence, "digestAlgorithm"));
  if (!ds.empty()) {
    return Bad("more than one digest algorithm");
  }
  IMAB_RETURN_IF_ERROR(Expect(sd, kSequence, "encapContentInfo"));
  IMAB_ASSIGN_OR_RETURN(Tlv next, ReadTlv(sd));
  if (next.tag == kContext0) {  // certificates, checked by the chain
    IMAB_ASSIGN_OR_RETURN(next, ReadTlv(sd));
  }
  if (next.tag == kContext1) {
    return Bad("carries CRLs, which FORMAT.md §5 does not allow");
  }
  if (next.tag != kSet || !sd.empty() || !top.empty() || !ci.empty() ||
      !e0.empty()) {
    return Bad("signerInfos missing or followed by other fields");
  }
  ByteReader signers(next.content);
  IMAB_ASSIGN_OR_RETURN(Tlv signer, Expect(signers, kSequence, "SignerInfo"));
  if (!signers.empty()) {
    return Bad("more than one SignerInfo");
  }
  return CheckSignerInfo(signer.content, digest.whole, signature_algorithm);
}

}  // namespace imab::verifier
