// Test PKI: keys and certificates generated per test with OpenSSL, written
// as PEM files, for signing bundles and checking chains.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/read/handles.h"

namespace imab::testing {

enum class KeyType {
  kRsa2048,
  kRsa3072,
  kRsa4096,
  kEcP256,
  kEcP384,
  // Keys no IMA/EVM signer may use, for refusal tests.
  kRsa1024,
  kEcP521,
  kEd25519,
};

// A key and certificate, also written to `key_path` / `cert_path` (PEM).
struct TestIdentity {
  Ptr<EVP_PKEY> key;
  Ptr<X509> cert;
  std::string key_path;
  std::string cert_path;
};

struct CertOptions {
  std::string common_name = "imabundle test";
  KeyType key_type = KeyType::kEcP256;
  bool is_ca = false;
  // Validity relative to now, in seconds (negative = in the past).
  long not_before_offset = -3600;
  long not_after_offset = 365L * 24 * 3600;
  // keyUsage extension value; empty: keyCertSign for a CA, else
  // digitalSignature.
  std::string key_usage = {};
  // subjectKeyIdentifier as hex ("0102..."); empty: the key's hash;
  // "none": no extension.
  std::string subject_key_id = {};
  // extendedKeyUsage extension value ("critical,codeSigning"); empty: none.
  std::string extended_key_usage = {};
  // No keyUsage extension at all (overrides key_usage).
  bool omit_key_usage = false;
  // basicConstraints value; empty: critical CA:TRUE or CA:FALSE as is_ca
  // says; "none": no extension.
  std::string basic_constraints = {};
  // authorityKeyIdentifier value ("keyid:always", "issuer:always",
  // "keyid:always,issuer:always"); "none": no extension.
  std::string authority_key_id = "keyid:always";
  // Extensions given as their DER extnValue bytes (non-critical), added
  // after the others, for encodings OpenSSL would not write.
  std::vector<std::pair<int, std::string>> raw_extensions = {};
  // notBefore/notAfter as ASN.1 time text ("600101000000Z" is a UTCTime,
  // "20300101000000Z" a GeneralizedTime); empty: the offsets above.
  std::string not_before_text = {};
  std::string not_after_text = {};
  // Subject CN of the issuer name when not `issuer`'s subject (empty: it).
  std::string issuer_common_name = {};
};

// Creates a self-signed CA (is_ca forced true) in `dir` as NAME.key/NAME.pem.
TestIdentity MakeRootCa(const std::string& dir, const std::string& name,
                        CertOptions options = {});

// Creates a certificate for a fresh key, issued by `issuer`, in `dir` as
// NAME.key/NAME.pem. With is_ca it can issue further certificates.
TestIdentity MakeIssued(const std::string& dir, const std::string& name,
                        const TestIdentity& issuer, CertOptions options = {});

// Reads a key and certificate made elsewhere (PEM files), such as a
// committed test CA. Fails the test when either does not load.
TestIdentity LoadIdentity(const std::string& key_path,
                          const std::string& cert_path);

// Appends the PEM of `cert` to the file at `path` (to build chain files).
void AppendCertPem(const std::string& path, const X509* cert);

// The certificate of `id` as DER (what a device's /etc/keys files and
// imab-build --ima-cert take), written beside its PEM as CERT_PATH.der the
// first time it is asked for; returns that path.
std::string DerCopy(const TestIdentity& id);

}  // namespace imab::testing
