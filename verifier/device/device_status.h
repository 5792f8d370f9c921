// DeviceStatus: what `imab-verify status` reports about a device: the
// active slot, each slot's image, the keys and floors in force, the last
// install attempt, and whether pointer, states and slots agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/read/result.h"
#include "verifier/boot/bootloader.h"
#include "verifier/device/boot_control.h"
#include "verifier/device/device_state.h"
#include "verifier/device/last_result.h"

namespace imab::verifier {

struct SlotStatus {
  std::string name;  // "a" or "b"
  bool active = false;
  std::optional<DeviceState> state;  // nullopt: empty (no complete image)
  // What the boot loader says of it; nullopt without one (or unreadable).
  std::optional<BootSlotStatus> boot;
  // slots = block: "SPELLING -> /dev/PATH", or SPELLING and why it was not
  // found; "" for directory slots.
  std::string device;
};

// The boot side of status (manifests/device.conf.md, "Boot confirmation").
struct BootReport {
  std::string bootloader = "none";  // BootloaderName
  std::string booted_slot;          // from ROOT/proc/cmdline; "" unknown
  std::string primary_slot;         // the boot loader's first; "" none
  // A fallback the boot loader took that no command handled yet, and the
  // last one handled (STATE/last-fallback).
  std::optional<Fallback> fallback;
  std::optional<Fallback> last_fallback;
};

struct KeyInUse {
  std::string keyring;  // "ima" or "evm"
  std::string path;     // certificate file, relative to ROOT
  std::string keyid;    // 8 hex digits, or "" when it cannot be computed
  std::string problem;  // why not ("" when keyid is set)
};

struct DeviceStatus {
  std::string root;
  std::string compatible;         // from the configuration
  std::string active_slot;        // "a" or "b"
  std::vector<SlotStatus> slots;  // a, then b
  std::vector<KeyInUse> keys;     // IMA then EVM certificates
  uint64_t key_generation_floor = 0;
  uint64_t trust_root_version = 0;  // 0: none adopted
  std::optional<LastResult> last_result;
  bool install_running = false;              // the install lock is held now
  std::vector<std::string> problems;         // empty: consistent
  std::vector<std::string> pending_cleanup;  // left by an interrupted run
  BootReport boot;

  bool consistent() const { return problems.empty(); }
};

// Reads the configuration and slots of the device at `root` without
// changing anything. kInvalidArgument when the device is not initialised;
// a damaged slot record or pointer does not fail the call but is listed in
// `problems` (status must work on a broken device).
Result<DeviceStatus> ReadDeviceStatus(const std::string& root);

}  // namespace imab::verifier
