// Owning handles for every C type the project uses: one deleter per type and
// one alias, so no *_free() call appears outside this file.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <zstd.h>

#include <memory>

namespace imab {

template <class T>
struct Deleter;

#define IMAB_DEFINE_DELETER_(Type, free_fn)        \
  template <>                                      \
  struct Deleter<Type> {                           \
    void operator()(Type* p) const { free_fn(p); } \
  }

// ASN1_TIME and ASN1_OCTET_STRING are the same C type as ASN1_STRING.
IMAB_DEFINE_DELETER_(ASN1_STRING, ASN1_STRING_free);
IMAB_DEFINE_DELETER_(EVP_PKEY, EVP_PKEY_free);
IMAB_DEFINE_DELETER_(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
IMAB_DEFINE_DELETER_(EVP_MD_CTX, EVP_MD_CTX_free);
IMAB_DEFINE_DELETER_(EVP_MD, EVP_MD_free);
IMAB_DEFINE_DELETER_(X509, X509_free);
IMAB_DEFINE_DELETER_(X509_STORE, X509_STORE_free);
IMAB_DEFINE_DELETER_(X509_ALGOR, X509_ALGOR_free);
IMAB_DEFINE_DELETER_(X509_EXTENSION, X509_EXTENSION_free);
IMAB_DEFINE_DELETER_(X509_PUBKEY, X509_PUBKEY_free);
IMAB_DEFINE_DELETER_(X509_STORE_CTX, X509_STORE_CTX_free);
IMAB_DEFINE_DELETER_(BIO, BIO_free_all);
IMAB_DEFINE_DELETER_(BIO_METHOD, BIO_meth_free);
IMAB_DEFINE_DELETER_(CMS_ContentInfo, CMS_ContentInfo_free);
IMAB_DEFINE_DELETER_(AUTHORITY_KEYID, AUTHORITY_KEYID_free);
IMAB_DEFINE_DELETER_(ZSTD_CCtx, ZSTD_freeCCtx);
IMAB_DEFINE_DELETER_(ZSTD_DCtx, ZSTD_freeDCtx);

#undef IMAB_DEFINE_DELETER_

// STACK_OF(X509) owning its certificates.
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// STACK_OF(X509_INFO) (PEM_X509_INFO_read_bio) owning its entries.
struct X509InfoStackDeleter {
  void operator()(STACK_OF(X509_INFO) * p) const {
    sk_X509_INFO_pop_free(p, X509_INFO_free);
  }
};
using X509InfoStackPtr =
    std::unique_ptr<STACK_OF(X509_INFO), X509InfoStackDeleter>;

// Buffers OpenSSL allocates for the caller (PEM_read_bio's name, header and
// data), released with OPENSSL_free.
struct OpenSslFreeDeleter {
  void operator()(void* p) const { OPENSSL_free(p); }
};
template <class T>
using OpenSslBuffer = std::unique_ptr<T, OpenSslFreeDeleter>;

template <class T>
using Ptr = std::unique_ptr<T, Deleter<T>>;

// A file descriptor that closes itself.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace imab
