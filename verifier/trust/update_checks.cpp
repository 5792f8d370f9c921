#include "verifier/trust/update_checks.h"

#include <ctime>
#include <functional>
#include <memory>

#include "common/read/manifest_reader.h"

namespace imab::verifier {
namespace {

std::string IsoTime(uint64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

Status CheckCompatible(const ManifestHeader& header,
                       const DeviceConfig& config) {
  if (header.compatible != config.compatible) {
    return MakeError(ErrorCode::kIncompatible,
                     "bundle is for '" + header.compatible +
                         "', this device is '" + config.compatible + "'");
  }
  return OkStatus();
}

Status CheckNotRollback(const ManifestHeader& header, const DeviceState& state,
                        bool allow_reinstall) {
  if (!state.image_version.empty()) {
    int order = CompareImageVersions(header.image_version, state.image_version);
    if (order < 0 || (order == 0 && !allow_reinstall)) {
      return MakeError(
          ErrorCode::kRollback,
          "image version " + header.image_version +
              (order < 0 ? " is older than" : " equals") +
              " the installed version " + state.image_version +
              (order == 0 ? " (--allow-reinstall accepts it)" : ""));
    }
  }
  const uint64_t generation =
      header.keys.has_value() ? header.keys->key_generation : 0;
  if (generation < state.key_generation) {
    return MakeError(ErrorCode::kRollback,
                     "key generation " + std::to_string(generation) +
                         " is below the device's floor " +
                         std::to_string(state.key_generation) +
                         ": its keys were retired");
  }
  return OkStatus();
}

Status CheckNotExpired(const ManifestHeader& header, uint64_t now) {
  if (header.expires.has_value() && *header.expires <= now) {
    return MakeError(ErrorCode::kRollback,
                     "manifest expired at " + IsoTime(*header.expires));
  }
  return OkStatus();
}

namespace {

// Reads the manifest at [offset, offset+size) of `source` once more,
// handing every entry to `consider`; the bytes must hash to
// `signed_sha256`.
Status ForEachEntry(ByteSource& source, uint64_t offset, uint64_t size,
                    const Sha256Digest& signed_sha256,
                    const std::function<void(const Entry&)>& consider) {
  IMAB_ASSIGN_OR_RETURN(std::unique_ptr<ManifestReader> manifest,
                        ManifestReader::Open(source, offset, size));
  while (true) {
    IMAB_ASSIGN_OR_RETURN(std::optional<Entry> entry, manifest->Next());
    if (!entry.has_value()) {
      break;
    }
    consider(*entry);
  }
  IMAB_ASSIGN_OR_RETURN(Sha256Digest digest, manifest->Finish());
  if (!DigestEquals(digest, signed_sha256)) {
    return MakeError(ErrorCode::kDigestMismatch,
                     "manifest changed while being read");
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<TrustDecider>> DecideUpdateTrust(
    ByteSource& source, uint64_t offset, uint64_t size,
    const Sha256Digest& signed_sha256, const ManifestHeader& header,
    const DeviceTrust& device) {
  // A device without an initramfs loads the image's /etc/keys: which
  // certificates those are must be known before the first file is judged,
  // so the manifest is read once more for them first.
  std::optional<RootfsKeys> rootfs;
  if (device.boots_without_initramfs) {
    std::vector<const X509*> loaded;
    for (const auto* certs : {&device.ima_certs, &device.evm_certs}) {
      for (const Ptr<X509>& cert : *certs) {
        loaded.push_back(cert.get());
      }
    }
    RootfsKeysFinder finder(header, loaded);
    IMAB_RETURN_IF_ERROR(ForEachEntry(source, offset, size, signed_sha256,
                                      [&](const Entry& e) { finder.Add(e); }));
    rootfs = finder.Finish();
  }
  IMAB_ASSIGN_OR_RETURN(
      std::unique_ptr<TrustDecider> decider,
      TrustDecider::Create(header, device,
                           rootfs.has_value() ? &*rootfs : nullptr));
  IMAB_RETURN_IF_ERROR(
      ForEachEntry(source, offset, size, signed_sha256,
                   [&](const Entry& e) { decider->Consider(e); }));
  return decider;
}

}  // namespace imab::verifier
