// Loading certificates and describing them in messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab {

// The one DER certificate parser: the certificate whose DER encoding is
// exactly `der`. The one trailing-bytes rule: bytes after the certificate
// are refused, and so is an encoding OpenSSL would write differently, so
// the bytes a record pins, a digest covers or a device loads are one
// certificate and nothing else (the kernel's x509_cert_parse ignores
// trailing bytes, lib/asn1_decoder.c ASN1_OP_COMPLETE; refusing more than
// the kernel only ever refuses). `source` names where the bytes came from
// ("trust root: release-ca 1", a path) in the one-line kMalformed message:
// "SOURCE: does not parse as a DER certificate: REASONS", "SOURCE: N
// trailing bytes after the certificate", "SOURCE: not DER-encoded as
// written".
Result<Ptr<X509>> ParseCertificateDer(
    std::string_view der, const std::string& source = "certificate");

// The one PEM certificate parser: every CERTIFICATE block of `pem`, in
// order (blocks of other types are skipped, as PEM_read_bio_X509 does).
// kInvalidArgument naming `source` when a certificate block does not parse
// ("SOURCE: bad certificate N") or there is none ("SOURCE: no PEM
// certificate found").
Result<std::vector<Ptr<X509>>> ParsePemCertificates(std::string_view pem,
                                                    const std::string& source);

// Every certificate of a PEM file (ParsePemCertificates). kIo when the file
// cannot be read; kInvalidArgument naming the file when it is larger than
// kMaxKeyFileBytes, holds no certificate or something that does not parse.
Result<std::vector<Ptr<X509>>> LoadPemCertificates(const std::string& path);

// One certificate from a PEM file (its first, ParsePemCertificates) or a
// DER file (ParseCertificateDer), told apart by content. Failures as
// LoadPemCertificates, all kInvalidArgument but the read itself.
Result<Ptr<X509>> LoadCertificate(const std::string& path);

// The DER encoding of `cert`; kInternal when OpenSSL cannot encode it.
Result<std::string> CertificateDer(const X509* cert);

// "CN=Release 1, O=Acme" style one-line subject, for messages.
std::string SubjectLine(const X509* cert);

// The same for the issuer.
std::string IssuerLine(const X509* cert);

}  // namespace imab
