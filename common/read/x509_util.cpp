#include "common/read/x509_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <ctime>
#include <string>
#include <string_view>

#include "common/read/input_file.h"
#include "common/read/openssl_error.h"

namespace imab {
namespace {

// Certificate files are small; this bounds what a wrong path can make us
// read into memory.
constexpr size_t kMaxCertFileBytes = 1u << 20;

// Reads the whole file (a regular file, at most kMaxCertFileBytes) into a
// memory BIO so it can be parsed twice (PEM, then DER) without seeking.
Result<Ptr<BIO>> ReadFileToMemBio(const std::string& path) {
  Result<std::string> bytes = ReadInputFile(path, kMaxCertFileBytes);
  if (!bytes.has_value()) {
    // Too large: not a certificate file; anything else it cannot read.
    return MakeError(bytes.error().code == ErrorCode::kLimitExceeded
                         ? ErrorCode::kInvalidArgument
                         : ErrorCode::kIo,
                     bytes.error().message);
  }
  Ptr<BIO> mem(BIO_new(BIO_s_mem()));
  if (mem == nullptr) {
    return OpenSslError(ErrorCode::kInternal, path + ": BIO_new");
  }
  const int size = static_cast<int>(bytes->size());
  if (size > 0 && BIO_write(mem.get(), bytes->data(), size) != size) {
    return OpenSslError(ErrorCode::kInternal, path + ": BIO_write");
  }
  return mem;
}

// True when the only queued error is the normal end of a PEM file.
bool IsPemEndOfFile() {
  unsigned long err = ERR_peek_last_error();
  return ERR_GET_LIB(err) == ERR_LIB_PEM &&
         ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
}

}  // namespace

Result<std::vector<Ptr<X509>>> LoadPemCertificates(const std::string& path) {
  IMAB_ASSIGN_OR_RETURN(Ptr<BIO> bio, ReadFileToMemBio(path));
  ERR_clear_error();
  std::vector<Ptr<X509>> certs;
  for (;;) {
    Ptr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      break;
    }
    certs.push_back(std::move(cert));
  }
  // Running out of PEM blocks is the normal end; anything else is a block
  // that does not parse and must not be skipped silently.
  if (!IsPemEndOfFile()) {
    return OpenSslError(
        ErrorCode::kInvalidArgument,
        path + ": bad certificate " + std::to_string(certs.size() + 1));
  }
  ERR_clear_error();
  if (certs.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path + ": no PEM certificate found");
  }
  return certs;
}

Result<Ptr<X509>> LoadCertificate(const std::string& path) {
  IMAB_ASSIGN_OR_RETURN(Ptr<BIO> bio, ReadFileToMemBio(path));
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, path + ": empty file");
  }
  std::string_view text(data, static_cast<size_t>(len));
  ERR_clear_error();
  if (text.find("-----BEGIN") != std::string_view::npos) {
    Ptr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      return OpenSslError(ErrorCode::kInvalidArgument,
                          path + ": not a PEM certificate");
    }
    return cert;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  Ptr<X509> cert(d2i_X509(nullptr, &p, len));
  if (cert == nullptr) {
    return OpenSslError(ErrorCode::kInvalidArgument,
                        path + ": neither a PEM nor a DER certificate");
  }
  // Trailing bytes would mean this was not one DER certificate.
  if (p != reinterpret_cast<const unsigned char*>(data) + len) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path + ": trailing bytes after DER certificate");
  }
  return cert;
}

Result<Ptr<X509>> ParseCertificateDer(std::string_view der) {
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = start;
  ERR_clear_error();
  Ptr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr || p != start + der.size()) {
    ERR_clear_error();
    return MakeError(ErrorCode::kMalformed, "certificate does not parse");
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

std::string IsoTime(const ASN1_TIME* time) {
  struct tm tm {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    ERR_clear_error();
    return "(invalid time)";
  }
  char buf[32];
  if (std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return "(invalid time)";
  }
  return buf;
}

}  // namespace imab
