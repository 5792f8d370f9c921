#include "tests/testutil/cms_forge.h"

#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>

#include "common/read/handles.h"
#include "common/read/openssl_error.h"

namespace imab::testing {
namespace {

// One DER element at `at` in `der`: its tag, where its content starts and
// how long the content is. False when it runs past the end.
struct Element {
  uint8_t tag = 0;
  size_t content = 0;
  size_t length = 0;
  size_t end() const { return content + length; }
};

bool ReadElement(const std::vector<uint8_t>& der, size_t at, Element* out) {
  if (at + 2 > der.size()) {
    return false;
  }
  out->tag = der[at];
  size_t length = der[at + 1];
  size_t pos = at + 2;
  if (length >= 0x80) {
    size_t count = length & 0x7f;
    if (count == 0 || count > 4 || pos + count > der.size()) {
      return false;
    }
    length = 0;
    for (size_t i = 0; i < count; ++i) {
      length = (length << 8) | der[pos++];
    }
  }
  out->content = pos;
  out->length = length;
  return out->end() <= der.size();
}

// Start and size of the SignerInfo's [0] signedAttrs element (RFC 5652
// §5.1, §5.3), found by walking ContentInfo > SignedData > signerInfos.
bool FindSignedAttributes(const std::vector<uint8_t>& der, size_t* start,
                          size_t* size) {
  Element e;
  // ContentInfo SEQUENCE, contentType OID, [0], SignedData SEQUENCE.
  if (!ReadElement(der, 0, &e) || !ReadElement(der, e.content, &e) ||
      !ReadElement(der, e.end(), &e) || !ReadElement(der, e.content, &e)) {
    return false;
  }
  // version, digestAlgorithms, encapContentInfo, [0] certificates, then
  // the signerInfos SET (no CRLs in our signatures).
  size_t at = e.content;
  for (int i = 0; i < 3; ++i) {
    if (!ReadElement(der, at, &e)) {
      return false;
    }
    at = e.end();
  }
  if (!ReadElement(der, at, &e)) {
    return false;
  }
  if (e.tag == 0xa0 && !ReadElement(der, e.end(), &e)) {
    return false;
  }
  // signerInfos SET > SignerInfo SEQUENCE: version, sid, digestAlgorithm.
  if (e.tag != 0x31 || !ReadElement(der, e.content, &e)) {
    return false;
  }
  at = e.content;
  for (int i = 0; i < 3; ++i) {
    if (!ReadElement(der, at, &e)) {
      return false;
    }
    at = e.end();
  }
  if (!ReadElement(der, at, &e) || e.tag != 0xa0) {
    return false;
  }
  *start = at;
  *size = e.end() - at;
  return true;
}

std::vector<uint8_t> Encode(CMS_ContentInfo* cms) {
  int len = i2d_CMS_ContentInfo(cms, nullptr);
  if (len <= 0) {
    return {};
  }
  std::vector<uint8_t> out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  if (i2d_CMS_ContentInfo(cms, &p) != len) {
    return {};
  }
  return out;
}

// handles.h has no alias for X509_ATTRIBUTE (only this helper deletes
// attributes), so the owner is local.
struct AttributeDeleter {
  void operator()(X509_ATTRIBUTE* a) const { X509_ATTRIBUTE_free(a); }
};
using AttributePtr = std::unique_ptr<X509_ATTRIBUTE, AttributeDeleter>;

void Drop(CMS_SignerInfo* si, int nid) {
  int at = CMS_signed_get_attr_by_NID(si, nid, -1);
  if (at >= 0) {
    AttributePtr dropped(CMS_signed_delete_attr(si, at));
  }
}

bool AddSigningTime(CMS_SignerInfo* si, int64_t when) {
  Ptr<ASN1_TIME> time(ASN1_TIME_set(nullptr, static_cast<time_t>(when)));
  return time != nullptr &&
         CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, time->type,
                                     time.get(), -1) == 1;
}

bool ApplyValueEdits(CMS_SignerInfo* si, const SignedAttributeEdit& edit) {
  if (edit.utf8_value_nid.has_value()) {
    Drop(si, *edit.utf8_value_nid);
    if (CMS_signed_add1_attr_by_NID(si, *edit.utf8_value_nid, V_ASN1_UTF8STRING,
                                    "x", 1) != 1) {
      return false;
    }
  }
  if (!edit.two_values_nid.has_value()) {
    return true;
  }
  int at = CMS_signed_get_attr_by_NID(si, *edit.two_values_nid, -1);
  X509_ATTRIBUTE* attr = at < 0 ? nullptr : CMS_signed_get_attr(si, at);
  ASN1_TYPE* first =
      attr == nullptr ? nullptr : X509_ATTRIBUTE_get0_type(attr, 0);
  // len -1: the data is the value object itself, copied.
  return first != nullptr &&
         X509_ATTRIBUTE_set1_data(attr, first->type, first->value.ptr, -1) == 1;
}

bool ApplyEdit(CMS_SignerInfo* si, const SignedAttributeEdit& edit) {
  if (edit.drop_content_type || edit.content_type_nid.has_value()) {
    Drop(si, NID_pkcs9_contentType);
  }
  if (edit.content_type_nid.has_value() &&
      CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                  OBJ_nid2obj(*edit.content_type_nid),
                                  -1) != 1) {
    return false;
  }
  if (edit.drop_message_digest) {
    Drop(si, NID_pkcs9_messageDigest);
  }
  if (edit.drop_signing_time || edit.signing_time.has_value()) {
    Drop(si, NID_pkcs9_signingTime);
  }
  if (edit.signing_time.has_value() &&
      !AddSigningTime(si, *edit.signing_time)) {
    return false;
  }
  if (edit.second_signing_time &&
      !AddSigningTime(si, static_cast<int64_t>(::time(nullptr)))) {
    return false;
  }
  return ApplyValueEdits(si, edit);
}

