// SigningIdentity: the release key, its certificate and the intermediates
// that go into a bundle's CMS signature. Private keys exist only here, in
// the builder.
#pragma once

#include <string>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab::builder {

struct SigningIdentity {
  Ptr<EVP_PKEY> key;
  Ptr<X509> cert;
  X509StackPtr chain;  // intermediates, possibly empty, never null
};

// Loads an unencrypted PEM private key file. The caller owns the key. On
// failure: kIo naming the file when it cannot be read, kInvalidArgument when
// it is encrypted or not a PEM private key (never with key material).
Result<Ptr<EVP_PKEY>> LoadPrivateKeyFile(const std::string& path);

// Loads an unencrypted PEM private key, a PEM or DER certificate and an
// optional PEM chain file (`chain_path` empty for none). Checks that the key
// matches the certificate. On failure: kInvalidArgument or kIo naming the
// file and the problem ("release.key: private key does not match
// certificate release.pem"); the message never contains key material.
Result<SigningIdentity> LoadSigningIdentity(const std::string& key_path,
                                            const std::string& cert_path,
                                            const std::string& chain_path);

// The same with a private key already open (e.g. on a PKCS#11 token);
// `key_label` names it in messages. Takes one reference on `key`.
Result<SigningIdentity> MakeSigningIdentity(EVP_PKEY* key,
                                            const std::string& key_label,
                                            const std::string& cert_path,
                                            const std::string& chain_path);

}  // namespace imab::builder
