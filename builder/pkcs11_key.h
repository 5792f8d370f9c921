// Pkcs11Key: a private key that never leaves a PKCS#11 token (an HSM or
// smart card), named by an RFC 7512 "pkcs11:" URI and used through OpenSSL's
// EVP API, plus a DigestSigner backed by such a key.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "builder/digest_signer.h"
#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab::builder {

// True when `text` starts with the "pkcs11:" scheme (case-insensitive, as
// RFC 3986 schemes are); says nothing about whether the rest parses.
bool IsPkcs11Uri(std::string_view text);

// An open token session holding one private key. Owns the libp11 context,
// the loaded module, the slot list and the login for its whole lifetime, so
// key() stays usable until the object is destroyed.
//
// URI grammar accepted (RFC 7512 §2.3; values percent-decoded, no attribute
// twice, unknown attributes refused so a typo never selects another key):
//   path:  token= manufacturer= model= serial= (select the token; at least
//          one initialised token must match, and only one)
//          object= (key label)  id= (CKA_ID bytes)  type=private
//   query: module-path=FILE  (default: the caller's `default_module`)
//          pin-value=PIN  or  pin-source=file:PATH (first line of the file)
// The key must match exactly one private key on the token.
//
// Threads: libp11 0.4.12 and most modules are not documented as safe for
// concurrent operations on one key, so users must hold mutex() around every
// use of key() when several threads share the key (LoadPkcs11DigestSigner
// does). Open() and destruction must not race with another Pkcs11Key's Open()
// or destruction (libp11 keeps an unlocked global reference count).
//
// Lifetime: PKCS#11 C_Initialize/C_Finalize and sessions are per process
// and module, so a second independent Pkcs11Key on the same module would
// finalize or close the sessions of the first when destroyed. Open one key
// with Open() and every further key of that module with OpenSibling(): they
// share one context, slot list, login and mutex(), freed with the last of
// them. To use one key for both the CMS signature and IMA signatures, share
// the Pkcs11Key (std::shared_ptr, see MakePkcs11DigestSigner). Anything
// holding a reference to key() (a CMS_ContentInfo after CMS_add1_signer)
// must be freed before the Pkcs11Key: libp11's key methods need the context.
class Pkcs11Key {
 public:
  // Opens the key `uri` names. `default_module` is the PKCS#11 module used
  // when the URI has no module-path (the library reads no environment
  // variables; the caller picks the default). On failure, an Error whose
  // message starts with the URI without its query part, so it never carries
  // the PIN ("pkcs11:token=rel;object=k: no such private key in token
  // 'rel'"):
  //   kInvalidArgument  bad URI syntax (the message then names only the
  //                     offending attribute, not its value), unsupported
  //                     attribute, token not found or ambiguous, login
  //                     failed (wrong PIN), a PIN needed but none given, no
  //                     such private key or more than one match;
  //   kIo               module cannot be loaded, pin-source unreadable,
  //                     token communication failure.
  static Result<std::unique_ptr<Pkcs11Key>> Open(
      std::string_view uri, const std::string& default_module);

  // Opens another key `uri` names through this key's module context (see
  // "Lifetime"). The URI's module-path, if any, must equal this key's module;
  // a token this process is already logged in to is not logged in again, so
  // its PIN is then not checked. Errors as for Open().
  Result<std::unique_ptr<Pkcs11Key>> OpenSibling(std::string_view uri) const;

  ~Pkcs11Key();
  Pkcs11Key(const Pkcs11Key&) = delete;
  Pkcs11Key& operator=(const Pkcs11Key&) = delete;

  // The private key; owned by this object, valid while it lives. Signs
  // through EVP_PKEY_sign, CMS_sign/CMS_add1_signer and X509_sign (RSA
  // PKCS#1 v1.5, ECDSA); the key bytes stay in the token.
  EVP_PKEY* key() const;

  // The URI without its query (so without module path or PIN), for
  // messages.
  const std::string& display_uri() const;

  // Serialises token operations of this key and its siblings; see
  // "Threads" above.
  std::mutex& mutex() const;

 private:
  struct Module;  // the libp11 context shared by siblings
  struct State;
  explicit Pkcs11Key(std::unique_ptr<State> state);
  static Result<std::unique_ptr<Pkcs11Key>> OpenIn(
      std::shared_ptr<Module> module, std::string_view uri,
      const std::string& default_module);
  std::unique_ptr<State> state_;
};

// A DigestSigner over a token key and its certificate (PEM or DER file, as
// for file keys). Checks at load, refusing with kInvalidArgument naming the
// URI (without PIN) or the certificate file: a certificate without
// subjectKeyIdentifier (the keyid comes from it), a key type or size the
// kernel refuses (CheckKernelKeyType on the certificate's public key), a
// token key that does not match the certificate (a test digest is signed and
// checked with VerifyDigestSignature). Open() errors pass through unchanged.
// Sign() is thread-safe: it holds the key's mutex() for each token
// operation.
Result<std::unique_ptr<DigestSigner>> LoadPkcs11DigestSigner(
    std::string_view uri, const std::string& cert_path,
    const std::string& default_module);

// As above over an already open key, which the signer shares (so the same
// Pkcs11Key can also sign the bundle's CMS signature).
Result<std::unique_ptr<DigestSigner>> MakePkcs11DigestSigner(
    std::shared_ptr<Pkcs11Key> key, const std::string& cert_path);

}  // namespace imab::builder
