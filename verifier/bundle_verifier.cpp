#include "verifier/bundle_verifier.h"

#include <ctime>
#include <thread>
#include <vector>

#include "common/bundle_container.h"
#include "common/hex.h"
#include "common/manifest_reader.h"
#include "common/zstd_stream.h"
#include "verifier/integrity_pool.h"
#include "verifier/payload_stream.h"
#include "verifier/trust_anchor.h"
#include "verifier/update_checks.h"

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
    return MakeError(ErrorCode::kDigestMismatch,
                     "payload SHA-256 " + HexEncode(digest) +
                         " differs from the manifest");
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
  std::string message = std::to_string(failures.size()) +
                        " IMA/EVM check(s) failed over " +
                        std::to_string(files) + " files: ";
  constexpr size_t kListed = 10;
  for (size_t i = 0; i < failures.size() && i < kListed; ++i) {
    const IntegrityFailure& f = failures[i];
    message += (i == 0 ? "" : "; ") + f.path + ": " + f.xattr + ": " +
               f.reason;
  }
  if (failures.size() > kListed) {
    message += "; and " + std::to_string(failures.size() - kListed) +
               " more (see --json)";
  }
  return MakeError(ErrorCode::kBadSignature, message);
}

// The device-aware checks, from the manifest alone, before any payload
// byte reaches the sink.
Status CheckDevice(ByteSource& source, const BundleLayout& layout,
                   const VerifyOptions& options,
                   const Sha256Digest& signed_sha256, VerifyReport& report) {
  const ManifestHeader& header = report.header;
  const DeviceConfig& config = *options.device;
  IMAB_RETURN_IF_ERROR(Record(report, "compatible",
                              CheckCompatible(header, config),
                              "bundle is for " + config.compatible));
  if (options.device_state == nullptr) {
    return MakeError(ErrorCode::kInternal, "device state not loaded");
  }
  const DeviceState& state = *options.device_state;
  IMAB_RETURN_IF_ERROR(Record(
      report, "rollback",
      CheckNotRollback(header, state, options.allow_reinstall),
      state.image_version.empty()
          ? "nothing installed yet"
          : "version " + header.image_version + " after " +
                state.image_version + ", key generation floor " +
                std::to_string(state.key_generation)));
  Result<DeviceTrust> device = LoadDeviceTrust(config, *options.device_state);
  if (!device.has_value()) {
    return device.error();
  }
  device->in_place = device->in_place || options.in_place;
  Result<TrustVerdict> verdict =
      DecideUpdateTrust(source, layout.manifest_offset, layout.manifest_size,
                        signed_sha256, header, *device);
  if (!verdict.has_value()) {
    return Record(report, "trust-decision", Status(verdict.error()), "");
  }
  report.trust = std::move(*verdict);
  const TrustVerdict& decided = *report.trust;
  return Record(report, "trust-decision",
                decided.accepted()
                    ? OkStatus()
                    : Status(MakeError(ErrorCode::kUntrusted,
                                       "the device could not trust this "
                                       "update after reboot: " +
                                           decided.Summary())),
                decided.Summary());
}

