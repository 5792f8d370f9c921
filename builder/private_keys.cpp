#include "builder/private_keys.h"

namespace imab::builder {

Result<std::shared_ptr<Pkcs11Key>> PrivateKeys::OpenToken(
    const std::string& uri) {
  if (tokens_.empty()) {
    IMAB_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Key> key,
                          Pkcs11Key::Open(uri, default_module_));
    tokens_.push_back(std::move(key));
    return tokens_.back();
  }
  // A second independent session on the same module would tear down the
  // first one's when closed (PKCS#11 state is per process).
  IMAB_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Key> key,
                        tokens_.front()->OpenSibling(uri));
  tokens_.push_back(std::move(key));
  return tokens_.back();
}

Result<SigningIdentity> PrivateKeys::LoadIdentity(
    const std::string& key, const std::string& cert_path,
    const std::string& chain_path) {
  if (!IsPkcs11Uri(key)) {
    return LoadSigningIdentity(key, cert_path, chain_path);
  }
  IMAB_ASSIGN_OR_RETURN(std::shared_ptr<Pkcs11Key> token, OpenToken(key));
  return MakeSigningIdentity(token->key(), token->display_uri(), cert_path,
                             chain_path);
}

Result<std::unique_ptr<DigestSigner>> PrivateKeys::LoadDigestSigner(
    const std::string& key, const std::string& cert_path) {
  if (!IsPkcs11Uri(key)) {
    return LoadFileDigestSigner(key, cert_path);
  }
  IMAB_ASSIGN_OR_RETURN(std::shared_ptr<Pkcs11Key> token, OpenToken(key));
  return MakePkcs11DigestSigner(std::move(token), cert_path);
}

Result<EVP_PKEY*> PrivateKeys::LoadKey(const std::string& key) {
  if (!IsPkcs11Uri(key)) {
    IMAB_ASSIGN_OR_RETURN(Ptr<EVP_PKEY> file_key, LoadPrivateKeyFile(key));
    file_keys_.push_back(std::move(file_key));
    return file_keys_.back().get();
  }
  IMAB_ASSIGN_OR_RETURN(std::shared_ptr<Pkcs11Key> token, OpenToken(key));
  return token->key();
}

}  // namespace imab::builder
