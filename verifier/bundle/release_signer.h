// Release signer rules (FORMAT.md §5): what the certificate that signs a
// bundle and the signed attributes of its SignerInfo must say, beyond what
// CMS_verify itself checks.
#pragma once

#include <openssl/cms.h>
#include <openssl/x509.h>

#include <cstdint>
#include <optional>

#include "common/read/result.h"

namespace imab::verifier {

// How far a signingTime may lie ahead of the verifying clock: build hosts
// and devices are not synchronised to the second.
inline constexpr int64_t kMaxSigningTimeSkewSeconds = 24 * 3600;

// Requires of the signed attributes of `si`, before any cryptography runs:
// exactly one contentType attribute with exactly one value, id-data;
// exactly one messageDigest with one OCTET STRING value; exactly one
// signingTime with one UTCTime or GeneralizedTime value that parses and,
// when `now` is set (the clock is trusted), is at most
// kMaxSigningTimeSkewSeconds after it. `si` is only read. On failure
// kBadSignature "manifest.sig: <attribute> ..." naming the rule.
Status CheckSignedAttributes(CMS_SignerInfo* si, std::optional<int64_t> now);

// Requires of `signer`, the certificate CMS_verify checked the signature
// and chain with: it is not a CA (X509_check_ca: basicConstraints CA:TRUE,
// a v1 self-signed certificate, keyCertSign without basicConstraints) and
// not itself one of the trust anchors in `anchors`; keyUsage is present and
// has digitalSignature; extendedKeyUsage, when present, has codeSigning,
// and it must be present when `require_eku`; its signingTime (see above)
// lies within its validity period. Both are only read. On failure
// kBadSignature "manifest.sig: signer certificate ..." naming the rule.
Status CheckReleaseSigner(X509* signer, CMS_SignerInfo* si, X509_STORE* anchors,
                          bool require_eku);

// X509 verify callback for the release chain: every certificate above the
// signer that carries an extendedKeyUsage must allow codeSigning (or
// anyExtendedKeyUsage), so a CA constrained to TLS cannot issue release
// signers. Fails with X509_V_ERR_INVALID_PURPOSE ("unsuitable certificate
// purpose"); otherwise returns `ok` unchanged. Keeps no state.
int ReleaseChainVerifyCallback(int ok, X509_STORE_CTX* ctx);

}  // namespace imab::verifier
