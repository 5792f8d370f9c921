// How `openssl rehash` and our strict mode read one certificate file
// (docs ca-certificates.md §4, §8).
#include "common/read/ca_certificate.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <ctime>

#include "common/read/x509_util.h"

namespace imab {
namespace {

uint64_t NotAfterSeconds(const X509* cert) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
    ERR_clear_error();
    return 0;
  }
  time_t t = timegm(&tm);
  return t < 0 ? 0 : static_cast<uint64_t>(t);
}

// A CERTIFICATE block through the one DER parser; a TRUSTED CERTIFICATE
// block is a certificate followed by OpenSSL's trust settings
// (d2i_X509_AUX), which must end where the block ends.
bool ParsesAsBlock(std::string_view type, const unsigned char* data, long len) {
  if (type == "CERTIFICATE") {
    return ParseCertificateDer(
               std::string_view(reinterpret_cast<const char*>(data),
                                static_cast<size_t>(len)),
               "PEM block")
        .has_value();
  }
  const unsigned char* p = data;
  Ptr<X509> cert(d2i_X509_AUX(nullptr, &p, len));
  return cert != nullptr && p == data + len;
}

}  // namespace

RehashView ViewForRehash(std::string_view bytes) {
  RehashView view;
  if (bytes.size() > INT_MAX) {
    return view;
  }
  Ptr<BIO> bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (bio == nullptr) {
    ERR_clear_error();
    return view;
  }
  X509InfoStackPtr infos(
      PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr));
  // rehash skips an unreadable file silently and reads the next one: the
  // queue holds nothing we report.
  ERR_clear_error();
  if (infos == nullptr) {
    return view;
  }
  if (sk_X509_INFO_num(infos.get()) != 1) {
    view.warned = true;
    return view;
  }
  X509_INFO* info = sk_X509_INFO_value(infos.get(), 0);
  unsigned int len = 0;
  int ok = 0;
  if (info->x509 != nullptr) {
    view.hash = X509_NAME_hash_ex(X509_get_subject_name(info->x509), nullptr,
                                  nullptr, &ok);
    if (ok == 1 &&
        X509_digest(info->x509, EVP_sha1(), view.sha1.data(), &len) == 1) {
      view.kind = RehashView::Kind::kCert;
      X509_up_ref(info->x509);
      view.cert.reset(info->x509);
    }
  } else if (info->crl != nullptr) {
    view.hash = X509_NAME_hash_ex(X509_CRL_get_issuer(info->crl), nullptr,
                                  nullptr, &ok);
    if (ok == 1 &&
        X509_CRL_digest(info->crl, EVP_sha1(), view.sha1.data(), &len) == 1) {
      view.kind = RehashView::Kind::kCrl;
    }
  }
  ERR_clear_error();
  return view;
}

std::optional<CaAnchorRecord> AnchorOf(const std::string& link,
                                       const X509* cert) {
  CaAnchorRecord a;
  a.link = link;
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), a.sha256.data(), &len) != 1 ||
      len != a.sha256.size()) {
    ERR_clear_error();
    return std::nullopt;
  }
  a.not_after = NotAfterSeconds(cert);
  a.subject = SubjectLine(cert);
  return a;
}

namespace {

// What a file of PEM blocks must hold to be one certificate: exactly one
// certificate block and no block of another type (`other`, the last seen).
Status CheckBlockCounts(int certificates, const std::string& other) {
  auto bad = [](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, why);
  };
  if (certificates == 0 && other.empty()) {
    return bad("no PEM block (DER, binary or text?), not a PEM certificate");
  }
  if (!other.empty()) {
    return bad("holds a '" + other + "' PEM block" +
               (certificates == 0 ? ", not a certificate"
                                  : " besides the certificate"));
  }
  if (certificates != 1) {
    return bad("holds " + std::to_string(certificates) +
               " certificates, expected exactly one");
  }
  return OkStatus();
}

}  // namespace

// Builds the store step by step (script §3 steps 4-6).
Status CheckOnePemCertificate(std::string_view bytes) {
  auto bad = [](const std::string& why) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument, why);
  };
  if (bytes.empty()) {
    return bad("empty file, not a PEM certificate");
  }
  if (bytes.size() > INT_MAX) {
    return bad("too large for a certificate");
  }
  Ptr<BIO> bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (bio == nullptr) {
    return bad("out of memory");
  }
  int certificates = 0;
  std::string other;
  for (;;) {
    char* raw_name = nullptr;
    char* raw_header = nullptr;
    unsigned char* raw_data = nullptr;
    long len = 0;
    int read = PEM_read_bio(bio.get(), &raw_name, &raw_header, &raw_data, &len);
    OpenSslBuffer<char> name(raw_name);
    OpenSslBuffer<char> header(raw_header);
    OpenSslBuffer<unsigned char> data(raw_data);
    if (read != 1) {
      unsigned long err = ERR_peek_last_error();
      // "no start line" after at least one block is the normal end.
      if (ERR_GET_LIB(err) == ERR_LIB_PEM &&
          ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
        break;
      }
      return bad("truncated or malformed PEM block");
    }
    std::string_view type(name.get());
    if (type != "CERTIFICATE" && type != "TRUSTED CERTIFICATE") {
      other = std::string(type);
      continue;
    }
    if (!ParsesAsBlock(type, data.get(), len)) {
      return bad("PEM certificate block that does not parse");
    }
    ++certificates;
  }
  ERR_clear_error();
  return CheckBlockCounts(certificates, other);
}

std::optional<CaAnchorRecord> DescribeAnchor(const std::string& link,
                                             std::string_view bytes) {
  RehashView view = ViewForRehash(bytes);
  if (view.kind != RehashView::Kind::kCert) {
    return std::nullopt;
  }
  return AnchorOf(link, view.cert.get());
}

}  // namespace imab
