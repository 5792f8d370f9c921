// VerifyBundle: the verifier's one entry point for a bundle file. Runs every
// check of FORMAT.md §6 in order and feeds checked entries to a sink.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/read/ca_policy.h"
#include "common/read/integrity_check.h"
#include "common/read/manifest.h"
#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_state.h"
#include "verifier/bundle/entry_sink.h"
#include "verifier/bundle/manifest_signature.h"
#include "verifier/trust/trust_decision.h"
#include "verifier/device/writable_entries.h"

namespace imab::verifier {

struct VerifyOptions {
  std::string bundle_path;
  std::string release_ca;  // PEM file of trusted release CA certificates
  // Or the device's signed trust root (FORMAT.md §8), as a file or as the
  // bytes the caller loaded (a root the device adopted, from its slot
  // state); exactly one of the three is set.
  std::string trust_root;
  std::optional<std::string> trust_root_bytes;
  // Where the private copy of the manifest is made (an unlinked temporary,
  // never visible under a name; manifest_copy.h).
  std::string temp_dir = "/tmp";
  // Bytes an install puts before each PATH (its staging folder and '/'):
  // records it could not write are refused (writable_entries.h). Device
  // runs set the slot's; plain `verify` keeps the fixed reserve.
  size_t path_reserve = kDefaultPathReserve;
  SignatureCheckOptions signature;
  // Accept bundles marked `development` (built with published keys).
  bool allow_development = false;
  // Device-aware run (`verify --root`, `install`); both borrowed, both set
  // or both null. The trust decision and the rollback and freshness checks
  // then run from the manifest before any payload byte streams, so a
  // refused update writes nothing.
  const DeviceConfig* device = nullptr;
  const DeviceState* device_state = nullptr;
  bool allow_reinstall = false;  // accept a version equal to the installed
  bool in_place = false;         // judge as an in-place update (no A/B)
  // Anchors the device requires in the new image's CA store, and the
  // horizon within which one may not expire (needs a clock: skipped with
  // signature.check_time off).
  CaPolicy ca;
};

// One named check and its outcome, for `--json` and error lines.
struct CheckResult {
  std::string name;  // "container", "signature", "manifest", "payload"...
  bool passed = false;
  std::string detail;  // what was checked, or why it failed
};

struct VerifyReport {
  std::vector<CheckResult> checks;  // in the order they ran
  bool manifest_parsed = false;
  ManifestHeader header;  // valid when manifest_parsed
  std::string signer;
  // SHA-256 of the exact manifest bytes whose signature verified (set once
  // the "signature" check passed); identifies the installed bundle.
  Sha256Digest manifest_sha256{};
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t content_bytes = 0;
  std::vector<IntegrityFailure> integrity_failures;  // every bad file
  // With a trust root: the version in force for this bundle, and the root
  // the bundle carries when it is a verified successor (to adopt after a
  // successful install).
  uint64_t trust_root_version = 0;
  std::optional<std::string> adopt_trust_root;
  // Device-aware runs: the post-update trust decision, once made.
  std::optional<TrustVerdict> trust;
};

// Verifies the bundle at options.bundle_path and streams its entries into
// `sink`, calling sink.Commit() only when every check passed and
// sink.Abort() on any failure. Order: container shape and limits, signature
// and chain, then the manifest record by record in lockstep with the
// payload, then the payload's size and digest and the manifest's digest.
// Returns OK only if every check passed (fail closed). On failure the error
// names the check and, where there is one, the entry; `report` (borrowed)
// holds every check that ran.
Status VerifyBundle(const VerifyOptions& options, EntrySink& sink,
                    VerifyReport& report);

}  // namespace imab::verifier
