#include "tests/testutil/pki.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include "common/read/openssl_error.h"

namespace imab::testing {
namespace {

// handles.h has no alias for X509_EXTENSION (only this test helper builds
// extensions), so the owner is local.
struct ExtensionDeleter {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, ExtensionDeleter>;
struct NameEntryDeleter {
  void operator()(X509_NAME_ENTRY* e) const { X509_NAME_ENTRY_free(e); }
};
using NameEntryPtr = std::unique_ptr<X509_NAME_ENTRY, NameEntryDeleter>;

Ptr<EVP_PKEY> GenerateKey(KeyType type) {
  Ptr<EVP_PKEY> key;
  switch (type) {
    case KeyType::kRsa2048:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
      break;
    case KeyType::kRsa3072:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}));
      break;
    case KeyType::kRsa4096:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}));
      break;
    case KeyType::kEcP256:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
      break;
    case KeyType::kEcP384:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
      break;
    case KeyType::kRsa1024:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
      break;
    case KeyType::kEcP521:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
      break;
    case KeyType::kEd25519:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
      break;
  }
  if (key == nullptr) {
    ADD_FAILURE() << "key generation failed: " << DrainOpenSslErrors();
  }
  return key;
}

// Reads a memory BIO's contents into a string.
std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) {
    return {};
  }
  return std::string(data, static_cast<size_t>(len));
}

// Writes `content` with mode `mode`, also when the file already exists.
bool WriteWithMode(const std::string& path, const std::string& content,
                   mode_t mode, bool append) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  UniqueFd fd(::open(path.c_str(), flags, mode));
  if (!fd.valid()) {
    ADD_FAILURE() << path << ": cannot open: " << std::strerror(errno);
    return false;
  }
  if (!append && ::fchmod(fd.get(), mode) != 0) {
    ADD_FAILURE() << path << ": fchmod: " << std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ADD_FAILURE() << path << ": write: " << std::strerror(errno);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string CertPem(const X509* cert) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_X509 takes a non-const pointer but does not modify it.
  if (bio == nullptr ||
      PEM_write_bio_X509(bio.get(), const_cast<X509*>(cert)) != 1) {
    ADD_FAILURE() << "PEM_write_bio_X509: " << DrainOpenSslErrors();
    return {};
  }
  return BioContents(bio.get());
}

void WriteKeyPem(const std::string& path, EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  // PKCS#8, unencrypted.
  if (bio == nullptr ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                    nullptr, nullptr) != 1) {
    ADD_FAILURE() << "PEM_write_bio_PKCS8PrivateKey: " << DrainOpenSslErrors();
    return;
  }
  WriteWithMode(path, BioContents(bio.get()), 0600, false);
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    ADD_FAILURE() << "extension " << OBJ_nid2sn(nid) << "=" << value << ": "
                  << DrainOpenSslErrors();
    return false;
  }
  return true;
}

// An extension whose extnValue is `der` as given.
bool AddRawExtension(X509* cert, int nid, const std::string& der) {
  Ptr<ASN1_STRING> value(ASN1_OCTET_STRING_new());
  if (value == nullptr ||
      ASN1_OCTET_STRING_set(value.get(),
                            reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<int>(der.size())) != 1) {
    ADD_FAILURE() << "ASN1_OCTET_STRING_set: " << DrainOpenSslErrors();
    return false;
  }
  ExtensionPtr ext(X509_EXTENSION_create_by_NID(nullptr, nid, 0, value.get()));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    ADD_FAILURE() << "raw extension " << OBJ_nid2sn(nid) << ": "
                  << DrainOpenSslErrors();
    return false;
  }
  return true;
}

