// Key commands: creating the IMA/EVM CA and signing keys and the bundle
// release key (ima-evm-formats.md §3, §6, §7). Reporting on a certificate
// against the kernel's keyring rules is builder/key_show.h.
//
// CLI contract (builder/cli/key_command.cpp parses it into the option
// structs below and calls one function per subcommand; it prints
// `report`/`text` to stdout):
//
//   imab-build key create-ca      --out-key FILE --out-cert FILE --subject DN
//                                 [--type T] [--days N]
//   imab-build key create-signing --ca-key K --ca-cert C --out-key FILE
//                                 --out-cert FILE --subject DN [--type T]
//                                 [--days N] [--code-signing]
//                                 [--kernel-version MAJOR.MINOR]
//   imab-build key rotate-signing --ca-key K --ca-cert C --current CERT
//                                 [--current CERT ...] --out-key FILE
//                                 --out-cert FILE --subject DN [--type T]
//                                 [--days N] [--kernel-version MAJOR.MINOR]
//   imab-build key create-release --out-key FILE --out-cert FILE --subject DN
//                                 [--type T] [--days N]
//                                 [--ca-key K --ca-cert C |
//                                  [--out-ca-key F] [--out-ca-cert F]
//                                  [--ca-subject DN]]
//   (imab-build key show: builder/key_show.h)
//
//   T:  rsa:2048 | rsa:3072 | rsa:4096 | ec:p256 | ec:p384.
//       Defaults: create-ca rsa:3072; create-signing and rotate-signing
//       rsa:2048 (every kernel verifies RSA; ECDSA IMA signatures need
//       >= 5.13); create-release ec:p256 (checked by our verifier only).
//   N:  1..36500 days. Defaults: create-ca 3650, the others 730.
//   DN: "/O=Acme/CN=IMA signing 2026" (openssl -subj form, "\/" escapes a
//       slash) or "O=Acme, CN=IMA signing 2026" ("\," escapes a comma).
//       Multi-valued RDNs ("+") are not supported.
//
// Exit codes (style.md): any returned error -> 2, else 0.
//
// Outputs: the certificate is DER when its file name ends in ".der", else
// PEM. The private key is unencrypted PKCS#8 PEM created with O_EXCL and
// mode 0600. Neither output may exist beforehand; on any failure no output
// file is left behind.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab::builder {

// Key algorithms the kernel accepts for IMA/EVM keys (CheckKernelKeyType).
enum class KeyAlgorithm { kRsa2048, kRsa3072, kRsa4096, kEcP256, kEcP384 };

// Parses "rsa:2048", "rsa:3072", "rsa:4096", "ec:p256", "ec:p384". On
// failure kInvalidArgument listing the accepted names.
Result<KeyAlgorithm> ParseKeyAlgorithm(std::string_view text);

// Generates a fresh key of `algorithm` (EC keys use named curves, as the
// kernel requires). kInternal when OpenSSL fails.
Result<Ptr<EVP_PKEY>> GenerateKey(KeyAlgorithm algorithm);

// Splits a subject DN (forms above) into (attribute, value) pairs in order.
// Does not check that attributes are known to OpenSSL (creation does).
// kInvalidArgument ("bad subject ...: ...") when empty, longer than 1024
// bytes, a component lacks "=", or a name or value is empty.
Result<std::vector<std::pair<std::string, std::string>>> ParseSubject(
    std::string_view text);

struct CreateCaOptions {
  std::string out_key;
  std::string out_cert;
  std::string subject;
  std::string type = "rsa:3072";
  int days = 3650;
};

struct CreateSigningOptions {
  std::string ca_key;   // unencrypted PEM private key of the CA
  std::string ca_cert;  // PEM or DER certificate of the CA
  std::string out_key;
  std::string out_cert;
  std::string subject;
  std::string type = "rsa:2048";
  int days = 730;
  bool code_signing = false;  // adds extendedKeyUsage=critical,codeSigning
  // PKCS#11 module for a ca_key given as a "pkcs11:" URI without
  // module-path.
  std::string pkcs11_module;
  // A CA key listed as a published development key is refused unless
  // allowed; dev_keys_list adds fingerprints to the built-in list.
  bool allow_dev_keys = false;
  std::string dev_keys_list;
  // MAJOR.MINOR of the device kernel whose keyring rules the new
  // certificate (and, for rotate-signing, each current one, as a note) is
  // checked against; empty: every studied kernel's.
  std::string kernel_version;
};

