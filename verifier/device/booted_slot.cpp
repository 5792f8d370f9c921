#include "verifier/device/booted_slot.h"

#include <strings.h>

#include <string>
#include <vector>

#include "verifier/device/device_root.h"
#include "verifier/device/small_file.h"

namespace imab::verifier {
namespace {

// The parameters of a command line, split on blanks as the kernel does
// (next_arg() in lib/cmdline.c): double quotes group blanks into one.
std::vector<std::string> Parameters(std::string_view cmdline) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  bool any = false;
  for (char c : cmdline) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
      continue;
    }
    if (!quoted && (c == ' ' || c == '\t' || c == '\n')) {
      if (any) {
        out.push_back(std::move(current));
      }
      current.clear();
      any = false;
      continue;
    }
    current.push_back(c);
    any = true;
  }
  if (any) {
    out.push_back(std::move(current));
  }
  return out;
}

// The value of the last `key=` among `params`; nullopt when absent.
std::optional<std::string> LastValue(const std::vector<std::string>& params,
                                     std::string_view key) {
  std::optional<std::string> value;
  for (const std::string& param : params) {
    if (param.size() > key.size() && param.compare(0, key.size(), key) == 0 &&
        param[key.size()] == '=') {
      value = param.substr(key.size() + 1);
    }
  }
  return value;
}

std::optional<SlotId> SlotLetter(const std::optional<std::string>& value,
                                 bool upper_too) {
  if (value == "a" || (upper_too && value == "A")) {
    return SlotId::kA;
  }
  if (value == "b" || (upper_too && value == "B")) {
    return SlotId::kB;
  }
  return std::nullopt;
}

// `root` names the partition `slot` (device.conf's spelling of it).
bool SameDevice(const std::string& root, const std::string& slot) {
  constexpr std::string_view kPartUuid = "PARTUUID=";
  if (root.starts_with(kPartUuid) && slot.starts_with(kPartUuid)) {
    // GPT GUIDs and MBR ids are hex: the case is not part of the name.
    return ::strcasecmp(root.c_str() + kPartUuid.size(),
                        slot.c_str() + kPartUuid.size()) == 0;
  }
  return root == slot;
}

}  // namespace

std::optional<SlotId> BootedSlotFromCmdline(std::string_view cmdline,
                                            const BootSetup& boot) {
  const std::vector<std::string> params = Parameters(cmdline);
  if (std::optional<SlotId> slot =
          SlotLetter(LastValue(params, "imab.slot"), false)) {
    return slot;
  }
  if (boot.slots != SlotKind::kBlock) {
    return std::nullopt;  // a folder has no partition to name
  }
  if (std::optional<SlotId> slot =
          SlotLetter(LastValue(params, "rauc.slot"), true)) {
    return slot;
  }
  std::optional<std::string> root = LastValue(params, "root");
  if (!root.has_value() || root->empty()) {
    return std::nullopt;
  }
  const bool a = !boot.slot_a.empty() && SameDevice(*root, boot.slot_a);
  const bool b = !boot.slot_b.empty() && SameDevice(*root, boot.slot_b);
  if (a == b) {
    return std::nullopt;
  }
  return a ? SlotId::kA : SlotId::kB;
}

Result<std::optional<SlotId>> ReadBootedSlot(const DeviceConfig& config) {
  IMAB_ASSIGN_OR_RETURN(DeviceRoot root, DeviceRoot::Open(config.root));
  Result<std::optional<std::string>> path = root.Find("proc/cmdline");
  if (!path.has_value() || !path->has_value()) {
    return std::optional<SlotId>();  // no /proc: nothing tells
  }
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        ReadSmallFile(**path, kMaxCmdlineBytes));
  if (!text.has_value()) {
    return std::optional<SlotId>();
  }
  return BootedSlotFromCmdline(*text, config.boot);
}

}  // namespace imab::verifier
