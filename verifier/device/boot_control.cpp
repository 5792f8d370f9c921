#include "verifier/device/boot_control.h"

#include <charconv>

#include "common/read/atomic_file.h"
#include "verifier/device/hooks.h"
#include "verifier/device/small_file.h"

namespace imab::verifier {
namespace {

constexpr size_t kMaxFallbackBytes = 4096;

std::string EncodeFallback(const Fallback& fallback) {
  return std::string("from ") + SlotName(fallback.from) + "\nto " +
         SlotName(fallback.to) + "\ntime " + std::to_string(fallback.time) +
         "\n";
}

Result<SlotId> ParseSlotLetter(std::string_view text, const Error& error) {
  if (text == "a" || text == "b") {
    return text == "a" ? SlotId::kA : SlotId::kB;
  }
  return error;
}

Result<Fallback> ParseFallback(std::string_view text,
                               const std::string& where) {
  const Error damaged =
      MakeError(ErrorCode::kIo, where + ": not a fallback record");
  auto field = [&](std::string_view key) -> Result<std::string_view> {
    if (!text.starts_with(key) || text.size() <= key.size() ||
        text[key.size()] != ' ') {
      return damaged;
    }
    size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      return damaged;
    }
    std::string_view value = text.substr(key.size() + 1, end - key.size() - 1);
    text.remove_prefix(end + 1);
    return value;
  };
  Fallback fallback;
  IMAB_ASSIGN_OR_RETURN(std::string_view from, field("from"));
  IMAB_ASSIGN_OR_RETURN(fallback.from, ParseSlotLetter(from, damaged));
  IMAB_ASSIGN_OR_RETURN(std::string_view to, field("to"));
  IMAB_ASSIGN_OR_RETURN(fallback.to, ParseSlotLetter(to, damaged));
  IMAB_ASSIGN_OR_RETURN(std::string_view time, field("time"));
  auto [end, ec] =
      std::from_chars(time.data(), time.data() + time.size(), fallback.time);
  if (ec != std::errc() || end != time.data() + time.size() || !text.empty() ||
      fallback.from == fallback.to) {
    return damaged;
  }
  return fallback;
}

// The record of `slot`, which must hold a complete image for `what`.
Result<DeviceState> CompleteImage(const SlotBackend& slots, SlotId slot,
                                  const std::string& what) {
  IMAB_ASSIGN_OR_RETURN(std::optional<DeviceState> state,
                        slots.ReadState(slot));
  if (!state.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("slot ") + SlotName(slot) +
                         " holds no complete image: " + what);
  }
  return std::move(*state);
}

// CheckInstallStart() with `active` as the slot the pointer names.
Status CheckStartFrom(const BootContext& context, SlotId active) {
  if (!context.booted.has_value()) {
    return OkStatus();
  }
  const std::string booted = SlotName(*context.booted);
  IMAB_ASSIGN_OR_RETURN(std::optional<DeviceState> pointed,
                        context.slots.ReadState(active));
  if (active != *context.booted && !pointed.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the booted slot " + booted + " is the inactive one (" +
                         SlotName(active) +
                         ", active, holds no image): an install would write "
                         "the running slot; run imab-verify mark-active " +
                         booted + " first");
  }
  if (active != *context.booted) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("slot ") + SlotName(active) +
                         " waits for a reboot (active " + SlotName(active) +
                         ", booted " + booted +
                         "): reboot into it, or run imab-verify mark-active " +
                         booted + " to give it up, then install");
  }
  if (pointed.has_value() && pointed->confirmed_at == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the booted slot " + booted +
                         " is not confirmed (its floors are not final): run "
                         "imab-verify mark-good once it works, or mark-bad");
  }
  return OkStatus();
}

}  // namespace

std::string DescribeFallback(const Fallback& fallback) {
  return std::string("fell back from ") + SlotName(fallback.from) + " to " +
         SlotName(fallback.to);
}