// Every extension `options` asks for, in a fixed order.
bool AddExtensions(X509* cert, X509* issuer, const CertOptions& options) {
  const std::string basic = !options.basic_constraints.empty()
                                ? options.basic_constraints
                            : options.is_ca ? "critical,CA:TRUE"
                                            : "critical,CA:FALSE";
  const std::string usage = !options.key_usage.empty() ? options.key_usage
                            : options.is_ca ? "critical,keyCertSign,cRLSign"
                                            : "critical,digitalSignature";
  const std::string skid =
      options.subject_key_id.empty() ? "hash" : options.subject_key_id;
  const std::pair<int, std::string> wanted[] = {
      {NID_basic_constraints, basic},
      {NID_key_usage, options.omit_key_usage ? "none" : usage},
      {NID_subject_key_identifier, skid},
      {NID_authority_key_identifier, options.authority_key_id},
      {NID_ext_key_usage, options.extended_key_usage.empty()
                              ? "none"
                              : options.extended_key_usage}};
  for (const auto& [nid, value] : wanted) {
    if (value != "none" && !AddExtension(cert, issuer, nid, value.c_str())) {
      return false;
    }
  }
  for (const auto& [nid, der] : options.raw_extensions) {
    if (!AddRawExtension(cert, nid, der)) {
      return false;
    }
  }
  return true;
}

// The text times and the issuer CN override of `options`.
bool SetTimesAndIssuer(X509* cert, const CertOptions& options) {
  if ((!options.not_before_text.empty() &&
       ASN1_TIME_set_string(X509_getm_notBefore(cert),
                            options.not_before_text.c_str()) != 1) ||
      (!options.not_after_text.empty() &&
       ASN1_TIME_set_string(X509_getm_notAfter(cert),
                            options.not_after_text.c_str()) != 1)) {
    ADD_FAILURE() << "bad time text: " << DrainOpenSslErrors();
    return false;
  }
  if (options.issuer_common_name.empty()) {
    return true;
  }
  X509_NAME* issuer = X509_get_issuer_name(cert);  // owned by cert
  const auto* cn = reinterpret_cast<const unsigned char*>(
      options.issuer_common_name.c_str());
  const int last = X509_NAME_get_index_by_NID(issuer, NID_commonName, -1);
  NameEntryPtr removed(last < 0 ? nullptr
                                : X509_NAME_delete_entry(issuer, last));
  if (removed == nullptr ||
      X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_UTF8, cn, -1, -1, 0) !=
          1) {
    ADD_FAILURE() << "issuer name: " << DrainOpenSslErrors();
    return false;
  }
  return true;
}

// Builds and signs a certificate for `key`. `issuer_cert`/`issuer_key` null
// means self-signed.
Ptr<X509> BuildCert(EVP_PKEY* key, X509* issuer_cert, EVP_PKEY* issuer_key,
                    const CertOptions& options) {
  Ptr<X509> cert(X509_new());
  if (cert == nullptr) {
    ADD_FAILURE() << "X509_new: " << DrainOpenSslErrors();
    return nullptr;
  }
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) !=
      1) {
    ADD_FAILURE() << "RAND_bytes: " << DrainOpenSslErrors();
    return nullptr;
  }
  serial = (serial >> 1) | 1;  // positive and non-zero
  X509_NAME* subject = X509_get_subject_name(cert.get());  // owned by cert
  const auto* cn =
      reinterpret_cast<const unsigned char*>(options.common_name.c_str());
  bool ok =
      X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) == 1 &&
      X509_NAME_add_entry_by_txt(
          subject, "O", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>("imabundle tests"), -1, -1,
          0) == 1 &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, cn, -1, -1, 0) ==
          1 &&
      X509_set_issuer_name(cert.get(), issuer_cert != nullptr
                                           ? X509_get_subject_name(issuer_cert)
                                           : subject) == 1 &&
      X509_gmtime_adj(X509_getm_notBefore(cert.get()),
                      options.not_before_offset) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                      options.not_after_offset) != nullptr &&
      X509_set_pubkey(cert.get(), key) == 1;
  if (!ok) {
    ADD_FAILURE() << "building certificate " << options.common_name << ": "
                  << DrainOpenSslErrors();
    return nullptr;
  }
  X509* ext_issuer = issuer_cert != nullptr ? issuer_cert : cert.get();
  if (!SetTimesAndIssuer(cert.get(), options) ||
      !AddExtensions(cert.get(), ext_issuer, options)) {
    return nullptr;
  }
  EVP_PKEY* signing_key = issuer_key != nullptr ? issuer_key : key;
  // Ed25519 hashes internally and takes no digest.
  const EVP_MD* md = EVP_PKEY_get_base_id(signing_key) == EVP_PKEY_ED25519
                         ? nullptr
                         : EVP_sha256();
  if (X509_sign(cert.get(), signing_key, md) <= 0) {
    ADD_FAILURE() << "X509_sign: " << DrainOpenSslErrors();
    return nullptr;
  }
  return cert;
}

