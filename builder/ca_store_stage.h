// CaStoreStage: regenerates the image's etc/ssl/certs from its own CA
// inputs exactly as a first run of Debian's update-ca-certificates would
// (common/read/ca_store.h), with build-time edits (--ca-add, --ca-remove,
// --ca-conf), and splices the result into the entry stream.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "builder/rootfs_source.h"
#include "common/read/ca_policy.h"
#include "common/read/manifest.h"
#include "common/read/reporter.h"
#include "common/read/result.h"

namespace imab::builder {

// The CA store policy a command line gives (common/read/ca_policy.h checks
// it; a device configuration gives the same two settings).
struct CaPolicy {
  // NAME (a link in etc/ssl/certs, with or without ".pem") or FILE (a PEM
  // or DER certificate, matched by SHA-256 fingerprint): the store must
  // hold it, not expiring within the horizon.
  std::vector<std::string> required;
  uint32_t expiry_horizon_days = 365;
};

struct CaStoreOptions {
  bool keep = false;                // --ca-store keep: leave it as it is
  std::vector<std::string> add;     // host .crt files for the local folder
  std::vector<std::string> remove;  // names to deselect in the conf
  std::string conf;                 // host file replacing the conf
  bool lenient = false;             // the script's behaviour, warnings only
  CaPolicy policy;                  // --ca-require, --ca-expiry-horizon
  int64_t now = 0;                  // for expiry checks, seconds
};

// An entry the stage adds, with its content (files only).
struct GeneratedEntry {
  Entry entry;
  std::string content;
};

// What the stage does to the entry stream, computed before it runs.
struct CaStagePlan {
  CaStoreSection section;  // for the manifest
  // Entries to yield right after the folder entry of this path ("" = before
  // the first entry), parents before children.
  std::map<std::string, std::vector<GeneratedEntry>> after;
  std::set<std::string> drop;                  // stale entries of the input
  std::map<std::string, std::string> replace;  // file path -> new content
  std::string summary;                         // one line for the user
};

// Reads the rootfs at `rootfs` once (a second opening, metadata plus the
// CA inputs only, bounded by kMaxCaInputEntries / kMaxCaInputBytes),
// applies the options and computes the store. nullopt when the image has
// no CA input at all and no option adds one (reported via `reporter`; the
// store is left as it is). Errors name the file or option: every strict
// problem of ComputeCaStore (unless options.lenient), an unreadable
// option file, a --ca-add not named *.crt or already in the image, a
// --ca-remove that deselects nothing, a --ca-require that fails, a folder
// where the store puts an entry. Expiring anchors are warnings.
Result<std::optional<CaStagePlan>> PlanCaStore(const std::string& rootfs,
                                               const CaStoreOptions& options,
                                               Reporter& reporter);

// The source `inner` with `plan` applied: stale store entries dropped,
// replaced contents, generated entries (links, hash links, the bundle,
// added certificates, missing folders as 0755 root) in place. Fails with
// kIo if the rootfs changed since PlanCaStore read it.
std::unique_ptr<RootfsSource> WrapWithCaStore(
    std::unique_ptr<RootfsSource> inner, CaStagePlan plan);

}  // namespace imab::builder
