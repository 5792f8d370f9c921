#include "builder/bundle_builder.h"

#include <openssl/err.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <vector>

#include "builder/boot_files_scan.h"
#include "builder/digest_signer.h"
#include "builder/ima_setup.h"
#include "builder/manifest_signer.h"
#include "builder/payload_builder.h"
#include "builder/private_keys.h"
#include "builder/rootfs_source.h"
#include "builder/scratch_file.h"
#include "builder/signing_identity.h"
#include "builder/signing_pipeline.h"
#include "common/read/atomic_file.h"
#include "common/read/bundle_container.h"
#include "common/read/bytes.h"
#include "common/read/digest.h"
#include "common/read/failure_list.h"
#include "common/read/ima_xattr.h"
#include "common/read/initramfs.h"
#include "common/read/input_file.h"
#include "common/read/integrity_check.h"
#include "common/read/keyid.h"
#include "common/read/limits.h"
#include "common/read/manifest.h"
#include "common/read/tar_header.h"
#include "common/read/trust_root.h"
#include "common/read/x509_util.h"
#include "common/read/zstd_stream.h"
#include "common/write/asn1_time.h"
#include "common/write/bundle_writer.h"
#include "common/write/dev_keys.h"
#include "common/write/manifest_writer.h"
#include "common/write/zstd_file_writer.h"

namespace imab::builder {
namespace {

// The manifest fields the options set directly: version, name, times.
Status CheckManifestOptions(const BuildOptions& options) {
  IMAB_RETURN_IF_ERROR(CheckImageVersion(options.image_version));
  IMAB_RETURN_IF_ERROR(CheckCompatibleName(options.compatible));
  if (options.created > kTarMaxOctal11) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "creation time " + std::to_string(options.created) +
                         " is past what the format can hold");
  }
  if (options.output.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no output path given");
  }
  if (options.expires.has_value() && options.expires_in_days.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--expires and --expires-in exclude each other");
  }
  const uint64_t expires = options.expires.value_or(
      options.created + options.expires_in_days.value_or(0) * 86400);
  if ((options.expires.has_value() || options.expires_in_days.has_value()) &&
      (expires > kTarMaxOctal11 ||
       options.expires_in_days.value_or(0) > 100000)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "expiry time is past what the format can hold");
  }
  return OkStatus();
}

// Re-signing (--ima-key) and keeping (--keep-signatures) exclude each
// other, and each needs its certificates.
Status CheckImaOptions(const BuildOptions& options) {
  if (options.ima_key.empty() && !options.keep_signatures &&
      !options.initramfs.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--initramfs needs --ima-key (or --keep-signatures): "
                     "the certificates put into the initramfs are the "
                     "signing certificates");
  }
  if (!options.ima_key.empty() && options.keep_signatures) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--ima-key and --keep-signatures exclude each other");
  }
  if (!options.ima_key.empty() && options.ima_certs.size() != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--ima-key needs exactly one --ima-cert, its certificate");
  }
  if (options.keep_signatures && options.ima_certs.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--keep-signatures needs --ima-cert for the certificates "
                     "the kept signatures must verify under");
  }
  if (options.ima_key.empty() &&
      (!options.evm_key.empty() || !options.evm_cert.empty())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--evm-key/--evm-cert need --ima-key");
  }
  return OkStatus();
}

Status CheckOptions(const BuildOptions& options) {
  IMAB_RETURN_IF_ERROR(CheckManifestOptions(options));
  IMAB_RETURN_IF_ERROR(CheckImaOptions(options));
  const CaStoreOptions& ca = options.ca;
  if (ca.keep && (!ca.add.empty() || !ca.remove.empty() || !ca.conf.empty() ||
                  !ca.policy.required.empty() || ca.lenient)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--ca-store keep leaves the store as it is: it excludes "
                     "--ca-add, --ca-remove, --ca-conf, --ca-require and "
                     "--ca-lenient");
  }
  if (options.evm_key.empty() != options.evm_cert.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--evm-key and --evm-cert go together");
  }
  return OkStatus();
}

