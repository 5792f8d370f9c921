// BootedSlot: which slot the running system was started from, as the
// kernel command line tells (ROOT/proc/cmdline; under --root a test plays
// a boot by writing that file). Read by install (it must never write the
// running slot), by the boot-confirmation commands and by status
// (manifests/device.conf.md, "Boot confirmation").
#pragma once

#include <optional>
#include <string_view>

#include "common/read/result.h"
#include "verifier/device/device_config.h"
#include "verifier/slots/slot_backend.h"

namespace imab::verifier {

// Upper bound on the command line read (the kernel's own limit,
// COMMAND_LINE_SIZE, is at most a few KiB on every architecture).
inline constexpr size_t kMaxCmdlineBytes = 64 * 1024;

// The slot `cmdline` names: `imab.slot=a|b` first (any slot kind); with
// slots = block then `rauc.slot=A|B`, then `root=` (the last one, as the
// kernel takes it) matched against the spelling of slot-a / slot-b in
// device.conf (`PARTUUID=` case-insensitively, `PARTLABEL=` and `/dev/...`
// exactly). nullopt when nothing names a slot.
std::optional<SlotId> BootedSlotFromCmdline(std::string_view cmdline,
                                            const BootSetup& boot);

// BootedSlotFromCmdline of ROOT/proc/cmdline, read beneath ROOT with a
// kMaxCmdlineBytes cap. nullopt when the file does not exist or names no
// slot; kIo when it exists but cannot be read.
Result<std::optional<SlotId>> ReadBootedSlot(const DeviceConfig& config);

}  // namespace imab::verifier