// The signature covers the DER of the attributes with a SET tag in place
// of the [0] IMPLICIT one (RFC 5652 §5.4).
std::vector<uint8_t> SignAttributes(std::vector<uint8_t> attributes,
                                    EVP_PKEY* key) {
  attributes[0] = 0x31;
  Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, attributes.data(),
                     attributes.size()) != 1) {
    return {};
  }
  std::vector<uint8_t> signature(size);
  if (EVP_DigestSign(ctx.get(), signature.data(), &size, attributes.data(),
                     attributes.size()) != 1) {
    return {};
  }
  signature.resize(size);
  return signature;
}

}  // namespace

std::vector<uint8_t> ResignAttributes(const std::vector<uint8_t>& der,
                                      const TestIdentity& signer,
                                      const SignedAttributeEdit& edit) {
  const unsigned char* p = der.data();
  Ptr<CMS_ContentInfo> cms(
      d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  CMS_SignerInfo* si = cms == nullptr ? nullptr
                                      : sk_CMS_SignerInfo_value(
                                            CMS_get0_SignerInfos(cms.get()), 0);
  if (si == nullptr || !ApplyEdit(si, edit)) {
    ADD_FAILURE() << "editing signed attributes: " << DrainOpenSslErrors();
    return {};
  }
  std::vector<uint8_t> edited = Encode(cms.get());
  size_t start = 0;
  size_t size = 0;
  if (!FindSignedAttributes(edited, &start, &size)) {
    ADD_FAILURE() << "signed attributes not found in the DER";
    return {};
  }
  std::vector<uint8_t> signature = SignAttributes(
      std::vector<uint8_t>(edited.begin() + static_cast<long>(start),
                           edited.begin() + static_cast<long>(start + size)),
      signer.key.get());
  if (signature.empty() ||
      ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), signature.data(),
                      static_cast<int>(signature.size())) != 1) {
    ADD_FAILURE() << "signing the attributes: " << DrainOpenSslErrors();
    return {};
  }
  return Encode(cms.get());
}

}  // namespace imab::testing
