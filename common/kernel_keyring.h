// The rules a kernel applies before it loads a signing certificate into its
// .ima / .evm keyring (ima-evm-formats.md §5.1), so the builder can refuse,
// and the verifier predict, a certificate the device would reject.
#pragma once

#include <span>
#include <string>

#include <openssl/x509.h>

#include "common/result.h"

namespace imab {

struct KernelKeyringRules {
  // Kernel >= 6.6: keyUsage must contain digitalSignature, the certificate
  // must not be a CA nor carry keyCertSign.
  bool require_digital_signature = true;
};

// OK when some CA of `cas` (the kernel's built-in CAs) issued `cert`: its
// authorityKeyIdentifier keyid equals that CA's subjectKeyIdentifier and its
// signature verifies with that CA's key; plus a subjectKeyIdentifier (the
// kernel finds keys by it), a key type the kernel verifies, and, per
// `rules`, digitalSignature and not a CA. Validity dates are not checked:
// the kernel does not. kBadSignature naming the first rule broken
// ("not issued by a kernel CA", "no authorityKeyIdentifier", "keyUsage lacks
// digitalSignature", "is a CA", ...). `cert` and `cas` are borrowed.
Status CheckKernelAcceptsCertificate(const X509* cert,
                                     std::span<X509* const> cas,
                                     const KernelKeyringRules& rules);

}  // namespace imab