std::string OutputFolder(const std::string& output) {
  std::filesystem::path parent = std::filesystem::path(output).parent_path();
  return parent.empty() ? "." : parent.string();
}

// Without IMA options, signatures in the input would ship unchecked.
Status RefuseUnmanagedSignatures(const Entry& entry) {
  if (FindXattr(entry, kImaXattr) != nullptr ||
      FindXattr(entry, kEvmXattr) != nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     entry.path +
                         ": carries security.ima/security.evm; re-sign with "
                         "--ima-key or keep them with --keep-signatures "
                         "--ima-cert");
  }
  return OkStatus();
}

// Every --initramfs PATH must have been found in the image.
Status CheckNamedInitramfsFound(const BuildOptions& options,
                                const SigningStats& stats) {
  for (const std::string& path : options.initramfs) {
    bool found =
        std::any_of(stats.initramfs.begin(), stats.initramfs.end(),
                    [&](const InitramfsRewrite& r) { return r.path == path; });
    if (!found) {
      return MakeError(ErrorCode::kInvalidArgument,
                       path +
                           ": no such initramfs (regular file) in the "
                           "image");
    }
  }
  return OkStatus();
}

// Reads the whole rootfs into the payload, re-signing when configured.
Status FillPayload(RootfsSource& source, PayloadBuilder& payload,
                   const BuildOptions& options, const ImaSetup& ima,
                   SigningStats* stats) {
  std::unique_ptr<SigningPipeline> pipeline;
  if (ima.ima_signer != nullptr) {
    SigningConfig config;
    config.ima_signer = ima.ima_signer.get();
    config.evm_signer =
        ima.evm_signer != nullptr ? ima.evm_signer.get() : ima.ima_signer.get();
    config.algo = ima.algo;
    config.profile = ima.section->profile;
    config.exclude = options.ima_exclude;
    config.threads = options.signing_threads;
    config.scratch_folder = OutputFolder(options.output);
    config.initramfs_paths = options.initramfs;
    config.detect_initramfs = options.initramfs.empty();
    // x509_evm.der holds the EVM key's certificate; x509_ima.der the IMA
    // key's when the two differ (else it yields the same certificate).
    IMAB_ASSIGN_OR_RETURN(config.evm_cert_der,
                          CertificateDer(config.evm_signer->certificate()));
    if (ima.evm_signer != nullptr) {
      IMAB_ASSIGN_OR_RETURN(config.ima_cert_der,
                            CertificateDer(ima.ima_signer->certificate()));
    }
    pipeline = std::make_unique<SigningPipeline>(
        config,
        [&payload](PreparedEntry& p) { return payload.AddPrepared(p); });
  }
  while (true) {
    IMAB_ASSIGN_OR_RETURN(std::optional<SourceEntry> next, source.Next());
    if (!next.has_value()) {
      break;
    }
    IMAB_RETURN_IF_ERROR(payload.Admit(next->entry));
    if (pipeline != nullptr) {
      IMAB_RETURN_IF_ERROR(pipeline->Submit(*next));
      continue;
    }
    if (!options.keep_signatures) {
      IMAB_RETURN_IF_ERROR(RefuseUnmanagedSignatures(next->entry));
    }
    IMAB_RETURN_IF_ERROR(payload.AddStreamed(*next));
  }
  if (pipeline != nullptr) {
    IMAB_RETURN_IF_ERROR(pipeline->Finish());
    *stats = pipeline->stats();
    IMAB_RETURN_IF_ERROR(CheckNamedInitramfsFound(options, *stats));
  }
  return payload.Finish();
}

// One key or certificate the build relies on, for the key policy checks.
struct UsedKey {
  std::string file;
  const EVP_PKEY* key;
  const X509* cert;      // null for bare keys
  bool keyring = false;  // loaded into the kernel's .ima/.evm keyring
};

