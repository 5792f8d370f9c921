#include "verifier/bundle/manifest_signature.h"

#include <openssl/err.h>

#include <algorithm>
#include <climits>
#include <ctime>
#include <optional>
#include <string_view>
#include <vector>

#include "common/read/limits.h"
#include "common/read/openssl_error.h"
#include "common/read/x509_util.h"
#include "verifier/bundle/cms_shape.h"
#include "verifier/bundle/release_signer.h"

namespace imab::verifier {
namespace {

constexpr std::string_view kSig = "manifest.sig: ";

// State of the read-only BIO over [offset, end) of a ByteSource. It lives on
// the stack of VerifyManifestSignature and outlives the BIO.
struct RegionReader {
  ByteSource* source;
  uint64_t pos;
  uint64_t end;
  Sha256* hash;
  Status status;  // first read error; once set, every read fails
};

// BIO read callback: serves the region in the chunks CMS_verify asks for
// and hashes exactly the bytes handed out. -1 on a source error, so
// CMS_verify fails instead of treating the content as complete.
int RegionRead(BIO* bio, char* buf, int len) {
  auto* reader = static_cast<RegionReader*>(BIO_get_data(bio));
  if (reader == nullptr || !reader->status.ok() || len < 0) {
    return -1;
  }
  uint64_t want =
      std::min<uint64_t>(static_cast<uint64_t>(len), reader->end - reader->pos);
  if (want == 0) {
    return 0;
  }
  std::span<uint8_t> out(reinterpret_cast<uint8_t*>(buf),
                         static_cast<size_t>(want));
  reader->status = reader->source->ReadAt(reader->pos, out);
  if (!reader->status.ok()) {
    return -1;
  }
  reader->hash->Update(out);
  reader->pos += want;
  return static_cast<int>(want);
}

long RegionCtrl(BIO* bio, int cmd, long /*num*/, void* /*ptr*/) {
  const auto* reader = static_cast<const RegionReader*>(BIO_get_data(bio));
  switch (cmd) {
    case BIO_CTRL_EOF:
      return reader == nullptr || reader->pos == reader->end ? 1 : 0;
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

// Collects the error queue including each entry's data string, which is
// where CMS_verify puts the X509 verify reason ("Verify error:...").
// Returns the chain reason if there is one, else the joined queue.
std::string DrainCmsErrors(bool* chain_error) {
  std::string all;
  std::string chain_reason;
  const char* data = nullptr;
  int flags = 0;
  unsigned long err = 0;
  while ((err = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) !=
         0) {
    const char* reason = ERR_reason_error_string(err);
    std::string entry = reason != nullptr ? reason : "unknown error";
    bool has_text =
        (flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0';
    if (has_text) {
      entry += " (" + std::string(data) + ")";
    }
    if (ERR_GET_LIB(err) == ERR_LIB_CMS &&
        ERR_GET_REASON(err) == CMS_R_CERTIFICATE_VERIFY_ERROR && has_text) {
      std::string_view text(data);
      constexpr std::string_view kPrefix = "Verify error:";
      if (text.substr(0, kPrefix.size()) == kPrefix) {
        text.remove_prefix(kPrefix.size());
      }
      while (!text.empty() && text.front() == ' ') {
        text.remove_prefix(1);
      }
      chain_reason = std::string(text);
    }
    all += (all.empty() ? "" : "; ") + entry;
  }
  *chain_error = !chain_reason.empty();
  if (*chain_error) {
    return chain_reason;
  }
  return all.empty() ? "no detail" : all;
}

// DER parse with no trailing bytes, and canonical: re-encoding must give
// the same bytes, so one signature has exactly one accepted spelling.
Result<Ptr<CMS_ContentInfo>> ParseSignature(std::span<const uint8_t> der) {
  if (der.empty()) {
    return MakeError(ErrorCode::kMalformed, std::string(kSig) + "empty");
  }
  // Bounds what d2i is asked to parse (the container enforces it too).
  if (der.size() > kMaxSignatureBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     std::string(kSig) + "larger than kMaxSignatureBytes");
  }
  ERR_clear_error();
  const unsigned char* p = der.data();
  Ptr<CMS_ContentInfo> cms(
      d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (cms == nullptr) {
    return OpenSslError(ErrorCode::kMalformed,
                        std::string(kSig) + "not a DER CMS ContentInfo");
  }
  if (p != der.data() + der.size()) {
    return MakeError(ErrorCode::kMalformed,
                     std::string(kSig) + "trailing bytes");
  }
  int len = i2d_CMS_ContentInfo(cms.get(), nullptr);
  std::vector<uint8_t> again(len > 0 ? static_cast<size_t>(len) : 0);
  unsigned char* q = again.data();
  if (len <= 0 || i2d_CMS_ContentInfo(cms.get(), &q) != len ||
      !std::equal(again.begin(), again.end(), der.begin(), der.end())) {
    ERR_clear_error();
    return MakeError(ErrorCode::kMalformed,
                     std::string(kSig) + "not canonical DER");
  }
  return cms;
}

Status Refuse(const std::string& why) {
  return MakeError(ErrorCode::kBadSignature, std::string(kSig) + why);
}

// The shape FORMAT.md §5 allows; anything else is refused before any
// cryptography runs, so CMS_verify never sees an unexpected variant.
Status CheckStructure(CMS_ContentInfo* cms) {
  if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
    return Refuse("content type is not SignedData");
  }
  if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
    return Refuse("encapsulated content type is not id-data");
  }
  // Embedded content would be signed data other than the manifest we stream.
  ASN1_OCTET_STRING** content = CMS_get0_content(cms);
  if (content == nullptr || *content != nullptr) {
    return Refuse("not detached (carries its own content)");
  }
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms);
  if (signers == nullptr || sk_CMS_SignerInfo_num(signers) != 1) {
    return Refuse("expected exactly one SignerInfo, found " +
                  std::to_string(
                      signers == nullptr ? 0 : sk_CMS_SignerInfo_num(signers)));
  }
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(signers, 0);
  X509_ALGOR* digest_alg = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest_alg, nullptr);
  const ASN1_OBJECT* digest_obj = nullptr;
  if (digest_alg != nullptr) {
    X509_ALGOR_get0(&digest_obj, nullptr, nullptr, digest_alg);
  }
  int nid = digest_obj == nullptr ? NID_undef : OBJ_obj2nid(digest_obj);
  // Weak digests (SHA-1, MD5) would make the signature forgeable.
  if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
    return Refuse(std::string("digest algorithm not allowed: ") +
                  (nid == NID_undef ? "unknown" : OBJ_nid2sn(nid)));
  }
  // Signed attributes bind the content type; FORMAT.md §5 requires them.
  if (CMS_signed_get_attr_count(si) <= 0) {
    return Refuse("no signed attributes");
  }
  return OkStatus();
}

