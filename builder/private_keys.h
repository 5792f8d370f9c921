// PrivateKeys: opens the private keys of one build or key command, each
// named by a PEM file path or a "pkcs11:" URI (RFC 7512), and keeps token
// sessions open while they are in use.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "builder/digest_signer.h"
#include "builder/pkcs11_key.h"
#include "builder/signing_identity.h"
#include "common/read/result.h"

namespace imab::builder {

// Must outlive everything it returns (identities and signers hold token
// keys whose operations go through its sessions). All token keys of one
// instance are opened through the first one's module session
// (Pkcs11Key::OpenSibling): one module per build.
class PrivateKeys {
 public:
  // `default_module`: PKCS#11 module used when a URI has no module-path.
  explicit PrivateKeys(std::string default_module)
      : default_module_(std::move(default_module)) {}

  // A CMS signing identity (release key) from a file or token key.
  Result<SigningIdentity> LoadIdentity(const std::string& key,
                                       const std::string& cert_path,
                                       const std::string& chain_path);
  // An IMA/EVM signer from a file or token key and its certificate.
  Result<std::unique_ptr<DigestSigner>> LoadDigestSigner(
      const std::string& key, const std::string& cert_path);
  // A bare private key (no certificate) from a PEM file or a token. The key
  // is owned by this object and stays valid while it lives. Errors as
  // LoadPrivateKeyFile / Pkcs11Key::Open.
  Result<EVP_PKEY*> LoadKey(const std::string& key);

 private:
  Result<std::shared_ptr<Pkcs11Key>> OpenToken(const std::string& uri);

  std::string default_module_;
  std::vector<std::shared_ptr<Pkcs11Key>> tokens_;
  std::vector<Ptr<EVP_PKEY>> file_keys_;
};

}  // namespace imab::builder
