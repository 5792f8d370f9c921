#include "verifier/bundle/bundle_verifier.h"

#include <ctime>
#include <thread>
#include <vector>

#include "common/read/bundle_container.h"
#include "common/read/failure_list.h"
#include "common/read/hex.h"
#include "common/read/manifest_reader.h"
#include "common/read/printable.h"
#include "common/read/zstd_stream.h"
#include "verifier/bundle/integrity_pool.h"
#include "verifier/bundle/manifest_copy.h"
#include "verifier/bundle/payload_stream.h"
#include "verifier/bundle/trust_anchor.h"
#include "verifier/trust/trust_content_sink.h"
#include "verifier/trust/update_checks.h"

namespace imab::verifier {
namespace {

// Records the outcome of one named check in the report and passes the
// status through, so each step reads as one line below.
Status Record(VerifyReport& report, const std::string& name, Status status,
              const std::string& ok_detail) {
  CheckResult check{name, status.ok(), ok_detail};
  if (!status.ok()) {
    check.detail = status.error().message;
    report.checks.push_back(std::move(check));
    return WithContext(std::move(status).error(), name);
  }
  report.checks.push_back(std::move(check));
  return OkStatus();
}

Status CheckPayloadTotals(const ManifestHeader& header, uint64_t size,
                          const Sha256Digest& digest) {
  if (size != header.payload_size) {
    return MakeError(ErrorCode::kMalformed,
                     "payload is " + std::to_string(size) +
                         " bytes, the manifest says " +
                         std::to_string(header.payload_size));
  }
  if (!DigestEquals(digest, header.payload_sha256)) {
    return MakeError(
        ErrorCode::kDigestMismatch,
        "payload SHA-256 " + HexEncode(digest) + " differs from the manifest");
  }
  return OkStatus();
}

// One line naming every file whose IMA/EVM check failed (the first ten in
// full), or OK.
Status DescribeIntegrityFailures(const std::vector<IntegrityFailure>& failures,
                                 uint64_t files) {
  if (failures.empty()) {
    return OkStatus();
  }
  auto describe = [&](size_t i) {
    const IntegrityFailure& f = failures[i];
    return Printable(f.path) + ": " + Printable(f.xattr) + ": " +
           Printable(f.reason);
  };
  return MakeError(
      ErrorCode::kBadSignature,
      std::to_string(failures.size()) + " IMA/EVM check(s) failed over " +
          std::to_string(files) + " files: " +
          ListFirstFailures(failures.size(), describe, " (see --json)"));
}

// The device side of a device-aware run, kept from the manifest pass to
// the end of the payload stream.
struct DeviceRun {
  std::unique_ptr<TrustDecider> decider;
};

Status TrustStatus(const TrustVerdict& verdict) {
  return verdict.accepted()
             ? OkStatus()
             : Status(MakeError(ErrorCode::kUntrusted,
                                "the device could not trust this update "
                                "after reboot: " +
                                    verdict.Summary()));
}

// The device-aware checks, from the manifest alone (`manifest`: its
// private copy), before any payload byte reaches the sink.
Status CheckDevice(ByteSource& manifest, const VerifyOptions& options,
                   const DeviceMaterial& device, VerifyReport& report,
                   DeviceRun& run) {
  VerifiedBundle& facts = *report.facts;
  const ManifestHeader& header = facts.header;
  const DeviceConfig& config = device.config;
  IMAB_RETURN_IF_ERROR(Record(report, "compatible",
                              CheckCompatible(header, config),
                              "bundle is for " + config.compatible));
  const DeviceState& state = device.state;
  IMAB_RETURN_IF_ERROR(
      Record(report, "rollback",
             CheckNotRollback(header, state, options.allow_reinstall),
             state.image_version.empty()
                 ? "nothing installed yet"
                 : "version " + header.image_version + " after " +
                       state.image_version + ", key generation floor " +
                       std::to_string(state.key_generation)));
  Result<std::unique_ptr<TrustDecider>> decider =
      DecideUpdateTrust(manifest, 0, manifest.size(), facts.manifest_sha256,
                        header, device.trust);
  if (!decider.has_value()) {
    return Record(report, "trust-decision", Status(decider.error()), "");
  }
  run.decider = std::move(*decider);
  facts.trust = run.decider->Finish();
  return Record(report, "trust-decision", TrustStatus(*facts.trust),
                facts.trust->Summary());
}

// The manifest, read from the bundle once into a private copy whose
// signature verified, and the one reader over that copy.
struct SignedManifest {
  ManifestCopy copy;
  std::unique_ptr<ManifestReader> reader;
};

// The folder of the private manifest copy: never a name in it (O_TMPFILE,
// manifest_copy.h), so no caller needs to choose it.
constexpr const char* kManifestCopyFolder = "/tmp";

// Copy, trust anchors, signature, header: nothing after this reads the
// bundle's manifest bytes, so none can differ from the bytes signed. Sets
// report.facts once the header parsed.
Result<SignedManifest> CheckSignedManifest(ByteSource& source,
                                           const BundleLayout& layout,
                                           const VerifyOptions& options,
                                           VerifyReport& report) {
  IMAB_ASSIGN_OR_RETURN(
      ManifestCopy copy,
      CopyManifest(source, layout.manifest_offset, layout.manifest_size,
                   kManifestCopyFolder));
  const uint64_t size = layout.manifest_size;
  // Parsed before its signature only for the trust root it may carry,
  // which authenticates itself; nothing else of it is used until then.
  auto manifest = ManifestReader::Open(*copy.source, 0, size);
  Result<AnchorDecision> decided = DecideAnchors(
      options.trust->release,
      manifest.has_value() ? (*manifest)->header().trust_root : "");
  if (!decided.has_value() &&
      decided.error().code == ErrorCode::kInvalidArgument) {
    return decided.error();
  }
  IMAB_RETURN_IF_ERROR(
      Record(report, "trust-root",
             decided.has_value() ? OkStatus() : Status(decided.error()),
             decided.has_value() ? decided->detail : ""));
  std::vector<uint8_t> signature(layout.signature_size);
  IMAB_RETURN_IF_ERROR(source.ReadAt(layout.signature_offset, signature));
  Result<VerifiedSignature> verified = VerifyManifestSignature(
      *copy.source, 0, size, signature, decided->anchors, options.signature);
  IMAB_RETURN_IF_ERROR(Record(
      report, "signature",
      verified.has_value() ? OkStatus() : Status(verified.error()),
      verified.has_value() ? "signed by " + verified->signer_subject : ""));
  // The copy is private: a difference here is a bug, not an attack.
  if (!DigestEquals(verified->manifest_sha256, copy.sha256)) {
    return MakeError(ErrorCode::kInternal, "manifest copy changed");
  }
  IMAB_RETURN_IF_ERROR(
      Record(report, "manifest",
             manifest.has_value() ? OkStatus() : Status(manifest.error()),
             "header parsed"));
  VerifiedBundle& facts = report.facts.emplace();
  facts.header = (*manifest)->header();
  facts.signer = verified->signer_subject;
  facts.manifest_sha256 = verified->manifest_sha256;
  facts.trust_root_version = decided->effective_version;
  if (!facts.header.trust_root.empty() &&
      options.trust->release.trust_root.has_value()) {
    facts.adopt_trust_root = facts.header.trust_root;
  }
  return SignedManifest{std::move(copy), std::move(*manifest)};
}

// The header's own rules: payload size, development, declared IMA/EVM
// keys, expiry. Returns the checker of the declared keys.
Result<ImaChecker> CheckHeaderRules(const BundleLayout& layout,
                                    const VerifyOptions& options,
                                    VerifyReport& report) {
  const ManifestHeader& header = report.facts->header;
  if (header.payload_size != layout.payload_size) {
    Status sizes = Record(
        report, "payload",
        MakeError(ErrorCode::kMalformed,
                  "payload member is " + std::to_string(layout.payload_size) +
                      " bytes, the manifest says " +
                      std::to_string(header.payload_size)),
        "");
    return std::move(sizes).error();
  }
  // A development bundle is signed with keys anyone can download.
  IMAB_RETURN_IF_ERROR(Record(
      report, "development",
      header.development && !options.allow_development
          ? Status(MakeError(ErrorCode::kPolicyRefused,
                             "bundle is marked development (built with "
                             "published development keys); this device does "
                             "not accept development bundles"))
          : OkStatus(),
      header.development ? "development bundle accepted by configuration"
                         : "production bundle"));
  Result<ImaChecker> integrity = ImaChecker::Create(header.ima);
  IMAB_RETURN_IF_ERROR(Record(
      report, "ima-keys",
      integrity.has_value() ? OkStatus() : Status(integrity.error()),
      header.ima.has_value() ? std::to_string(header.ima->certificates.size()) +
                                   " signing certificate(s) declared"
                             : "no IMA/EVM signatures declared"));
  IMAB_RETURN_IF_ERROR(Record(
      report, "expiry",
      options.signature.check_time
          ? CheckNotExpired(header, static_cast<uint64_t>(std::time(nullptr)))
          : OkStatus(),
      !header.expires.has_value()    ? "no expiry"
      : options.signature.check_time ? "not expired"
                                     : "expiry not checked (no clock)"));
  return integrity;
}

// A device whose update server's CA is gone can never update again:
// decided from the signed section before anything is written.
Status CheckRequiredCas(const VerifyOptions& options, VerifyReport& report) {
  const RequiredCas& ca = options.ca;
  std::optional<int64_t> now;
  if (options.signature.check_time) {
    now = static_cast<int64_t>(std::time(nullptr));
  }
  return Record(
      report, "ca-required",
      CheckRequiredAnchors(report.facts->header.ca_store, ca.anchors,
                           ca.expiry_horizon_days, now,
                           ErrorCode::kPolicyRefused),
      std::to_string(ca.anchors.size()) + " required CA(s) present" +
          (now.has_value()
               ? " beyond the " + std::to_string(ca.expiry_horizon_days) +
                     "-day horizon"
               : " (no time check)"));
}

// The payload against the manifest, record by record, into `sink`; then
// the CA store, the payload's totals and every file's IMA/EVM signatures.
Status CheckPayloadStream(ByteSource& source, const BundleLayout& layout,
                          ManifestReader& manifest, const ImaChecker& checker,
                          DeviceRun& device_run, EntrySink& sink,
                          VerifyReport& report) {
  VerifiedBundle& facts = *report.facts;
  const ManifestHeader& header = facts.header;
  IMAB_RETURN_IF_ERROR(sink.Start(header));
  IMAB_ASSIGN_OR_RETURN(auto payload,
                        ZstdRegionReader::Open(source, layout.payload_offset,
                                               layout.payload_size));
  PayloadStats stats;
  IntegrityPool pool(checker,
                     static_cast<int>(std::thread::hardware_concurrency()));
  InitramfsCheck initramfs(header);
  CaStoreCheck ca_store(header.ca_store);
  TrustContentSink observed(sink, device_run.decider.get());
  Status entries = CheckPayload(manifest, *payload, header.created, checker,
                                pool, initramfs, ca_store, observed, stats);
  report.integrity_failures = pool.Finish();
  facts.entries = stats.entries;
  facts.files = stats.files;
  facts.content_bytes = stats.content_bytes;
  IMAB_RETURN_IF_ERROR(
      Record(report, "entries", std::move(entries),
             std::to_string(stats.entries) + " entries match their records"));
  IMAB_RETURN_IF_ERROR(
      Record(report, "ca-store", ca_store.Finish(),
             header.ca_store.has_value()
                 ? std::to_string(header.ca_store->anchors.size()) +
                       " anchors; etc/ssl/certs is what the rules give"
                 : "no CA store declared (left as built elsewhere)"));
  Result<Sha256Digest> payload_digest = payload->Finish();
  IMAB_RETURN_IF_ERROR(Record(
      report, "payload",
      payload_digest.has_value()
          ? CheckPayloadTotals(header, layout.payload_size, *payload_digest)
          : Status(payload_digest.error()),
      "size and SHA-256 match"));
  return Record(
      report, "integrity",
      DescribeIntegrityFailures(report.integrity_failures, stats.files),
      "IMA/EVM signatures of every file verify");
}

// After the stream: what only the content shows for the device, then the
// manifest bytes parsed against the bytes signed.
Status CheckAfterStream(ManifestReader& manifest, DeviceRun& device_run,
                        VerifyReport& report) {
  VerifiedBundle& facts = *report.facts;
  // What only the content shows (programs' libraries, SHA-384/512
  // signatures under the device's keys), before anything is committed.
  if (device_run.decider != nullptr) {
    facts.trust = device_run.decider->FinishContent();
    IMAB_RETURN_IF_ERROR(Record(report, "trust-content",
                                TrustStatus(*facts.trust),
                                facts.trust->Summary()));
  }
  // The reader hashed every byte it parsed: all of them, and the bytes the
  // signature covers.
  Result<Sha256Digest> manifest_digest = manifest.Finish();
  Status same =
      manifest_digest.has_value()
          ? (DigestEquals(*manifest_digest, facts.manifest_sha256)
                 ? OkStatus()
                 : Status(MakeError(ErrorCode::kDigestMismatch,
                                    "manifest changed while being read")))
          : Status(manifest_digest.error());
  return Record(report, "manifest-digest", std::move(same),
                "manifest bytes parsed are the bytes signed");
}

// Everything after the container check; the caller aborts the sink on error.
Status VerifyContents(ByteSource& source, const BundleLayout& layout,
                      const VerifyOptions& options, EntrySink& sink,
                      VerifyReport& report) {
  IMAB_ASSIGN_OR_RETURN(SignedManifest signed_manifest,
                        CheckSignedManifest(source, layout, options, report));
  IMAB_ASSIGN_OR_RETURN(ImaChecker checker,
                        CheckHeaderRules(layout, options, report));
  DeviceRun device_run;
  if (options.trust->device.has_value()) {
    IMAB_RETURN_IF_ERROR(CheckDevice(*signed_manifest.copy.source, options,
                                     *options.trust->device, report,
                                     device_run));
  }
  IMAB_RETURN_IF_ERROR(CheckRequiredCas(options, report));
  // Tree rules and what the kernel would refuse to create, for every
  // record, before the sink erases or writes anything.
  IMAB_RETURN_IF_ERROR(Record(
      report, "installable",
      CheckManifestEntries(*signed_manifest.copy.source, options.path_reserve),
      "every path and xattr can be written below a " +
          std::to_string(options.path_reserve) + "-byte folder"));
  ManifestReader& manifest = *signed_manifest.reader;
  IMAB_RETURN_IF_ERROR(CheckPayloadStream(source, layout, manifest, checker,
                                          device_run, sink, report));
  return CheckAfterStream(manifest, device_run, report);
}

Status VerifyAndCommit(const VerifyOptions& options, EntrySink& sink,
                       VerifyReport& report) {
  if (options.bundle == nullptr || options.trust == nullptr) {
    return MakeError(ErrorCode::kInternal, "no bundle or trust material");
  }
  ByteSource& source = *options.bundle;
  Result<BundleLayout> layout = ReadBundleLayout(source);
  Status shape = layout.has_value() ? OkStatus() : Status(layout.error());
  IMAB_RETURN_IF_ERROR(Record(report, "container", std::move(shape),
                              "three members, canonical headers, exact size"));
  IMAB_RETURN_IF_ERROR(VerifyContents(source, *layout, options, sink, report));
  return sink.Commit();
}

}  // namespace

Result<VerifiedBundle> VerifyBundle(const VerifyOptions& options,
                                    EntrySink& sink, VerifyReport& report) {
  Status status = VerifyAndCommit(options, sink, report);
  if (!status.ok()) {
    sink.Abort();
    return std::move(status).error();
  }
  return *report.facts;
}

}  // namespace imab::verifier