struct RotateSigningOptions {
  CreateSigningOptions signing;      // the new certificate, as above
  std::vector<std::string> current;  // certificates in use now (>= 1)
};

struct CreateReleaseOptions {
  std::string out_key;
  std::string out_cert;
  std::string subject;
  std::string type = "ec:p256";
  int days = 730;
  std::string ca_key;   // both empty: a new release CA issues it
  std::string ca_cert;  // both set: issued by this CA
  // Without ca_key/ca_cert: where the new release CA goes (default: the
  // out_key / out_cert name with "-ca" before its extension) and its
  // subject (default: `subject` with " CA" appended to its CN).
  std::string out_ca_key;
  std::string out_ca_cert;
  std::string ca_subject;
  std::string pkcs11_module;    // as in CreateSigningOptions
  bool allow_dev_keys = false;  // as in CreateSigningOptions
  std::string dev_keys_list;
};

// What a create command did. `report` holds lines for stdout (paths,
// subject, key type, keyid, validity, notes); never key material.
struct CreatedKey {
  uint32_t keyid = 0;  // IMA keyid: last 4 bytes of the new SKID
  std::string report;
};

// Self-signed root CA for the kernel's builtin keyring: basicConstraints
// critical CA:TRUE, keyUsage critical keyCertSign,cRLSign, SKID=hash, AKID
// keyid, SHA-256 (SHA-384 for P-384), serial of 16 random bytes, validity
// now-1h .. now+days. Errors: kInvalidArgument for a bad type, subject,
// days or an existing output; kIo when an output cannot be written.
Result<CreatedKey> CreateCa(const CreateCaOptions& options);

// IMA/EVM signing certificate issued by the CA: basicConstraints critical
// CA:FALSE, keyUsage critical digitalSignature, SKID=hash, AKID keyid equal
// to the CA's SKID, optionally extendedKeyUsage critical codeSigning. Refuses
// (kInvalidArgument naming the file) a CA certificate without CA:TRUE, without
// keyCertSign ("ca.pem: not a CA (no keyCertSign)") or without SKID, a CA
// key that does not match it, a bad kernel_version, and a result the target
// kernel would not load with the CA built in (common/read/kernel_keyring.h);
// otherwise errors as CreateCa.
Result<CreatedKey> CreateSigning(const CreateSigningOptions& options);

// CreateSigning whose new keyid differs from the keyid of every `current`
// certificate (the kernel takes the first key with a matching keyid, so
// both must be unique while both are loaded). Regenerates the key at most
// 16 times, then kInternal. A current certificate issued by another CA is
// allowed and noted in the report, and so is one the CA issued that the
// target kernel would not load. kInvalidArgument when `current` is empty
// or a current certificate cannot be loaded.
Result<CreatedKey> RotateSigning(const RotateSigningOptions& options);

// Bundle (CMS) release certificate, always what the verifier requires of a
// bundle signer (FORMAT.md §5): CA:FALSE, keyUsage critical
// digitalSignature, extendedKeyUsage critical codeSigning, SKID, AKID.
// With a CA (both ca_key and ca_cert) it is issued by that CA (same CA
// checks as CreateSigning). Without one, a release CA is created too
// (CA:TRUE, keyUsage keyCertSign,cRLSign, valid max(days, 3650) days, same
// key type) and issues it: the CA is the anchor devices trust, never a
// signer. All four files are then written, or none. kInvalidArgument when
// only one of ca_key/ca_cert is given or an output exists.
Result<CreatedKey> CreateRelease(const CreateReleaseOptions& options);

}  // namespace imab::builder
