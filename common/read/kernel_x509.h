// What the kernel's X.509 parser (crypto/asymmetric_keys/x509_cert_parser.c)
// reads from a certificate, as raw bytes, so common/read/kernel_keyring.cpp can
// judge a certificate as the kernel does rather than as OpenSSL would.
#pragma once

#include <openssl/x509.h>

#include <optional>
#include <string>

namespace imab {

// The three identifiers a loaded key is found by (x509_key_preparse):
// id0 serial content + issuer Name content, id1 the subjectKeyIdentifier
// (absent without one), id2 the subject Name content.
struct KernelKeyIds {
  std::string id0;
  std::optional<std::string> id1;
  std::string id2;
};

// The identifiers the kernel looks the issuing CA up by: a0 the AKID's
// serial + its last directoryName (both needed), a1 the AKID keyid, a2 the
// issuer Name content (used only when a0 and a1 are both absent).
struct KernelAuthIds {
  std::optional<std::string> a0;
  std::optional<std::string> a1;
  std::string a2;
};

KernelKeyIds KernelKeyIdsOf(const X509* cert);

// The subjectKeyIdentifier as the parser reads it from the extension bytes
// (OpenSSL hides it when another extension does not decode).
struct KernelSkid {
  bool present = false;    // the extension is there
  bool malformed = false;  // not a short OCTET STRING of >= 1 byte: EBADMSG
  std::string bytes;
};
KernelSkid KernelSkidOf(const X509* cert);
KernelAuthIds KernelAuthIdsOf(const X509* cert);

// The extnValue bytes of the first extension `nid`, or nullopt.
std::optional<std::string> ExtensionBytes(const X509* cert, int nid);

// Why x509_decode_time refuses `time` (UTCTime of 13 or GeneralizedTime of
// 15 characters ending in Z, a real date from 1970 on, GeneralizedTime only
// outside 1950..2049), or empty when it reads it.
std::string KernelTimeProblem(const ASN1_TIME* time);

// keyUsage and basicConstraints as the 6.12 parser reads them.
struct KernelUsageFlags {
  bool digital_signature = false;
  bool key_cert_sign = false;
  bool ca = false;
  std::string problem;  // non-empty: the parser refuses the certificate
};
KernelUsageFlags KernelUsageFlagsOf(const X509* cert);

// True when the AKID's authorityCertIssuer holds a GeneralName other than a
// directoryName (6.1's grammar fails on those).
bool AkidIssuerHasOtherNames(const X509* cert);

}  // namespace imab
