// Loading certificates and describing them in messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab {

// Every certificate of a PEM file, in file order. kIo when the file cannot
// be read; kInvalidArgument naming the file when it holds no certificate or
// something that does not parse.
Result<std::vector<Ptr<X509>>> LoadPemCertificates(const std::string& path);

// One certificate from a PEM or DER file (detected by content).
Result<Ptr<X509>> LoadCertificate(const std::string& path);

// The certificate whose DER encoding is exactly `der`; kMalformed when it
// does not parse or bytes follow it.
Result<Ptr<X509>> ParseCertificateDer(std::string_view der);

// The DER encoding of `cert`; kInternal when OpenSSL cannot encode it.
Result<std::string> CertificateDer(const X509* cert);

// "CN=Release 1, O=Acme" style one-line subject, for messages.
std::string SubjectLine(const X509* cert);

// The same for the issuer.
std::string IssuerLine(const X509* cert);

// "2026-01-31T12:00:00Z" (UTC), or "(invalid time)".
std::string IsoTime(const ASN1_TIME* time);

}  // namespace imab
