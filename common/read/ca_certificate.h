// One file of the CA store read as a certificate: the way `openssl rehash`
// reads it (for hash links and anchors) and our strict "exactly one PEM
// certificate" rule (docs ca-certificates.md §4, §8).
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/read/handles.h"
#include "common/read/manifest.h"
#include "common/read/result.h"

namespace imab {

// What `openssl rehash` makes of one file (apps/rehash.c do_file): read
// with PEM_X509_INFO_read_bio, hashed only when that yields exactly one
// certificate (a private key block beside it is tolerated) or one CRL.
struct RehashView {
  enum class Kind { kNone, kCert, kCrl } kind = Kind::kNone;
  bool warned = false;     // "does not contain exactly one certificate or CRL"
  unsigned long hash = 0;  // X509_NAME_hash_ex of subject (issuer for CRLs)
  std::array<uint8_t, EVP_MAX_MD_SIZE> sha1{};  // duplicate detection
  Ptr<X509> cert;                               // kCert only
};

// Never fails: unreadable input is kNone, as rehash skips it.
RehashView ViewForRehash(std::string_view bytes);

// The anchor record of `cert` (SHA-256 of the DER, notAfter, one-line
// subject) under the link name `link`; nullopt if it cannot be digested.
std::optional<CaAnchorRecord> AnchorOf(const std::string& link,
                                       const X509* cert);

// The anchor record of a file that `openssl rehash` would hash as one
// certificate, or nullopt.
std::optional<CaAnchorRecord> DescribeAnchor(const std::string& link,
                                             std::string_view bytes);

// OK when `bytes` is exactly one PEM certificate block (`CERTIFICATE` or
// `TRUSTED CERTIFICATE`) that parses, with no other PEM block (text around
// it is allowed). Otherwise kInvalidArgument saying what it is instead:
// empty, no PEM block (DER or other data), a truncated or malformed block,
// several certificates, a private key or another block.
Status CheckOnePemCertificate(std::string_view bytes);

}  // namespace imab
