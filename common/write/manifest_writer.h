// The canonical manifest writer (FORMAT.md §3): the release pipeline's side
// of common/read/manifest.h.
#pragma once

#include <string>
#include <string_view>

#include "common/read/manifest.h"

namespace imab {

// Percent-encodes a STR token (FORMAT.md §3.1).
std::string EncodeStrToken(std::string_view bytes);

// Appends the header lines, from `imabundle-manifest 1` through `entries`,
// with section `ima` between `entry-count` and `entries` when header.ima is
// set. Preconditions for the section: 1..kMaxSigningCerts certificates with
// non-empty DER of at most kMaxCertificateBytes, keyids strictly increasing.
// Section `ca-store` follows when header.ca_store is set: at most
// kMaxCaAnchors anchors, links strictly increasing, non-empty link and
// subject.
void AppendManifestHeader(const ManifestHeader& header, std::string* out);

// Appends one record line plus its xattr lines. For kHardlink only path and
// link_target are written. Preconditions: the entry is canonical (xattrs
// sorted, within limits).
void AppendManifestRecord(const Entry& entry, std::string* out);

// Appends the final `end` line.
void AppendManifestEnd(std::string* out);

}  // namespace imab
