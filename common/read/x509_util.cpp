#include "common/read/x509_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <string>
#include <string_view>

#include "common/read/input_file.h"
#include "common/read/limits.h"
#include "common/read/openssl_error.h"

namespace imab {
namespace {

// A certificate file read whole (a regular file, at most kMaxKeyFileBytes).
Result<std::string> ReadCertificateFile(const std::string& path) {
  Result<std::string> bytes = ReadInputFile(path, kMaxKeyFileBytes);
  if (!bytes.has_value()) {
    // Too large: not a certificate file; anything else it cannot read.
    return MakeError(bytes.error().code == ErrorCode::kLimitExceeded
                         ? ErrorCode::kInvalidArgument
                         : ErrorCode::kIo,
                     bytes.error().message);
  }
  return bytes;
}

// True when the only queued error is the normal end of a PEM file.
bool IsPemEndOfFile() {
  unsigned long err = ERR_peek_last_error();
  return ERR_GET_LIB(err) == ERR_LIB_PEM &&
         ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
}

// The block types PEM_read_bio_X509 reads as a certificate.
bool IsCertificateBlock(const char* name) {
  return std::string_view(name) == PEM_STRING_X509 ||
         std::string_view(name) == PEM_STRING_X509_OLD;
}

// The next certificate block of `bio` through the one DER parser; nullptr
// at the normal end of the PEM text.
Result<Ptr<X509>> NextPemCertificate(BIO* bio, const std::string& source,
                                     size_t index) {
  const std::string what =
      source + ": bad certificate " + std::to_string(index);
  for (;;) {
    char* raw_name = nullptr;
    char* raw_header = nullptr;
    unsigned char* raw_data = nullptr;
    long len = 0;
    int read = PEM_read_bio(bio, &raw_name, &raw_header, &raw_data, &len);
    OpenSslBuffer<char> name(raw_name);
    OpenSslBuffer<char> header(raw_header);
    OpenSslBuffer<unsigned char> data(raw_data);
    if (read != 1 && IsPemEndOfFile()) {
      ERR_clear_error();
      return Ptr<X509>();
    }
    // A block that does not decode must not be skipped silently.
    if (read != 1) {
      return OpenSslError(ErrorCode::kInvalidArgument, what);
    }
    if (!IsCertificateBlock(name.get())) {
      continue;
    }
    Result<Ptr<X509>> cert = ParseCertificateDer(
        std::string_view(reinterpret_cast<const char*>(data.get()),
                         static_cast<size_t>(len)),
        what);
    if (!cert.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument, cert.error().message);
    }
    return cert;
  }
}

}  // namespace

Result<Ptr<X509>> ParseCertificateDer(std::string_view der,
                                      const std::string& source) {
  if (der.size() > static_cast<size_t>(LONG_MAX)) {
    return MakeError(ErrorCode::kMalformed, source + ": too large");
  }
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = start;
  ERR_clear_error();
  Ptr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr) {
    return OpenSslError(ErrorCode::kMalformed,
                        source + ": does not parse as a DER certificate");
  }
  // Bytes after the certificate would ride along unchecked wherever these
  // bytes are pinned, digested or loaded.
  const size_t extra = der.size() - static_cast<size_t>(p - start);
  if (extra != 0) {
    return MakeError(ErrorCode::kMalformed,
                     source + ": " + std::to_string(extra) + " trailing " +
                         (extra == 1 ? "byte" : "bytes") +
                         " after the certificate");
  }
  // A non-DER encoding (a long-form length, say) that OpenSSL re-encodes
  // differently would make the certificate's digest (X509_digest
  // re-encodes) differ from the digest of the bytes.
  IMAB_ASSIGN_OR_RETURN(std::string again, CertificateDer(cert.get()));
  if (again != der) {
    return MakeError(ErrorCode::kMalformed,
                     source + ": not DER-encoded as written");
  }
  return cert;
}

Result<std::vector<Ptr<X509>>> ParsePemCertificates(std::string_view pem,
                                                    const std::string& source) {
  if (pem.size() > static_cast<size_t>(INT_MAX)) {
    return MakeError(ErrorCode::kInvalidArgument, source + ": too large");
  }
  ERR_clear_error();
  // A read-only view of `pem`, no copy.
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return OpenSslError(ErrorCode::kInternal, source + ": BIO_new_mem_buf");
  }
  std::vector<Ptr<X509>> certs;
  for (;;) {
    IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, NextPemCertificate(bio.get(), source,
                                                             certs.size() + 1));
    if (cert == nullptr) {
      break;
    }
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     source + ": no PEM certificate found");
  }
  return certs;
}

Result<std::vector<Ptr<X509>>> LoadPemCertificates(const std::string& path) {
  IMAB_ASSIGN_OR_RETURN(std::string bytes, ReadCertificateFile(path));
  return ParsePemCertificates(bytes, path);
}

Result<Ptr<X509>> LoadCertificate(const std::string& path) {
  IMAB_ASSIGN_OR_RETURN(std::string bytes, ReadCertificateFile(path));
  if (bytes.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, path + ": empty file");
  }
  if (bytes.find("-----BEGIN") != std::string::npos) {
    IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> certs,
                          ParsePemCertificates(bytes, path));
    return std::move(certs.front());
  }
  Result<Ptr<X509>> cert = ParseCertificateDer(bytes, path);
  if (!cert.has_value()) {
    // The message starts with "PATH"; say first that no PEM was found.
    return MakeError(ErrorCode::kInvalidArgument,
                     path + ": neither a PEM nor a DER certificate" +
                         cert.error().message.substr(path.size()));
  }
  return cert;
}

Result<std::string> CertificateDer(const X509* cert) {
  ERR_clear_error();
  int len = cert == nullptr ? -1 : i2d_X509(cert, nullptr);
  if (len <= 0) {
    return OpenSslError(ErrorCode::kInternal, "cannot encode certificate");
  }
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(cert, &p) != len) {
    return OpenSslError(ErrorCode::kInternal, "i2d_X509");
  }
  return der;
}

namespace {

// ONELINE escapes control and non-ASCII bytes, which keeps newlines of a
// hostile name out of our one-line messages; "CN=x, O=y" spacing.
std::string NameLine(const X509_NAME* name, const std::string& what) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  constexpr unsigned long kFlags = XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ;
  if (bio == nullptr || name == nullptr ||
      X509_NAME_print_ex(bio.get(), name, 0, kFlags) < 0) {
    ERR_clear_error();
    return "(unprintable " + what + ")";
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return "(empty " + what + ")";
  }
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

std::string SubjectLine(const X509* cert) {
  if (cert == nullptr) {
    return "(no certificate)";
  }
  return NameLine(X509_get_subject_name(cert), "subject");
}

std::string IssuerLine(const X509* cert) {
  if (cert == nullptr) {
    return "(no certificate)";
  }
  return NameLine(X509_get_issuer_name(cert), "issuer");
}

}  // namespace imab