// The signatureAlgorithm field is outside the signature; it must name the
// algorithm of the signer's key with the signed digest, in the one
// encoding our builder writes (parameters NULL for RSA, absent for ECDSA).
Status CheckSignatureAlgorithm(std::span<const uint8_t> der, X509* signer,
                               int digest_nid) {
  const unsigned char* p = der.data();
  Ptr<X509_ALGOR> alg(
      d2i_X509_ALGOR(nullptr, &p, static_cast<long>(der.size())));
  if (alg == nullptr || p != der.data() + der.size()) {
    ERR_clear_error();
    return Refuse("signatureAlgorithm does not parse");
  }
  const ASN1_OBJECT* obj = nullptr;
  int param_type = V_ASN1_UNDEF;
  X509_ALGOR_get0(&obj, &param_type, nullptr, alg.get());
  int nid = OBJ_obj2nid(obj);
  int key_type = EVP_PKEY_get_base_id(X509_get0_pubkey(signer));
  bool ok = false;
  if (key_type == EVP_PKEY_EC) {
    int expected = digest_nid == NID_sha256   ? NID_ecdsa_with_SHA256
                   : digest_nid == NID_sha384 ? NID_ecdsa_with_SHA384
                                              : NID_ecdsa_with_SHA512;
    ok = nid == expected && param_type == V_ASN1_UNDEF;
  } else if (key_type == EVP_PKEY_RSA) {
    int expected = digest_nid == NID_sha256   ? NID_sha256WithRSAEncryption
                   : digest_nid == NID_sha384 ? NID_sha384WithRSAEncryption
                                              : NID_sha512WithRSAEncryption;
    ok = (nid == NID_rsaEncryption || nid == expected) &&
         param_type == V_ASN1_NULL;
  }
  if (!ok) {
    return Refuse("signatureAlgorithm does not match the signer's key");
  }
  return OkStatus();
}

// A store private to this call: the verify parameters set here (purpose,
// time policy) must not leak into the caller's shared store.
Result<Ptr<X509_STORE>> MakeCallStore(const ReleaseTrust& trust,
                                      const SignatureCheckOptions& options) {
  X509StackPtr anchors(X509_STORE_get1_all_certs(trust.store()));
  Ptr<X509_STORE> store(X509_STORE_new());
  if (anchors == nullptr || store == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "X509_STORE");
  }
  for (int i = 0; i < sk_X509_num(anchors.get()); ++i) {
    if (X509_STORE_add_cert(store.get(), sk_X509_value(anchors.get(), i)) !=
        1) {
      return OpenSslError(ErrorCode::kInternal, "X509_STORE_add_cert");
    }
  }
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  // OpenSSL 3.0 has no code-signing purpose: CheckReleaseSigner checks the
  // signer's, the callback the EKUs of the CAs above it. Under any purpose,
  // chain building still requires every certificate above the signer to be
  // a CA.
  if (X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY) != 1) {
    return OpenSslError(ErrorCode::kInternal, "set_purpose");
  }
  X509_STORE_set_verify_cb(store.get(), ReleaseChainVerifyCallback);
  if (!options.check_time &&
      X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME) != 1) {
    return OpenSslError(ErrorCode::kInternal, "set_flags");
  }
  return store;
}

