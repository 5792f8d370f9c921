// TrustMaterial: everything a verification trusts, as data. The main loads
// it once (verifier/load/material_loader.h): the release CA certificates or
// the signed trust root, the CA anchors the device requires (RequiredCas)
// and, for a
// device-aware run, the device's configuration, its installed state and the
// keys and IMA policy it boots with. Nothing below the main opens a file by
// a path it was handed: the verification reads only this and the bundle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/read/ca_policy.h"
#include "verifier/bundle/trust_anchor.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_state.h"
#include "verifier/trust/trust_decision.h"

namespace imab::verifier {

// The device a device-aware run (`verify --root`, `install`) judges for.
struct DeviceMaterial {
  DeviceConfig config;  // ROOT/etc/imabundle/device.conf
  DeviceState state;    // the record judged against (empty: none installed)
  // The certificates and policy `config` names, or the keys `state`
  // recorded for the installed image (LoadDeviceTrust).
  DeviceTrust trust;
  // The slots' ImagePathReserve() for `verify --root`, as the install
  // uses it; 0 when the device has no slots yet.
  size_t path_reserve = 0;
};

// Anchors the new image's CA store must hold (certificate files already
// loaded into fingerprints), and the horizon within which one may not
// expire (needs a clock: skipped with the time check off).
struct RequiredCas {
  std::vector<RequiredAnchor> anchors;
  uint32_t expiry_horizon_days = 365;
};

struct TrustMaterial {
  ReleaseAnchors release;
  // Set for a device-aware run: the trust decision and the rollback and
  // freshness checks then run from the manifest before any payload byte
  // streams, so a refused update writes nothing.
  std::optional<DeviceMaterial> device;
};

}  // namespace imab::verifier
