// Checks a bundle's manifest signature (FORMAT.md §5) against the release CA
// before anything in the manifest is trusted.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab::verifier {

// The release CA certificates a device trusts.
class ReleaseTrust {
 public:
  // Trusts `certs` (loaded by the caller; each gains a reference, the
  // vector stays the caller's). `source` names where they came from, for
  // messages: kInvalidArgument "SOURCE: cannot add SUBJECT".
  static Result<ReleaseTrust> FromCertificates(
      const std::vector<Ptr<X509>>& certs, const std::string& source);
  // Trusts the DER certificates `ders` (a trust root's release CAs).
  // kMalformed when one does not parse.
  static Result<ReleaseTrust> FromDer(const std::vector<std::string>& ders);

  X509_STORE* store() const { return store_.get(); }

 private:
  explicit ReleaseTrust(Ptr<X509_STORE> store) : store_(std::move(store)) {}
  Ptr<X509_STORE> store_;
};

struct SignatureCheckOptions {
  // Check certificate validity periods against the clock (FORMAT.md §5,
  // time-validity policy). Off only for devices without a trusted clock.
  bool check_time = true;
  // The signer certificate must carry extendedKeyUsage codeSigning; without
  // it an EKU is only checked when present (release-require-eku in
  // device.conf, --require-eku on the command line).
  bool require_eku = false;
};

struct VerifiedSignature {
  Sha256Digest manifest_sha256{};  // of the exact bytes that were verified
  std::string signer_subject;      // one line, for reports
};

// Verifies `signature_der` (a detached CMS SignedData) over the manifest
// bytes [offset, offset+size) of `source`, streamed in chunks, never held
// whole. Requirements: DER parses with no trailing bytes; exactly one
// SignerInfo; digest SHA-256/384/512; signed attributes and signer
// certificate as verifier/bundle/release_signer.h requires (signingTime against
// the clock only with options.check_time); signature valid; the signer
// certificate chains through the bundled certificates to an anchor of
// `trust`; validity per `options`. On failure: kBadSignature with one line
// saying why (e.g. "manifest.sig: certificate chain: certificate has
// expired"); kMalformed for DER that does not parse, is not canonical DER
// or has trailing bytes, and for a region outside `source`; kLimitExceeded
// above kMaxSignatureBytes; a failed read of `source` is returned as that
// error (kIo or kMalformed), never as a bad signature. The signature must
// be SignedData, detached, over id-data, with signed attributes.
// `trust` is only read: per-call verify settings never touch its store.
Result<VerifiedSignature> VerifyManifestSignature(
    ByteSource& source, uint64_t offset, uint64_t size,
    std::span<const uint8_t> signature_der, const ReleaseTrust& trust,
    const SignatureCheckOptions& options);

}  // namespace imab::verifier