std::vector<UsedKey> KeysInUse(const BuildOptions& options,
                               const SigningIdentity& identity,
                               const ImaSetup& ima) {
  std::vector<UsedKey> keys;
  keys.push_back({options.signing_cert, X509_get0_pubkey(identity.cert.get()),
                  identity.cert.get()});
  for (int i = 0; i < sk_X509_num(identity.chain.get()); ++i) {
    X509* cert = sk_X509_value(identity.chain.get(), i);
    keys.push_back({options.chain, X509_get0_pubkey(cert), cert});
  }
  for (const KeyringCertificate& c : KeyringCertificates(ima, options)) {
    keys.push_back({c.path, X509_get0_pubkey(c.cert), c.cert, true});
  }
  return keys;
}

// An expired certificate is refused, unless the kernel loads it: no
// studied kernel checks the validity dates of .ima/.evm keys, so there it
// is only a warning.
Status CheckExpiry(const UsedKey& used, const KernelTarget& target,
                   Reporter& reporter) {
  if (used.cert == nullptr ||
      X509_cmp_current_time(X509_get0_notAfter(used.cert)) >= 0) {
    return OkStatus();
  }
  const std::string expired = used.file + ": certificate expired " +
                              IsoTime(X509_get0_notAfter(used.cert));
  if (!used.keyring || target.ChecksValidityDates()) {
    return MakeError(ErrorCode::kInvalidArgument, expired);
  }
  reporter.Warn(expired + " (notAfter); kept: kernel " + target.Describe() +
                " ignores the validity dates of .ima/.evm keys");
  return OkStatus();
}

// Refuses published development keys (unless allowed, which marks the
// bundle) and certificates that have already expired (CheckExpiry).
Result<bool> CheckKeyPolicy(const std::vector<UsedKey>& keys,
                            const BuildOptions& options,
                            const KernelTarget& target, Reporter& reporter) {
  std::string extra;
  if (!options.dev_keys_list.empty()) {
    IMAB_ASSIGN_OR_RETURN(
        extra, ReadInputFile(options.dev_keys_list, kMaxKeyFileBytes));
  }
  bool development = false;
  for (const UsedKey& used : keys) {
    IMAB_RETURN_IF_ERROR(CheckExpiry(used, target, reporter));
    IMAB_ASSIGN_OR_RETURN(std::optional<DevKeyMatch> match,
                          FindDevKey(used.key, extra));
    if (!match.has_value()) {
      continue;
    }
    std::string what = used.file + ": a published development key (" +
                       match->kind + ", SPKI SHA-256 " +
                       match->spki_sha256.substr(0, 16) + "..., from " +
                       match->source.substr(0, match->source.find(':')) + ")";
    if (!options.allow_dev_keys) {
      return MakeError(ErrorCode::kPolicyRefused,
                       what + "; refusing without --allow-dev-keys");
    }
    reporter.Warn(what + ": bundle marked development");
    development = true;
  }
  return development;
}

// Loads the trust root to carry and checks it can vouch for this bundle:
// it meets its own threshold and one of its release CAs issued the signer.
Result<std::string> LoadCarriedTrustRoot(const BuildOptions& options,
                                         const SigningIdentity& identity) {
  IMAB_ASSIGN_OR_RETURN(std::string bytes,
                        ReadInputFile(options.trust_root, kMaxTrustRootBytes));
  Result<SignedTrustRoot> root = ParseSignedTrustRoot(bytes);
  if (!root.has_value()) {
    return WithContext(root.error(), options.trust_root);
  }
  Status self = CheckTrustRootSelfSigned(*root);
  if (!self.ok()) {
    return WithContext(std::move(self).error(), options.trust_root);
  }
  for (const std::string& der : root->body.release_cas) {
    // The trust root's parser already held each release CA to the one DER
    // rule; one that still fails cannot have issued the signer.
    Result<Ptr<X509>> parsed = ParseCertificateDer(der, options.trust_root);
    if (!parsed.has_value()) {
      continue;
    }
    Ptr<X509> ca = std::move(*parsed);
    Ptr<X509_STORE> store(X509_STORE_new());
    Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
    X509_STORE_add_cert(store.get(), ca.get());
    if (X509_STORE_CTX_init(ctx.get(), store.get(), identity.cert.get(),
                            identity.chain.get()) == 1 &&
        X509_verify_cert(ctx.get()) == 1) {
      return bytes;
    }
  }
  ERR_clear_error();
  return MakeError(ErrorCode::kInvalidArgument,
                   options.trust_root + ": none of its release CAs issued " +
                       options.signing_cert +
                       "; devices adopting it would reject this bundle");
}