TestIdentity Finish(const std::string& dir, const std::string& name,
                    Ptr<EVP_PKEY> key, Ptr<X509> cert) {
  TestIdentity id;
  id.key_path = dir + "/" + name + ".key";
  id.cert_path = dir + "/" + name + ".pem";
  if (key != nullptr && cert != nullptr) {
    WriteKeyPem(id.key_path, key.get());
    WriteWithMode(id.cert_path, CertPem(cert.get()), 0644, false);
  }
  id.key = std::move(key);
  id.cert = std::move(cert);
  return id;
}

}  // namespace

TestIdentity MakeRootCa(const std::string& dir, const std::string& name,
                        CertOptions options) {
  options.is_ca = true;
  Ptr<EVP_PKEY> key = GenerateKey(options.key_type);
  Ptr<X509> cert;
  if (key != nullptr) {
    cert = BuildCert(key.get(), nullptr, nullptr, options);
  }
  return Finish(dir, name, std::move(key), std::move(cert));
}

TestIdentity MakeIssued(const std::string& dir, const std::string& name,
                        const TestIdentity& issuer, CertOptions options) {
  if (issuer.key == nullptr || issuer.cert == nullptr) {
    ADD_FAILURE() << "MakeIssued(" << name << "): issuer is incomplete";
    return Finish(dir, name, nullptr, nullptr);
  }
  Ptr<EVP_PKEY> key = GenerateKey(options.key_type);
  Ptr<X509> cert;
  if (key != nullptr) {
    cert = BuildCert(key.get(), issuer.cert.get(), issuer.key.get(), options);
  }
  return Finish(dir, name, std::move(key), std::move(cert));
}

TestIdentity LoadIdentity(const std::string& key_path,
                          const std::string& cert_path) {
  TestIdentity id;
  id.key_path = key_path;
  id.cert_path = cert_path;
  Ptr<BIO> key_bio(BIO_new_file(key_path.c_str(), "r"));
  Ptr<BIO> cert_bio(BIO_new_file(cert_path.c_str(), "r"));
  if (key_bio != nullptr) {
    id.key.reset(
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  }
  if (cert_bio != nullptr) {
    id.cert.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  }
  if (id.key == nullptr || id.cert == nullptr) {
    ADD_FAILURE() << "LoadIdentity(" << key_path << ", " << cert_path
                  << "): " << DrainOpenSslErrors();
  }
  return id;
}

void AppendCertPem(const std::string& path, const X509* cert) {
  if (cert == nullptr) {
    ADD_FAILURE() << "AppendCertPem(" << path << "): null certificate";
    return;
  }
  WriteWithMode(path, CertPem(cert), 0644, true);
}

std::string DerCopy(const TestIdentity& id) {
  const std::string path = id.cert_path + ".der";
  if (::access(path.c_str(), F_OK) == 0) {
    return path;
  }
  unsigned char* der = nullptr;
  const int length = i2d_X509(id.cert.get(), &der);
  if (length <= 0) {
    ADD_FAILURE() << "DerCopy(" << id.cert_path << "): i2d_X509 failed";
    return path;
  }
  WriteWithMode(path,
                std::string(reinterpret_cast<const char*>(der),
                            static_cast<size_t>(length)),
                0644, false);
  OPENSSL_free(der);
  return path;
}

}  // namespace imab::testing
