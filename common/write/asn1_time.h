// Certificate times as the release pipeline's messages and reports print
// them; the device compares times, it never prints an ASN1_TIME.
#pragma once

#include <openssl/asn1.h>

#include <string>

namespace imab {

// "2026-01-31T12:00:00Z" (UTC), or "(invalid time)".
std::string IsoTime(const ASN1_TIME* time);

}  // namespace imab