// Kept signatures that do not verify would brick the files they protect;
// the build stops unless told to produce the bundle anyway (for audits and
// tests of the device-side check).
Status JudgeKeptSignatures(const std::vector<IntegrityFailure>& failures,
                           const BuildOptions& options, Reporter& reporter) {
  if (failures.empty()) {
    return OkStatus();
  }
  std::string message = std::to_string(failures.size()) +
                        " kept IMA/EVM signature(s) do not verify: " +
                        ListFirstFailures(failures.size(), [&](size_t i) {
                          return failures[i].path + ": " + failures[i].xattr +
                                 ": " + failures[i].reason;
                        });
  if (!options.allow_unverified) {
    return MakeError(ErrorCode::kBadSignature, message);
  }
  reporter.Warn(message + " (building anyway: --allow-unverified)");
  return OkStatus();
}

// --keep-signatures: the key files found in the image's initramfs must be
// certificates the build declares (--ima-cert), so that the manifest names
// every key the device will load; they go into section keys as they are.
Status AdoptKeptInitramfs(const PayloadBuilder& payload,
                          const BuildOptions& options, const ImaSetup& ima,
                          Reporter& reporter, SigningStats* stats) {
  std::vector<Sha256Digest> declared;
  if (ima.section.has_value()) {
    for (const SigningCertificate& cert : ima.section->certificates) {
      IMAB_ASSIGN_OR_RETURN(Sha256Digest digest, Sha256Of(AsBytes(cert.der)));
      declared.push_back(digest);
    }
  }
  auto is_declared = [&](const Sha256Digest& digest) {
    return std::any_of(
        declared.begin(), declared.end(),
        [&](const Sha256Digest& d) { return DigestEquals(d, digest); });
  };
  for (const InitramfsRewrite& record : payload.kept_initramfs()) {
    if (!is_declared(record.evm_cert_sha256) ||
        (record.ima_cert_sha256.has_value() &&
         !is_declared(*record.ima_cert_sha256))) {
      return MakeError(ErrorCode::kInvalidArgument,
                       record.path +
                           ": a certificate in etc/keys is not "
                           "one of the --ima-cert certificates");
    }
    stats->initramfs.push_back(record);
  }
  for (const std::string& path : payload.unkeyed_initramfs()) {
    reporter.Warn(path +
                  " carries no etc/keys/x509_evm.der: a kernel "
                  "booting it would load no key from it");
  }
  return CheckNamedInitramfsFound(options, *stats);
}

// The kernel CAs the image's kernels must carry, as DER.
Result<std::vector<std::string>> KernelCaDers(const ImaSetup& ima) {
  std::vector<std::string> ders;
  for (const Ptr<X509>& ca : ima.kernel_cas) {
    IMAB_ASSIGN_OR_RETURN(std::string der, CertificateDer(ca.get()));
    ders.push_back(std::move(der));
  }
  return ders;
}

// The manifest's keys section (FORMAT.md §3.3.3) without its kernel lines,
// or nullopt when the build has no keys to declare.
std::optional<KeysSection> MakeKeysSection(
    const BuildOptions& options, const ImaSetup& ima,
    const std::vector<std::string>& kernel_ca_ders, const SigningStats& stats) {
  if (ima.ima_signer == nullptr && ima.kernel_cas.empty() &&
      options.key_generation == 0 && stats.initramfs.empty()) {
    return std::nullopt;
  }
  KeysSection section;
  section.key_generation = options.key_generation;
  section.kernel_cas = kernel_ca_ders;
  for (const InitramfsRewrite& r : stats.initramfs) {
    section.initramfs.push_back({r.path, r.evm_cert_sha256, r.ima_cert_sha256});
  }
  std::sort(section.initramfs.begin(), section.initramfs.end(),
            [](const InitramfsRecord& a, const InitramfsRecord& b) {
              return a.path < b.path;
            });
  return section;
}

