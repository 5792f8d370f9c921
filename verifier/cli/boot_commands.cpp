#include "verifier/cli/boot_commands.h"

#include <CLI/CLI.hpp>
#include <ctime>
#include <iostream>

#include "common/read/json_text.h"
#include "verifier/boot/bootloader.h"
#include "verifier/cli/output.h"
#include "verifier/cli/root_option.h"
#include "verifier/device/boot_control.h"
#include "verifier/device/booted_slot.h"
#include "verifier/device/install_lock.h"
#include "verifier/slots/directory_slots.h"
#include "verifier/slots/open_slots.h"

namespace imab::verifier::cli {
namespace {

enum class Command { kGood, kBad, kActive };

// Everything a boot command holds while it runs: the boot loader, the
// slots and the install lock (one change at a time, installs included).
Result<BootChange> RunLocked(const std::string& root, Command command,
                             SlotId slot, Reporter& reporter) {
  IMAB_ASSIGN_OR_RETURN(DeviceConfig config, LoadDeviceConfig(root));
  IMAB_ASSIGN_OR_RETURN(std::unique_ptr<Bootloader> bootloader,
                        OpenBootloader(config));
  IMAB_ASSIGN_OR_RETURN(auto slots, OpenSlots(config, bootloader.get()));
  IMAB_ASSIGN_OR_RETURN(
      InstallLock lock,
      InstallLock::Acquire(slots->StateDir() + "/" + kLockFileName));
  IMAB_ASSIGN_OR_RETURN(std::optional<SlotId> booted, ReadBootedSlot(config));
  const BootContext context{config, *slots, bootloader.get(), booted};
  const auto now = static_cast<uint64_t>(std::time(nullptr));
  switch (command) {
    case Command::kGood:
      return MarkGood(context, now, reporter);
    case Command::kBad:
      return MarkBad(context, now, reporter);
    case Command::kActive:
      break;
  }
  return MarkActive(context, slot, now, reporter);
}

std::string ChangeJson(const char* command, const BootChange& change) {
  std::string out = std::string("{\"command\": \"") + command +
                    "\", \"slot\": \"" + SlotName(change.slot) +
                    "\", \"already\": " + (change.already ? "true" : "false");
  out += ", \"fallback\": ";
  if (change.fallback.has_value()) {
    out += JsonString(DescribeFallback(*change.fallback));
  } else {
    out += "null";
  }
  if (change.state.has_value()) {
    const DeviceState& s = *change.state;
    out += ", \"state\": {\"slot\": " + JsonString(s.active_slot) +
           ", \"version\": " + JsonString(s.image_version) +
           ", \"key_generation\": " + std::to_string(s.key_generation) +
           ", \"trust_root_version\": " + std::to_string(s.trust_root_version) +
           ", \"confirmed_at\": " + std::to_string(s.confirmed_at) + "}";
  }
  return out + "}\n";
}

std::string ChangeText(Command command, const BootChange& change) {
  const std::string slot = SlotName(change.slot);
  const DeviceState empty;
  const DeviceState& s = change.state.has_value() ? *change.state : empty;
  switch (command) {
    case Command::kGood:
      return (change.already ? "slot " + slot + " was confirmed already"
                             : "marked slot " + slot + " good") +
             " (version " + s.image_version + "): key generation floor " +
             std::to_string(s.key_generation) + " is final\n";
    case Command::kBad:
      return "marked slot " + slot + " bad; slot " + s.active_slot +
             " (version " + s.image_version + ") is active and starts next\n";
    case Command::kActive:
      break;
  }
  return "slot " + slot + " (version " + s.image_version + ") is active" +
         (change.already ? " already" : "") + " and starts next\n";
}

}  // namespace

CLI::App* BootCommands::Add(CLI::App& app, const char* name, const char* what) {
  CLI::App* cmd = app.add_subcommand(name, what);
  AddRootOption(cmd, root_);
  cmd->add_flag("--json", json_, "Print JSON on stdout");
  return cmd;
}

BootCommands::BootCommands(CLI::App& app) {
  good_ =
      Add(app, "mark-good", "Confirm the booted slot: its floors become final");
  bad_ = Add(app, "mark-bad",
             "Give up the booted slot: the other one starts next");
  active_ =
      Add(app, "mark-active", "Make slot a or b the one that starts next");
  active_->add_option("slot", slot_, "a or b")
      ->required()
      ->check(CLI::IsMember({"a", "b"}));
}

bool BootCommands::parsed() const {
  return good_->parsed() || bad_->parsed() || active_->parsed();
}

int BootCommands::Run() {
  const Command command = good_->parsed()  ? Command::kGood
                          : bad_->parsed() ? Command::kBad
                                           : Command::kActive;
  const char* name = good_->parsed()  ? "mark-good"
                     : bad_->parsed() ? "mark-bad"
                                      : "mark-active";
  StderrReporter reporter;
  Result<BootChange> change = RunLocked(
      root_, command, slot_ == "b" ? SlotId::kB : SlotId::kA, reporter);
  if (!change.has_value()) {
    return PrintError(change.error());
  }
  std::cout << (json_ ? ChangeJson(name, *change)
                      : ChangeText(command, *change));
  return 0;
}

}  // namespace imab::verifier::cli
