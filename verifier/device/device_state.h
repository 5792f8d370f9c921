// DeviceState: what the device has installed and the floors that only rise
// (image version, key generation, release trust root), as recorded by the
// last successful install. It is stored with the slot it describes and
// switched together with the active-slot pointer, so that the pointer and
// the state can never disagree (manifests/device.conf.md, "Slots").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/read/result.h"

namespace imab::verifier {

struct DeviceState {
  std::string active_slot;          // "a" or "b"; "" when nothing installed
  std::string image_version;        // of the active slot; "" when empty
  std::string compatible;           // of the active slot's image
  uint64_t key_generation = 0;      // floor: bundles below it are refused
  uint64_t trust_root_version = 0;  // 0: none adopted
  // Exact bytes of the adopted signed trust root (FORMAT.md §8), if any.
  std::optional<std::string> trust_root;
  uint64_t installed_at = 0;  // seconds since the epoch
  std::string bundle_sha256;  // manifest SHA-256 of the installed bundle
  // When `mark-good` confirmed that the image booted (seconds since the
  // epoch; the factory image counts as confirmed at `device init`); 0: not
  // yet. The floors above are final only once this is set: an install
  // is judged only against a confirmed state (manifests/device.conf.md,
  // "Boot confirmation").
  uint64_t confirmed_at = 0;
  // The keys the installed image boots with, as the trust decision
  // predicted them (certificate DERs): the kernel's CAs and what its
  // initramfs loads into .ima and .evm. Empty: the ones device.conf names
  // (the factory image's).
  std::vector<std::string> kernel_cas;
  std::vector<std::string> ima_certs;
  std::vector<std::string> evm_certs;
  // The kernel the installed image boots, when that image shipped one that
  // counted (FORMAT.md §3.3.3): its EVM profile (KernelProfileName) and
  // MAJOR.MINOR. Empty: device.conf's kernel-profile / kernel-version.
  std::string kernel_profile;
  std::string kernel_version;
};

}  // namespace imab::verifier