// "PATH (MAJOR.MINOR)" for each kernel, for the build summary.
std::vector<std::string> KernelLines(const std::vector<KernelRecord>& kernels) {
  std::vector<std::string> lines;
  for (const KernelRecord& k : kernels) {
    lines.push_back(k.path + " (" + std::to_string(k.major) + "." +
                    std::to_string(k.minor) + ")");
  }
  return lines;
}

// The kernels the image ships are the ones that boot after the update:
// their rules hold too, whatever --kernel-version said.
Status CheckShippedKernels(const ImaSetup& ima, const BuildOptions& options,
                           const std::vector<KernelRecord>& kernels) {
  if (kernels.empty()) {
    return OkStatus();
  }
  std::vector<KernelVersion> versions;
  std::string names;
  for (const KernelRecord& k : kernels) {
    versions.push_back(KernelVersion{k.major, k.minor});
    names += (names.empty() ? "" : ", ") + k.path;
  }
  const KernelTarget shipped = KernelTarget::ForVersions(versions);
  return CheckKeyringCertificates(
      ima, options, shipped,
      "the image's kernel (" + names + ", " + shipped.Describe() + ")");
}

// What the build loads and checks before the payload streams.
struct BuildInputs {
  SigningIdentity identity;
  ImaSetup ima;
  std::string carried_root;            // signed trust root, or empty
  bool development = false;            // a published development key is used
  std::optional<CaStagePlan> ca_plan;  // nullopt: the store stays as it is
  // From ca_plan, which the CA store stage consumes.
  std::optional<CaStoreSection> ca_section;
  std::string ca_summary;
};

// Plans the regenerated CA store (CaStoreStage), unless --ca-store keep.
Result<std::optional<CaStagePlan>> PlanBuildCaStore(const BuildOptions& options,
                                                    Reporter& reporter) {
  if (options.ca.keep) {
    return std::optional<CaStagePlan>();
  }
  CaStoreOptions ca = options.ca;
  if (ca.now == 0) {
    ca.now = static_cast<int64_t>(std::time(nullptr));
  }
  IMAB_ASSIGN_OR_RETURN(std::optional<CaStagePlan> plan,
                        PlanCaStore(options.rootfs, ca, reporter));
  // Kept signatures cannot cover files this build writes.
  if (plan.has_value() && options.keep_signatures) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--keep-signatures: the regenerated CA store would carry "
                     "no IMA/EVM signatures; add --ca-store keep");
  }
  return plan;
}

// The signing identity and IMA/EVM material, checked against the key
// policy, the carried trust root and the CA store plan. `keys` opens the
// private keys and must outlive the result.
Result<BuildInputs> LoadBuildInputs(const BuildOptions& options,
                                    PrivateKeys& keys, Reporter& reporter) {
  BuildInputs in;
  IMAB_ASSIGN_OR_RETURN(
      in.identity, keys.LoadIdentity(options.signing_key, options.signing_cert,
                                     options.chain));
  IMAB_ASSIGN_OR_RETURN(in.ima, LoadImaSetup(options, keys));
  if (!options.trust_root.empty()) {
    IMAB_ASSIGN_OR_RETURN(in.carried_root,
                          LoadCarriedTrustRoot(options, in.identity));
  }
  IMAB_ASSIGN_OR_RETURN(in.development,
                        CheckKeyPolicy(KeysInUse(options, in.identity, in.ima),
                                       options, in.ima.target, reporter));
  IMAB_ASSIGN_OR_RETURN(in.ca_plan, PlanBuildCaStore(options, reporter));
  if (in.ca_plan.has_value()) {
    in.ca_section = in.ca_plan->section;
    in.ca_summary = in.ca_plan->summary;
  }
  return in;
}