Result<std::optional<Fallback>> DetectFallback(const SlotBackend& slots,
                                               const Bootloader* bootloader,
                                               std::optional<SlotId> booted) {
  if (bootloader == nullptr || !booted.has_value()) {
    return std::optional<Fallback>();
  }
  IMAB_ASSIGN_OR_RETURN(SlotId active, slots.ActiveSlot());
  if (active == *booted) {
    return std::optional<Fallback>();
  }
  // Nothing was tried in a slot that holds no image (the empty slot-b of
  // a device provisioned with a factory image, say).
  IMAB_ASSIGN_OR_RETURN(std::optional<DeviceState> tried,
                        slots.ReadState(active));
  if (!tried.has_value()) {
    return std::optional<Fallback>();
  }
  IMAB_ASSIGN_OR_RETURN(BootSlotStatus pointed, bootloader->SlotStatus(active));
  IMAB_ASSIGN_OR_RETURN(SlotId primary, bootloader->Primary());
  // Otherwise the pointer's slot is still to be tried: an update (or a
  // mark-active, a mark-bad) waits for the next boot.
  if (pointed.bootable && primary != *booted) {
    return std::optional<Fallback>();
  }
  return std::optional<Fallback>(Fallback{active, *booted, 0});
}

Result<std::optional<Fallback>> ReadLastFallback(const std::string& state_dir) {
  const std::string path = state_dir + "/" + kLastFallbackFileName;
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        ReadSmallFile(path, kMaxFallbackBytes));
  if (!text.has_value()) {
    return std::optional<Fallback>();
  }
  IMAB_ASSIGN_OR_RETURN(Fallback fallback, ParseFallback(*text, path));
  return std::optional<Fallback>(fallback);
}

Result<std::optional<Fallback>> NoticeFallback(const BootContext& context,
                                               uint64_t now,
                                               Reporter& reporter) {
  IMAB_ASSIGN_OR_RETURN(
      std::optional<Fallback> fallback,
      DetectFallback(context.slots, context.bootloader, context.booted));
  if (!fallback.has_value()) {
    return fallback;
  }
  fallback->time = now;
  // The slot that runs must hold what it booted; anything else is a device
  // this program does not understand and must not change.
  IMAB_ASSIGN_OR_RETURN(DeviceState running,
                        CompleteImage(context.slots, fallback->to,
                                      "cannot take the fallback to it"));
  IMAB_RETURN_IF_ERROR(WriteFileAtomically(
      context.slots.StateDir() + "/" + kLastFallbackFileName,
      EncodeFallback(*fallback)));
  IMAB_RETURN_IF_ERROR(context.bootloader->MarkBad(fallback->from));
  IMAB_RETURN_IF_ERROR(context.bootloader->SetPrimary(fallback->to));
  IMAB_RETURN_IF_ERROR(context.slots.SetActive(fallback->to));
  reporter.Warn(DescribeFallback(*fallback) + ": slot " +
                SlotName(fallback->from) + " failed to boot; " +
                SlotName(fallback->to) + " is active again");
  Result<std::optional<DeviceState>> failed =
      context.slots.ReadState(fallback->from);
  HookEnvironment env;
  env.slot = SlotName(fallback->from);
  env.booted_slot = SlotName(fallback->to);
  env.version = failed.has_value() && failed->has_value()
                    ? (*failed)->image_version
                    : running.image_version;
  Status hook = RunHook(context.config, HookKind::kOnFallback, env, reporter);
  if (!hook.ok()) {
    reporter.Warn(hook.error().message);
  }
  return fallback;
}

Status CheckInstallStart(const BootContext& context) {
  IMAB_ASSIGN_OR_RETURN(SlotId active, context.slots.ActiveSlot());
  return CheckStartFrom(context, active);
}

