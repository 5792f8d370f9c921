// `imab-verify inspect`: verifies a bundle (and optionally the previous
// one) and lists the trust anchors its CA store adds, removes and lets
// expire, for release review.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/read/manifest.h"
#include "common/read/result.h"
#include "verifier/bundle/bundle_verifier.h"

namespace imab::verifier {

// Anchors compared by SHA-256 fingerprint: a certificate that only changed
// its link name is neither added nor removed.
struct CaStoreDiff {
  bool has_store = false;     // the bundle declares a CA store
  bool has_previous = false;  // a previous bundle was given
  bool previous_has_store = false;
  std::vector<CaAnchorRecord> anchors;   // the bundle's, in link order
  std::vector<CaAnchorRecord> added;     // not in the previous store
  std::vector<CaAnchorRecord> removed;   // only in the previous store
  std::vector<CaAnchorRecord> expiring;  // notAfter <= now + horizon
};

// Pure: the difference between `current` and `previous` (nullptr: none
// given) and the anchors of `current` expiring within `horizon_days`.
CaStoreDiff DiffCaStores(const std::optional<CaStoreSection>& current,
                         const std::optional<CaStoreSection>* previous,
                         int64_t now, uint32_t horizon_days);

struct InspectOptions {
  VerifyOptions verify;  // the bundle, its trust material, flags
  // The previous bundle, opened by the caller (borrowed; nullptr: none),
  // verified with the same trust material, and its name for messages.
  ByteSource* against = nullptr;
  std::string against_name;
  int64_t now = 0;
};

struct InspectResult {
  VerifyReport report;           // of the bundle
  VerifyReport previous_report;  // of the previous bundle, when given
  CaStoreDiff diff;              // set on success
};

// Runs every check of VerifyBundle on both bundles (nothing is written);
// on failure the error names the bundle that failed ("previous bundle
// NAME: ...") and `result` holds the reports so far. On success returns
// the bundle's facts and fills `result.diff`.
Result<VerifiedBundle> InspectBundles(const InspectOptions& options,
                                      InspectResult& result);

// Human-readable lines: counts, then one line per added, removed and
// expiring anchor ("+ L subject", "- L subject", "! L subject notAfter").
std::string RenderCaDiffText(const CaStoreDiff& diff, uint32_t horizon_days);
// A JSON object: {"declared", "anchors", "added", "removed", "expiring"}.
std::string RenderCaDiffJson(const CaStoreDiff& diff);

}  // namespace imab::verifier
