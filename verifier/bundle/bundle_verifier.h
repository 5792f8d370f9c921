// VerifyBundle: the verifier's one entry point for a bundle. Runs every
// check of FORMAT.md §6 in order, feeds checked entries to a sink, and
// returns the facts of the verified bundle apart from the report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/ca_policy.h"
#include "common/read/integrity_check.h"
#include "common/read/manifest.h"
#include "common/read/result.h"
#include "verifier/bundle/entry_sink.h"
#include "verifier/bundle/manifest_signature.h"
#include "verifier/bundle/trust_material.h"
#include "verifier/device/writable_entries.h"
#include "verifier/trust/trust_decision.h"

namespace imab::verifier {

struct VerifyOptions {
  // The bundle, opened by the caller (borrowed): read through this source
  // only, never reopened by name.
  ByteSource* bundle = nullptr;
  // What the run trusts (borrowed; trust_material.h). Both must outlive
  // the call.
  const TrustMaterial* trust = nullptr;
  // Bytes an install puts before each PATH (its staging folder and '/'):
  // records it could not write are refused (writable_entries.h). Device
  // runs set the slot's; plain `verify` keeps the fixed reserve.
  size_t path_reserve = kDefaultPathReserve;
  SignatureCheckOptions signature;
  RequiredCas ca;  // loaded with the trust material
  // Accept bundles marked `development` (built with published keys).
  bool allow_development = false;
  bool allow_reinstall = false;  // accept a version equal to the installed
};

// One named check and its outcome, for `--json` and error lines.
struct CheckResult {
  std::string name;  // "container", "signature", "manifest", "payload"...
  bool passed = false;
  std::string detail;  // what was checked, or why it failed
};

// The facts of a bundle that passed every check: what a caller acts on
// (the state an install records, the CA store inspect compares).
struct VerifiedBundle {
  ManifestHeader header;
  std::string signer;  // the release signer's subject, one line
  // SHA-256 of the exact manifest bytes whose signature verified;
  // identifies the installed bundle.
  Sha256Digest manifest_sha256{};
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t content_bytes = 0;
  // With a trust root: the version in force for this bundle, and the root
  // the bundle carries when it is a verified successor (to adopt after a
  // successful install).
  uint64_t trust_root_version = 0;
  std::optional<std::string> adopt_trust_root;
  // Device-aware runs: the post-update trust decision.
  std::optional<TrustVerdict> trust;
};

// What the human and JSON output render: the checks in the order they
// ran and the details of a failure.
struct VerifyReport {
  std::vector<CheckResult> checks;
  std::vector<IntegrityFailure> integrity_failures;  // every bad file
  // The facts as far as the checks established them, set once the
  // manifest header parsed (the counts once the payload streamed, the
  // verdict once decided), so that a refusal shows what it refused. Only
  // for rendering: a caller acts on what VerifyBundle returned.
  std::optional<VerifiedBundle> facts;
};

// Verifies the bundle options.bundle against options.trust and streams its
// entries into `sink`, calling sink.Commit() only when every check passed
// and sink.Abort() on any failure. Order: container shape and limits,
// signature and chain, then the manifest record by record in lockstep with
// the payload, then the payload's size and digest and the manifest's
// digest. Opens no file by name (its one private file is the unnamed copy
// of the manifest, manifest_copy.h). Returns the bundle's facts only if
// every check passed (fail closed). On failure the error names the check
// and, where there is one, the entry; `report` (borrowed) holds every check
// that ran.
Result<VerifiedBundle> VerifyBundle(const VerifyOptions& options,
                                    EntrySink& sink, VerifyReport& report);

}  // namespace imab::verifier