Result<DeviceState> StateToJudgeAgainst(const BootContext& context) {
  IMAB_ASSIGN_OR_RETURN(
      std::optional<Fallback> fallback,
      DetectFallback(context.slots, context.bootloader, context.booted));
  if (fallback.has_value()) {
    IMAB_ASSIGN_OR_RETURN(DeviceState running,
                          CompleteImage(context.slots, fallback->to,
                                        "cannot take the fallback to it"));
    IMAB_RETURN_IF_ERROR(CheckStartFrom(context, fallback->to));
    return running;
  }
  IMAB_RETURN_IF_ERROR(CheckInstallStart(context));
  return context.slots.ActiveState();
}

Result<SlotId> SlotToConfirm(const BootContext& context) {
  if (context.booted.has_value()) {
    return *context.booted;
  }
  if (context.bootloader != nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cannot tell the booted slot: " + context.config.root +
                         "/proc/cmdline names none (imab.slot=a|b, "
                         "rauc.slot=A|B, or root= naming slot-a or slot-b)");
  }
  return context.slots.ActiveSlot();
}

Result<BootChange> MarkGood(const BootContext& context, uint64_t now,
                            Reporter& reporter) {
  BootChange change;
  IMAB_ASSIGN_OR_RETURN(change.slot, SlotToConfirm(context));
  IMAB_ASSIGN_OR_RETURN(change.fallback,
                        NoticeFallback(context, now, reporter));
  IMAB_ASSIGN_OR_RETURN(
      DeviceState state,
      CompleteImage(context.slots, change.slot, "nothing to mark good"));
  // The boot loader first: a crash before the record leaves an unconfirmed
  // record, which the next mark-good (every boot) completes.
  if (context.bootloader != nullptr) {
    IMAB_RETURN_IF_ERROR(context.bootloader->MarkGood(change.slot));
  }
  change.already = state.confirmed_at != 0;
  if (!change.already) {
    state.confirmed_at = now;
    IMAB_RETURN_IF_ERROR(context.slots.RewriteState(change.slot, state));
  }
  change.state = std::move(state);
  return change;
}

Result<BootChange> MarkBad(const BootContext& context, uint64_t now,
                           Reporter& reporter) {
  BootChange change;
  IMAB_ASSIGN_OR_RETURN(change.slot, SlotToConfirm(context));
  IMAB_ASSIGN_OR_RETURN(change.fallback,
                        NoticeFallback(context, now, reporter));
  const SlotId other = OtherSlot(change.slot);
  IMAB_ASSIGN_OR_RETURN(
      DeviceState fallback,
      CompleteImage(context.slots, other,
                    std::string("nothing to fall back to from ") +
                        SlotName(change.slot)));
  if (context.bootloader != nullptr) {
    IMAB_RETURN_IF_ERROR(context.bootloader->MarkBad(change.slot));
    IMAB_RETURN_IF_ERROR(context.bootloader->SetPrimary(other));
  }
  IMAB_RETURN_IF_ERROR(context.slots.SetActive(other));
  change.state = std::move(fallback);
  return change;
}

Result<BootChange> MarkActive(const BootContext& context, SlotId slot,
                              uint64_t now, Reporter& reporter) {
  BootChange change;
  change.slot = slot;
  IMAB_ASSIGN_OR_RETURN(change.fallback,
                        NoticeFallback(context, now, reporter));
  IMAB_ASSIGN_OR_RETURN(
      DeviceState state,
      CompleteImage(context.slots, slot, "nothing to make active"));
  IMAB_ASSIGN_OR_RETURN(SlotId active, context.slots.ActiveSlot());
  if (context.bootloader != nullptr) {
    IMAB_ASSIGN_OR_RETURN(SlotId primary, context.bootloader->Primary());
    change.already = active == slot && primary == slot;
    IMAB_RETURN_IF_ERROR(context.bootloader->SetPrimary(slot));
  } else {
    change.already = active == slot;
  }
  IMAB_RETURN_IF_ERROR(context.slots.SetActive(slot));
  change.state = std::move(state);
  return change;
}

}  // namespace imab::verifier