// What streaming the rootfs yielded, for the manifest and the summary.
struct StreamedRootfs {
  std::string records;  // the manifest's entry records, in stream order
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t content_bytes = 0;
  SigningStats stats;
  std::optional<KeysSection> keys;        // section keys, kernels included
  std::vector<std::string> kernel_lines;  // KernelLines, for the summary
};

// Every initramfs and kernel a bootloader could use is declared, or the
// devices would judge a boot chain other than the one they boot. The
// kernels found go into section keys and the summary.
Status DeclareBootFiles(const BootFilesScan& boot_files,
                        const BuildOptions& options, const ImaSetup& ima,
                        Reporter& reporter, StreamedRootfs* image) {
  std::vector<std::string> declared_initramfs;
  for (const InitramfsRewrite& r : image->stats.initramfs) {
    declared_initramfs.push_back(r.path);
  }
  IMAB_ASSIGN_OR_RETURN(
      std::vector<KernelRecord> kernels,
      boot_files.Finish(declared_initramfs,
                        image->keys.has_value() || ima.section.has_value(),
                        reporter));
  IMAB_RETURN_IF_ERROR(CheckShippedKernels(ima, options, kernels));
  image->kernel_lines = KernelLines(kernels);
  if (image->keys.has_value()) {
    image->keys->kernels = std::move(kernels);
  }
  return OkStatus();
}

// Streams the rootfs (with the CA store spliced in, boot files scanned)
// into `writer` as payload.tar.zst, re-signing or checking IMA/EVM
// signatures as configured, then judges the kept signatures and the boot
// chain. Consumes inputs.ca_plan.
Result<StreamedRootfs> StreamRootfs(const BuildOptions& options,
                                    BuildInputs& inputs, ZstdFileWriter& writer,
                                    Reporter& reporter) {
  IMAB_ASSIGN_OR_RETURN(auto source, OpenRootfs(options.rootfs, reporter));
  if (inputs.ca_plan.has_value()) {
    source = WrapWithCaStore(std::move(source), std::move(*inputs.ca_plan));
  }
  IMAB_ASSIGN_OR_RETURN(std::vector<std::string> kernel_ca_ders,
                        KernelCaDers(inputs.ima));
  BootFilesScan boot_files(kernel_ca_ders);
  source = boot_files.Wrap(std::move(source));
  std::optional<ImaChecker> kept;
  if (options.keep_signatures) {
    IMAB_ASSIGN_OR_RETURN(kept, ImaChecker::Create(inputs.ima.section));
  }
  PayloadBuilder payload(writer, options.created,
                         kept.has_value() ? &*kept : nullptr);
  if (options.keep_signatures) {
    payload.RecordKeptInitramfs(options.initramfs);
  }
  StreamedRootfs image;
  IMAB_RETURN_IF_ERROR(
      FillPayload(*source, payload, options, inputs.ima, &image.stats));
  if (options.keep_signatures) {
    IMAB_RETURN_IF_ERROR(AdoptKeptInitramfs(payload, options, inputs.ima,
                                            reporter, &image.stats));
  }
  IMAB_RETURN_IF_ERROR(
      JudgeKeptSignatures(payload.failures(), options, reporter));
  if (payload.entries() > kMaxEntries) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "rootfs has more entries than the format allows");
  }
  image.keys =
      MakeKeysSection(options, inputs.ima, kernel_ca_ders, image.stats);
  IMAB_RETURN_IF_ERROR(
      DeclareBootFiles(boot_files, options, inputs.ima, reporter, &image));
  image.records = std::move(payload.records());
  image.entries = payload.entries();
  image.files = payload.files();
  image.content_bytes = payload.content_bytes();
  return image;
}

ManifestHeader MakeManifestHeader(const BuildOptions& options,
                                  const BuildInputs& inputs,
                                  const ZstdFileWriter& writer,
                                  const StreamedRootfs& image) {
  ManifestHeader header;
  header.image_version = options.image_version;
  header.compatible = options.compatible;
  header.created = options.created;
  header.payload_size = writer.compressed_size();
  header.payload_sha256 = writer.compressed_sha256();
  header.entry_count = image.entries;
  header.ima = inputs.ima.section;
  header.development = inputs.development;
  header.trust_root = inputs.carried_root;
  if (options.expires.has_value()) {
    header.expires = options.expires;
  } else if (options.expires_in_days.has_value()) {
    header.expires = options.created + *options.expires_in_days * 86400;
  }
  header.ca_store = inputs.ca_section;
  header.keys = image.keys;
  return header;
}

