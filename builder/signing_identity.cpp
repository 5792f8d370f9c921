#include "builder/signing_identity.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <vector>

#include "builder/secret_string.h"
#include "common/read/limits.h"
#include "common/read/openssl_error.h"
#include "common/read/x509_util.h"

namespace imab::builder {
namespace {

// Passphrase callback that always refuses: the builder never prompts, so an
// encrypted key fails with a clear message instead of blocking on a tty.
int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

Result<Ptr<EVP_PKEY>> LoadPrivateKey(const std::string& path) {
  SecretString pem(kMaxKeyFileBytes);
  Status read = ReadSecretFile(path, pem);
  if (!read.ok()) {
    // As for certificates (LoadCertificate): too large is not a key file;
    // anything else (missing, a folder) it cannot read.
    return MakeError(read.error().code == ErrorCode::kLimitExceeded
                         ? ErrorCode::kInvalidArgument
                         : ErrorCode::kIo,
                     read.error().message);
  }
  ERR_clear_error();
  // A read-only view of `pem`: OpenSSL makes no copy of the key bytes.
  Ptr<BIO> bio(
      BIO_new_mem_buf(pem.str().data(), static_cast<int>(pem.str().size())));
  if (bio == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "BIO_new_mem_buf");
  }
  bool asked = false;
  Ptr<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, &asked));
  if (key == nullptr && asked) {
    // The queue would only repeat "bad decrypt"; drop it.
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument,
                     path +
                         ": private key is encrypted; not supported here "
                         "(decrypt it first)");
  }
  if (key == nullptr) {
    // Only OpenSSL's reason strings go into the message, never key bytes.
    return OpenSslError(ErrorCode::kInvalidArgument,
                        path + ": not an unencrypted PEM private key");
  }
  return key;
}

Result<X509StackPtr> LoadChain(const std::string& path) {
  X509StackPtr chain(sk_X509_new_null());
  if (chain == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "sk_X509_new_null");
  }
  if (path.empty()) {
    return chain;
  }
  IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> certs,
                        LoadPemCertificates(path));
  for (Ptr<X509>& cert : certs) {
    // sk_X509_push takes ownership on success.
    if (sk_X509_push(chain.get(), cert.get()) <= 0) {
      return OpenSslError(ErrorCode::kInternal, path + ": sk_X509_push");
    }
    static_cast<void>(cert.release());
  }
  return chain;
}

}  // namespace

Result<Ptr<EVP_PKEY>> LoadPrivateKeyFile(const std::string& path) {
  return LoadPrivateKey(path);
}

Result<SigningIdentity> LoadSigningIdentity(const std::string& key_path,
                                            const std::string& cert_path,
                                            const std::string& chain_path) {
  IMAB_ASSIGN_OR_RETURN(Ptr<EVP_PKEY> key, LoadPrivateKey(key_path));
  return MakeSigningIdentity(key.get(), key_path, cert_path, chain_path);
}

Result<SigningIdentity> MakeSigningIdentity(EVP_PKEY* key_in,
                                            const std::string& key_path,
                                            const std::string& cert_path,
                                            const std::string& chain_path) {
  EVP_PKEY_up_ref(key_in);
  Ptr<EVP_PKEY> key(key_in);
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, LoadCertificate(cert_path));
  IMAB_ASSIGN_OR_RETURN(X509StackPtr chain, LoadChain(chain_path));
  ERR_clear_error();
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    // The queue says "key values mismatch"; the message below says it better.
    ERR_clear_error();
    return MakeError(
        ErrorCode::kInvalidArgument,
        key_path + ": private key does not match certificate " + cert_path);
  }
  return SigningIdentity{std::move(key), std::move(cert), std::move(chain)};
}

}  // namespace imab::builder
