// Policy over a CA store section: anchors a device requires (for example
// the CA of its update server) and anchors that expire soon. Shared by the
// builder (--ca-require) and the verifier (device configuration).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/read/digest.h"
#include "common/read/manifest.h"
#include "common/read/result.h"

namespace imab {

// One required anchor, resolved: a name, or the fingerprint of a file.
struct RequiredAnchor {
  std::string spec;                         // as given, for messages
  std::optional<Sha256Digest> fingerprint;  // set when spec is a file
};

// A spec naming an existing regular file is a certificate file (loaded
// now); anything else is a name. kIo / kInvalidArgument naming the file
// when it exists but holds no certificate.
Result<std::vector<RequiredAnchor>> ResolveRequiredAnchors(
    const std::vector<std::string>& specs);

// The anchor of `section` that `required` names, or nullptr.
const CaAnchorRecord* FindAnchor(const CaStoreSection& section,
                                 const RequiredAnchor& required);

// OK when every required anchor is in `section` and (when `now` is set)
// valid for more than `horizon_days` from `now`. Otherwise `code` with one
// line naming the first anchor that fails: "required CA X is not in the
// CA store" or "required CA X (L.pem, CN=...) expires on 2026-01-02,
// within the 365-day horizon". A missing section fails every requirement.
Status CheckRequiredAnchors(const std::optional<CaStoreSection>& section,
                            const std::vector<RequiredAnchor>& required,
                            uint32_t horizon_days, std::optional<int64_t> now,
                            ErrorCode code);

// Anchors whose notAfter is at or before now + horizon (expired included),
// in section order. Borrowed pointers into `section`.
std::vector<const CaAnchorRecord*> ExpiringAnchors(
    const CaStoreSection& section, int64_t now, uint32_t horizon_days);

// "2035-06-04" (UTC) for seconds since the epoch.
std::string FormatUtcDate(uint64_t seconds);

}  // namespace imab