// The header, the entry records and the end line, within
// kMaxManifestBytes. Takes `records` over: only the manifest outlives the
// call.
Result<std::string> AssembleManifest(const ManifestHeader& header,
                                     std::string records) {
  std::string manifest;
  manifest.reserve(records.size() + 4096);
  AppendManifestHeader(header, &manifest);
  manifest += records;
  AppendManifestEnd(&manifest);
  if (manifest.size() > kMaxManifestBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "manifest would exceed " +
                         std::to_string(kMaxManifestBytes) + " bytes");
  }
  return manifest;
}

BuildSummary MakeSummary(const BuildInputs& inputs, const StreamedRootfs& image,
                         const std::string& manifest,
                         const std::vector<uint8_t>& signature,
                         uint64_t payload_size) {
  BuildSummary summary;
  summary.entries = image.entries;
  summary.files = image.files;
  summary.content_bytes = image.content_bytes;
  summary.payload_bytes = payload_size;
  summary.bundle_bytes = 3 * kTarBlockBytes + manifest.size() +
                         TarPadding(manifest.size()) + signature.size() +
                         TarPadding(signature.size()) + payload_size +
                         TarPadding(payload_size) + kTarEndBytes;
  summary.development = inputs.development;
  summary.ca_store = inputs.ca_summary;
  for (const InitramfsRewrite& r : image.stats.initramfs) {
    summary.initramfs.push_back(r.path);
  }
  summary.kernels = image.kernel_lines;
  summary.signed_files = image.stats.signed_files;
  summary.excluded_files = image.stats.excluded_files;
  summary.replaced_keyids = image.stats.replaced;
  const ImaSetup& ima = inputs.ima;
  if (ima.ima_signer != nullptr) {
    summary.new_keyids.push_back(KeyIdHex(ima.ima_signer->keyid()));
    if (ima.evm_signer != nullptr) {
      summary.new_keyids.push_back(KeyIdHex(ima.evm_signer->keyid()));
    }
  }
  return summary;
}

}  // namespace

Result<BuildSummary> BuildBundle(const BuildOptions& options,
                                 Reporter& reporter) {
  IMAB_RETURN_IF_ERROR(CheckOptions(options));
  // Declared first so token sessions outlive every key that uses them.
  PrivateKeys keys(options.pkcs11_module);
  IMAB_ASSIGN_OR_RETURN(BuildInputs inputs,
                        LoadBuildInputs(options, keys, reporter));
  IMAB_ASSIGN_OR_RETURN(AtomicFile output, AtomicFile::Create(options.output));
  IMAB_ASSIGN_OR_RETURN(UniqueFd payload_fd,
                        CreateScratchFile(OutputFolder(options.output)));
  IMAB_ASSIGN_OR_RETURN(
      auto writer, ZstdFileWriter::Create(payload_fd.get(), options.zstd_level,
                                          options.workers));
  IMAB_ASSIGN_OR_RETURN(StreamedRootfs image,
                        StreamRootfs(options, inputs, *writer, reporter));
  const ManifestHeader header =
      MakeManifestHeader(options, inputs, *writer, image);
  IMAB_ASSIGN_OR_RETURN(std::string manifest,
                        AssembleManifest(header, std::move(image.records)));
  IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> signature,
                        SignManifest(manifest, inputs.identity));
  IMAB_RETURN_IF_ERROR(WriteBundle(output.fd(), manifest, signature,
                                   payload_fd.get(), header.payload_size,
                                   options.created));
  IMAB_RETURN_IF_ERROR(output.Commit());
  return MakeSummary(inputs, image, manifest, signature, header.payload_size);
}

}  // namespace imab::builder
