// The boot keys `device init` takes (device.conf's "Slots" and
// "Bootloader" sections): its named options (--bootloader, --grubenv, ...)
// and its `--set KEY=VALUE` lines, a --set winning.
#pragma once

#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_init.h"

namespace imab::verifier {

// Reads the options' boot keys into `config.boot` through the device.conf
// parser itself, over the configuration so far, so that they are checked
// together as a device's file would be. kInvalidArgument for a key outside
// those sections or a value the parser refuses; `config` is unchanged
// then.
Status ApplyBootSettings(const InitOptions& options, DeviceConfig& config);

}  // namespace imab::verifier