// Everything after the container check; the caller aborts the sink on error.
Status VerifyContents(ByteSource& source, const BundleLayout& layout,
                      const VerifyOptions& options, EntrySink& sink,
                      VerifyReport& report) {
  if (options.release_ca.empty() == options.trust_root.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "give either --release-ca or --trust-root");
  }
  Result<AnchorDecision> decided =
      DecideAnchors(options.release_ca, options.trust_root, source,
                  layout.manifest_offset, layout.manifest_size);
  if (!decided.has_value() &&
      decided.error().code == ErrorCode::kInvalidArgument) {
    return decided.error();
  }
  IMAB_RETURN_IF_ERROR(Record(
      report, "trust-root",
      decided.has_value() ? OkStatus() : Status(decided.error()),
      decided.has_value() ? decided->detail : ""));
  const ReleaseTrust& trust = decided->anchors;
  report.trust_root_version = decided->effective_version;
  std::vector<uint8_t> signature(layout.signature_size);
  IMAB_RETURN_IF_ERROR(source.ReadAt(layout.signature_offset, signature));
  Result<VerifiedSignature> verified = VerifyManifestSignature(
      source, layout.manifest_offset, layout.manifest_size, signature, trust,
      options.signature);
  IMAB_RETURN_IF_ERROR(Record(
      report, "signature",
      verified.has_value() ? OkStatus() : Status(verified.error()),
      verified.has_value() ? "signed by " + verified->signer_subject : ""));
  report.signer = verified->signer_subject;
  report.manifest_sha256 = verified->manifest_sha256;

  auto manifest = ManifestReader::Open(source, layout.manifest_offset,
                                       layout.manifest_size);
  IMAB_RETURN_IF_ERROR(Record(
      report, "manifest",
      manifest.has_value() ? OkStatus() : Status(manifest.error()),
      "header parsed"));
  report.header = (*manifest)->header();
  report.manifest_parsed = true;
  const ManifestHeader& header = report.header;
  // The root checked before the signature must be the one the signed
  // manifest carries (the file could have changed between the reads).
  if (!options.trust_root.empty() &&
      decided->carried_root.value_or("") != header.trust_root) {
    return Record(report, "trust-root",
                  MakeError(ErrorCode::kBadSignature,
                            "trust root changed between reads"),
                  "");
  }
  if (!header.trust_root.empty() && !options.trust_root.empty()) {
    report.adopt_trust_root = header.trust_root;
  }
  if (header.payload_size != layout.payload_size) {
    return Record(report, "payload",
                  MakeError(ErrorCode::kMalformed,
                            "payload member is " +
                                std::to_string(layout.payload_size) +
                                " bytes, the manifest says " +
                                std::to_string(header.payload_size)),
                  "");
  }

  // A development bundle is signed with keys anyone can download.
  IMAB_RETURN_IF_ERROR(Record(
      report, "development",
      header.development && !options.allow_development
          ? Status(MakeError(ErrorCode::kKeyRevoked,
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
      header.ima.has_value()
          ? std::to_string(header.ima->certificates.size()) +
                " signing certificate(s) declared"
          : "no IMA/EVM signatures declared"));
  IMAB_RETURN_IF_ERROR(Record(
      report, "expiry",
      options.signature.check_time
          ? CheckNotExpired(header, static_cast<uint64_t>(std::time(nullptr)))
          : OkStatus(),
      !header.expires.has_value()  ? "no expiry"
      : options.signature.check_time ? "not expired"
                                     : "expiry not checked (no clock)"));
  if (options.device != nullptr) {
    IMAB_RETURN_IF_ERROR(CheckDevice(source, layout, options,
                                     verified->manifest_sha256, report));
  }
  // A device whose update server's CA is gone can never update again:
  // decided from the signed section before anything is written.
  IMAB_ASSIGN_OR_RETURN(std::vector<RequiredAnchor> required,
                        ResolveRequiredAnchors(options.ca.required));
  std::optional<int64_t> now;
  if (options.signature.check_time) {
    now = static_cast<int64_t>(std::time(nullptr));
  }
  IMAB_RETURN_IF_ERROR(
      Record(report, "ca-required",
             CheckRequiredAnchors(header.ca_store, required,
                                  options.ca.expiry_horizon_days, now,
                                  ErrorCode::kKeyRevoked),
             std::to_string(required.size()) + " required CA(s) present" +
                 (now.has_value()
                      ? " beyond the " +
                            std::to_string(options.ca.expiry_horizon_days) +
                            "-day horizon"
                      : " (no time check)")));
  IMAB_RETURN_IF_ERROR(sink.Start(header));
  IMAB_ASSIGN_OR_RETURN(auto payload,
                        ZstdRegionReader::Open(source, layout.payload_offset,
                                               layout.payload_size));
  PayloadStats stats;
  IntegrityPool pool(*integrity,
                     static_cast<int>(std::thread::hardware_concurrency()));
  InitramfsCheck initramfs(header);
  CaStoreCheck ca_store(header.ca_store);
  Status entries =
      CheckPayload(**manifest, *payload, header.created, *integrity, pool,
                   initramfs, ca_store, sink, stats);
  report.integrity_failures = pool.Finish();
  report.entries = stats.entries;
  report.files = stats.files;
  report.content_bytes = stats.content_bytes;
  IMAB_RETURN_IF_ERROR(Record(report, "entries", std::move(entries),
                              std::to_string(stats.entries) +
                                  " entries match their records"));

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

  IMAB_RETURN_IF_ERROR(Record(report, "integrity",
                              DescribeIntegrityFailures(
                                  report.integrity_failures, stats.files),
                              "IMA/EVM signatures of every file verify"));

  // The manifest was read twice (signature, then parsing); both reads must
  // have seen the same bytes, or the file changed under us.
  Result<Sha256Digest> manifest_digest = (*manifest)->Finish();
  Status same = manifest_digest.has_value()
                    ? (DigestEquals(*manifest_digest,
                                    verified->manifest_sha256)
                           ? OkStatus()
                           : Status(MakeError(
                                 ErrorCode::kDigestMismatch,
                                 "manifest changed while being read")))
                    : Status(manifest_digest.error());
  return Record(report, "manifest-digest", std::move(same),
                "manifest bytes parsed are the bytes signed");
}

}  // namespace

Status VerifyBundle(const VerifyOptions& options, EntrySink& sink,
                    VerifyReport& report) {
  IMAB_ASSIGN_OR_RETURN(auto source,
                        FileByteSource::Open(options.bundle_path));
  Result<BundleLayout> layout = ReadBundleLayout(*source);
  Status shape = layout.has_value() ? OkStatus() : Status(layout.error());
  Status recorded = Record(report, "container", std::move(shape),
                           "three members, canonical headers, exact size");
  if (!recorded.ok()) {
    sink.Abort();
    return recorded;
  }
  Status status = VerifyContents(*source, *layout, options, sink, report);
  if (!status.ok()) {
    sink.Abort();
    return status;
  }
  Status committed = sink.Commit();
  if (!committed.ok()) {
    sink.Abort();
  }
  return committed;
}

}  // namespace imab::verifier
