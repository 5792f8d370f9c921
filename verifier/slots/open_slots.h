// OpenSlots: the slot backend device.conf asks for (`slots = directory`
// in slots-dir, `slots = block` on two partitions with their state in
// state-dir), resolved beneath the device's ROOT.
#pragma once

#include <memory>

#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/slots/slot_backend.h"

namespace imab::verifier {

class Bootloader;

// Opens the existing slots of `config`. `bootloader` (borrowed, may be
// null for bootloader = none) is told about every slot switch as
// SlotBackend describes. kInvalidArgument ("slots not initialised: ...")
// when the slots were never created.
Result<std::unique_ptr<SlotBackend>> OpenSlots(const DeviceConfig& config,
                                               Bootloader* bootloader);

}  // namespace imab::verifier