// Runs CMS_verify with the content pulled from `reader`.
Status RunCmsVerify(CMS_ContentInfo* cms, X509_STORE* store,
                    RegionReader* reader) {
  // The type only identifies the BIO; an index from BIO_get_new_index()
  // would consume a process-wide slot on every call.
  Ptr<BIO_METHOD> method(
      BIO_meth_new(BIO_TYPE_SOURCE_SINK, "imab manifest region"));
  if (method == nullptr || BIO_meth_set_read(method.get(), RegionRead) != 1 ||
      BIO_meth_set_ctrl(method.get(), RegionCtrl) != 1) {
    return OpenSslError(ErrorCode::kInternal, "BIO_meth_new");
  }
  Ptr<BIO> content(BIO_new(method.get()));  // freed before `method`
  if (content == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "BIO_new");
  }
  BIO_set_data(content.get(), reader);
  BIO_set_init(content.get(), 1);
  int ok = CMS_verify(cms, nullptr, store, content.get(), nullptr, CMS_BINARY);
  // A failed read is reported as itself, not as a bad signature.
  if (!reader->status.ok()) {
    ERR_clear_error();
    return WithContext(std::move(reader->status).error(), "manifest");
  }
  if (ok != 1) {
    bool chain_error = false;
    std::string why = DrainCmsErrors(&chain_error);
    return Refuse((chain_error ? "certificate chain: " : "does not verify: ") +
                  why);
  }
  // CMS_verify reads to end of stream; anything less was not covered.
  if (reader->pos != reader->end) {
    return MakeError(ErrorCode::kInternal,
                     std::string(kSig) + "content was not read to its end");
  }
  return OkStatus();
}

}  // namespace

Result<ReleaseTrust> ReleaseTrust::FromCertificates(
    const std::vector<Ptr<X509>>& certs, const std::string& source) {
  Ptr<X509_STORE> store(X509_STORE_new());
  if (store == nullptr) {
    return OpenSslError(ErrorCode::kInternal, source + ": X509_STORE_new");
  }
  for (const Ptr<X509>& cert : certs) {
    // X509_STORE_add_cert takes its own reference.
    if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
      return OpenSslError(ErrorCode::kInvalidArgument,
                          source + ": cannot add " + SubjectLine(cert.get()));
    }
  }
  return ReleaseTrust(std::move(store));
}

Result<ReleaseTrust> ReleaseTrust::FromDer(
    const std::vector<std::string>& ders) {
  Ptr<X509_STORE> store(X509_STORE_new());
  if (store == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "X509_STORE_new");
  }
  for (const std::string& der : ders) {
    IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert,
                          ParseCertificateDer(der, "trust root: release CA"));
    if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
      return OpenSslError(
          ErrorCode::kMalformed,
          "trust root: cannot add release CA " + SubjectLine(cert.get()));
    }
  }
  return ReleaseTrust(std::move(store));
}

Result<VerifiedSignature> VerifyManifestSignature(
    ByteSource& source, uint64_t offset, uint64_t size,
    std::span<const uint8_t> signature_der, const ReleaseTrust& trust,
    const SignatureCheckOptions& options) {
  // Checked without overflow: offset + size must lie inside the source.
  if (offset > source.size() || size > source.size() - offset) {
    return MakeError(ErrorCode::kMalformed,
                     "manifest: region runs past the end of the bundle");
  }
  IMAB_ASSIGN_OR_RETURN(Ptr<CMS_ContentInfo> cms,
                        ParseSignature(signature_der));
  IMAB_RETURN_IF_ERROR(CheckStructure(cms.get()));
  std::span<const uint8_t> signature_algorithm;
  IMAB_RETURN_IF_ERROR(
      CheckUnsignedCmsFields(signature_der, &signature_algorithm));
  CMS_SignerInfo* si =
      sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  std::optional<int64_t> now;
  if (options.check_time) {
    now = static_cast<int64_t>(std::time(nullptr));
  }
  IMAB_RETURN_IF_ERROR(CheckSignedAttributes(si, now));
  IMAB_ASSIGN_OR_RETURN(Ptr<X509_STORE> store, MakeCallStore(trust, options));
  IMAB_ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
  RegionReader reader{&source, offset, offset + size, &hash, OkStatus()};
  ERR_clear_error();
  IMAB_RETURN_IF_ERROR(RunCmsVerify(cms.get(), store.get(), &reader));

  // CMS_verify recorded the signer certificate it verified against.
  X509* signer = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, &signer, nullptr, nullptr);
  X509_ALGOR* digest_alg = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest_alg, nullptr);
  const ASN1_OBJECT* digest_obj = nullptr;
  X509_ALGOR_get0(&digest_obj, nullptr, nullptr, digest_alg);
  IMAB_RETURN_IF_ERROR(CheckSignatureAlgorithm(signature_algorithm, signer,
                                               OBJ_obj2nid(digest_obj)));
  IMAB_RETURN_IF_ERROR(
      CheckReleaseSigner(signer, si, trust.store(), options.require_eku));
  VerifiedSignature result;
  result.manifest_sha256 = hash.Finish();
  result.signer_subject = SubjectLine(signer);
  return result;
}

}  // namespace imab::verifier
