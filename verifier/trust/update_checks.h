// The checks a device-aware run (`verify --root`, `install`) adds before
// any payload byte streams: the bundle is for this device, newer than what
// is installed, not below the key-generation floor, not expired, and the
// post-update trust decision accepts it.
#pragma once

#include <cstdint>
#include <memory>

#include "common/read/byte_source.h"
#include "common/read/digest.h"
#include "common/read/manifest.h"
#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_state.h"
#include "verifier/trust/trust_decision.h"

namespace imab::verifier {

// kIncompatible when the bundle names another device.
Status CheckCompatible(const ManifestHeader& header,
                       const DeviceConfig& config);

// kRollback: image version not above the installed one (equal allowed with
// `allow_reinstall`), key generation below the device's floor.
Status CheckNotRollback(const ManifestHeader& header, const DeviceState& state,
                        bool allow_reinstall);

// kRollback when the manifest's `expires` is at or before `now`.
Status CheckNotExpired(const ManifestHeader& header, uint64_t now);

// Reads the manifest at [offset, offset+size) of `source` a second time,
// feeding every entry to a TrustDecider, and returns it: its Finish() is
// the verdict from the manifest, its FinishContent() the one after the
// payload streamed. `header` and `device` are borrowed by it. For a device
// that boots without an initramfs the manifest is read once more before
// that, for the image's /etc/keys certificates (RootfsKeysFinder). The
// bytes read must hash to `signed_sha256` (the verified signature's), or
// the file changed under us: kDigestMismatch.
Result<std::unique_ptr<TrustDecider>> DecideUpdateTrust(
    ByteSource& source, uint64_t offset, uint64_t size,
    const Sha256Digest& signed_sha256, const ManifestHeader& header,
    const DeviceTrust& device);

}  // namespace imab::verifier
