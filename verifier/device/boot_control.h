// Boot confirmation: what the device does once a slot has booted, or
// failed to (manifests/device.conf.md, "Boot confirmation"). The active
// pointer, the slot records and the boot loader are brought back into
// agreement after a fallback; `mark-good` confirms the booted slot (its
// floors become final), `mark-bad` gives it up for the other slot,
// `mark-active` chooses the slot the next boot starts. An install asks
// CheckInstallStart() before it touches anything.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/read/reporter.h"
#include "common/read/result.h"
#include "verifier/boot/bootloader.h"
#include "verifier/device/device_config.h"
#include "verifier/device/device_state.h"
#include "verifier/device/install_lock.h"
#include "verifier/slots/slot_backend.h"

namespace imab::verifier {

// Name of the fallback record in the state folder (beside last-result).
inline constexpr const char* kLastFallbackFileName = "last-fallback";

// The boot loader started `to` because `from`, the slot the active
// pointer named, failed to boot.
struct Fallback {
  SlotId from = SlotId::kA;
  SlotId to = SlotId::kB;
  uint64_t time = 0;  // when it was noticed (seconds since the epoch)
};

// "fell back from b to a".
std::string DescribeFallback(const Fallback& fallback);

// A fallback the boot loader took and no command has handled yet: the
// booted slot is known and differs from the active pointer's, and the boot
// loader no longer starts the pointer's slot (not bootable) or starts the
// booted one first. nullopt without a boot loader (nothing falls back) or
// when nothing happened. kIo when the pointer or the boot loader's
// variables cannot be read.
Result<std::optional<Fallback>> DetectFallback(const SlotBackend& slots,
                                               const Bootloader* bootloader,
                                               std::optional<SlotId> booted);

// STATE/last-fallback: "from X", "to Y", "time N"; nullopt when no
// fallback was ever recorded. kIo when damaged.
Result<std::optional<Fallback>> ReadLastFallback(const std::string& state_dir);

// What a command changing slots needs (the caller holds the install lock).
struct BootContext {
  const DeviceConfig& config;
  SlotBackend& slots;
  Bootloader* bootloader;        // null for bootloader = none
  std::optional<SlotId> booted;  // from ROOT/proc/cmdline
};

// Handles a fallback DetectFallback() finds: records it in
// STATE/last-fallback, marks the failed slot bad, makes the booted one
// primary and re-points `active` to it, then runs hook-on-fallback (its
// failure is a warning). Returns the fallback, nullopt when none.
Result<std::optional<Fallback>> NoticeFallback(const BootContext& context,
                                               uint64_t now,
                                               Reporter& reporter);

// Before an install touches anything (after NoticeFallback): the slot it
// is judged against and writes beside. With the booted slot known, it
// must be the active one (else an update waits for its reboot:
// kInvalidArgument "slot X waits for a reboot ...") and, when it holds an
// image, that image must be confirmed (kInvalidArgument "the booted slot X
// is not confirmed ..."). Without it the active pointer stands in for the
// booted slot, confirmed or not (today's directory devices).
Status CheckInstallStart(const BootContext& context);

// The record a bundle is judged against, and an install writes beside:
// the active slot's once CheckInstallStart() lets an install start, with
// a fallback DetectFallback() finds taken in thought only (the booted
// slot's record, which must hold an image; nothing is written). Prepare
// calls it after NoticeFallback(), `verify --root` without, so that both
// judge against the same floors. DeviceState{} for an empty slot.
Result<DeviceState> StateToJudgeAgainst(const BootContext& context);

// The slot the boot-confirmation commands act on: the booted one; with
// no boot loader and nothing on the command line, the active one.
// kInvalidArgument when a boot loader is configured and the command line
// names no slot.
Result<SlotId> SlotToConfirm(const BootContext& context);

// What a boot command did, for its report.
struct BootChange {
  SlotId slot = SlotId::kA;          // the slot marked (good, bad or active)
  std::optional<Fallback> fallback;  // handled on the way
  std::optional<DeviceState> state;  // `slot`'s record afterwards
  bool already = false;              // nothing needed changing
};

// mark-good: the booted slot, which must hold a complete image
// (kInvalidArgument otherwise), is marked good in the boot loader and
// its record gets confirmed_at = `now` (kept when set already).
Result<BootChange> MarkGood(const BootContext& context, uint64_t now,
                            Reporter& reporter);

// mark-bad: the boot loader never starts the booted slot again and starts
// the other first; `active` names the other, which must hold a complete
// image (kInvalidArgument otherwise, nothing changed). Records are kept.
Result<BootChange> MarkBad(const BootContext& context, uint64_t now,
                           Reporter& reporter);

// mark-active: `slot`, which must hold a complete image, is started first
// by the next boot (SetPrimary) and named by `active`.
Result<BootChange> MarkActive(const BootContext& context, SlotId slot,
                              uint64_t now, Reporter& reporter);

}  // namespace imab::verifier
