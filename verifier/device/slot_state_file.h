// The slot state file: the text form of a DeviceState, stored beside the
// slot it describes (manifests/device.conf.md, "Slots").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/read/result.h"
#include "verifier/device/device_state.h"

namespace imab::verifier {

// Upper bound on a state file: the trust root (kMaxTrustRootBytes, 256 KiB)
// hex-encoded plus a few short lines.
inline constexpr size_t kMaxSlotStateBytes = 600u * 1024;

// Canonical text of `state`: one "key value" line per field in a fixed
// order between "imabundle-slot-state 1" and "end".
std::string EncodeSlotState(const DeviceState& state);

// Strict parse of what EncodeSlotState wrote. The file is the device's own,
// but a damaged one must never read as a weaker state (a lower floor), so
// any deviation is refused: kIo "WHERE line N: ..." (a damaged device file
// is an I/O problem for the caller, not a verdict on a bundle).
Result<DeviceState> ParseSlotState(std::string_view text,
                                   const std::string& where);

// The state file at `path` of the slot named `slot_name` ("a", "b"):
// nullopt when there is none (the slot holds no complete image). kIo when
// it is damaged or records another slot (a copy would describe another
// image).
Result<std::optional<DeviceState>> ReadSlotStateFile(const std::string& path,
                                                     const char* slot_name);

}  // namespace imab::verifier
