#include "verifier/device/device_report.h"

#include <type_traits>

#include "common/read/json_text.h"
#include "verifier/bundle/report_json.h"

namespace imab::verifier {
namespace {

std::string Bool(bool value) { return value ? "true" : "false"; }

// "[A, B, ...]", each item written by `json`.
template <class T, class F>
std::string JsonList(const std::vector<T>& items, F json) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ", ") + json(items[i]);
  }
  return out + "]";
}

std::string StringList(const std::vector<std::string>& items) {
  return JsonList(items, [](const std::string& s) { return JsonString(s); });
}

std::string StateJson(const DeviceState& state) {
  return "{\"slot\": " + JsonString(state.active_slot) +
         ", \"version\": " + JsonString(state.image_version) +
         ", \"compatible\": " + JsonString(state.compatible) +
         ", \"installed_at\": " + std::to_string(state.installed_at) +
         ", \"key_generation\": " + std::to_string(state.key_generation) +
         ", \"trust_root_version\": " +
         std::to_string(state.trust_root_version) +
         ", \"bundle_sha256\": " + JsonString(state.bundle_sha256) +
         ", \"confirmed_at\": " + std::to_string(state.confirmed_at) + "}";
}

template <class T>
std::string OptionalJson(const std::optional<T>& value) {
  if (!value.has_value()) {
    return "null";
  }
  if constexpr (std::is_same_v<T, bool>) {
    return Bool(*value);
  } else {
    return std::to_string(*value);
  }
}

std::string BootSlotJson(const std::optional<BootSlotStatus>& boot) {
  if (!boot.has_value()) {
    return "null";
  }
  return "{\"bootable\": " + Bool(boot->bootable) +
         ", \"confirmed\": " + OptionalJson(boot->confirmed) +
         ", \"attempts_left\": " + OptionalJson(boot->attempts_left) + "}";
}

std::string FallbackJson(const std::optional<Fallback>& fallback) {
  if (!fallback.has_value()) {
    return "null";
  }
  return std::string("{\"from\": \"") + SlotName(fallback->from) +
         "\", \"to\": \"" + SlotName(fallback->to) +
         "\", \"time\": " + std::to_string(fallback->time) + "}";
}

std::string BootJson(const BootReport& boot) {
  return "{\"bootloader\": " + JsonString(boot.bootloader) +
         ", \"booted_slot\": " + JsonString(boot.booted_slot) +
         ", \"primary_slot\": " + JsonString(boot.primary_slot) +
         ", \"fallback\": " + FallbackJson(boot.fallback) +
         ", \"last_fallback\": " + FallbackJson(boot.last_fallback) + "}";
}

// "bootable yes, confirmed no, attempts left 1" (unknowns left out).
std::string BootSlotText(const BootSlotStatus& boot) {
  std::string out = std::string("bootable ") + (boot.bootable ? "yes" : "no");
  if (boot.confirmed.has_value()) {
    out += std::string(", confirmed ") + (*boot.confirmed ? "yes" : "no");
  }
  if (boot.attempts_left.has_value()) {
    out += ", attempts left " + std::to_string(*boot.attempts_left);
  }
  return out;
}

std::string BootText(const DeviceStatus& status) {
  const BootReport& boot = status.boot;
  std::string out = "bootloader: " + boot.bootloader + "\nbooted slot: " +
                    (boot.booted_slot.empty() ? "unknown" : boot.booted_slot) +
                    "\n";
  if (!boot.primary_slot.empty()) {
    out += "primary slot: " + boot.primary_slot + "\n";
  }
  for (const SlotStatus& slot : status.slots) {
    if (slot.boot.has_value()) {
      out += "slot " + slot.name + " boot: " + BootSlotText(*slot.boot) + "\n";
    }
  }
  if (boot.fallback.has_value()) {
    out += DescribeFallback(*boot.fallback) +
           " (not handled yet: the next mark-good, mark-bad or install "
           "takes it)\n";
  }
  if (boot.last_fallback.has_value()) {
    out += DescribeFallback(*boot.last_fallback) + " at " +
           std::to_string(boot.last_fallback->time) + "\n";
  }
  return out;
}

std::string SlotJson(const SlotStatus& slot) {
  std::string out = "{\"name\": " + JsonString(slot.name) +
                    ", \"active\": " + Bool(slot.active) +
                    ", \"present\": " + Bool(slot.state.has_value()) +
                    ", \"confirmed\": " +
                    Bool(slot.state.has_value() && slot.state->confirmed_at) +
                    ", \"boot\": " + BootSlotJson(slot.boot);
  if (!slot.device.empty()) {
    out += ", \"device\": " + JsonString(slot.device);
  }
  if (slot.state.has_value()) {
    out += ", \"state\": " + StateJson(*slot.state);
  }
  return out + "}";
}

std::string KeyJson(const KeyInUse& key) {
  return "{\"keyring\": " + JsonString(key.keyring) +
         ", \"path\": " + JsonString(key.path) +
         ", \"keyid\": " + JsonString(key.keyid) +
         ", \"problem\": " + JsonString(key.problem) + "}";
}

std::string LastResultJson(const std::optional<LastResult>& last) {
  if (!last.has_value()) {
    return "null";
  }
  return "{\"time\": " + std::to_string(last->time) +
         ", \"bundle\": " + JsonString(last->bundle) +
         ", \"result\": " + JsonString(last->outcome) +
         ", \"reason\": " + JsonString(last->reason) + "}";
}

std::string SlotText(const SlotStatus& slot) {
  std::string out =
      "slot " + slot.name + (slot.active ? " (active)" : "") + ": ";
  const std::string device =
      slot.device.empty() ? "" : "  partition " + slot.device + "\n";
  if (!slot.state.has_value()) {
    return out + "empty\n" + device;
  }
  const DeviceState& s = *slot.state;
  return out + "version " + s.image_version + " for " + s.compatible +
         ", installed at " + std::to_string(s.installed_at) +
         ", manifest sha256 " + s.bundle_sha256 +
         (s.confirmed_at != 0
              ? ", confirmed at " + std::to_string(s.confirmed_at)
              : std::string(", not confirmed")) +
         "\n" + device;
}

}  // namespace

std::string RenderStatusText(const DeviceStatus& status) {
  std::string out = "device: " + status.root + " (" + status.compatible +
                    ")\nactive slot: " + status.active_slot + "\n";
  for (const SlotStatus& slot : status.slots) {
    out += SlotText(slot);
  }
  out += BootText(status);
  for (const KeyInUse& key : status.keys) {
    out += key.keyring + " key: " +
           (key.keyid.empty() ? "? (" + key.problem + ")" : key.keyid) +
           " from /" + key.path + "\n";
  }
  out +=
      "key generation floor: " + std::to_string(status.key_generation_floor) +
      "\n";
  out += "trust root version: " +
         (status.trust_root_version == 0
              ? std::string("none adopted")
              : std::to_string(status.trust_root_version)) +
         "\n";
  if (status.last_result.has_value()) {
    const LastResult& last = *status.last_result;
    out += "last install: " + last.outcome + " " + last.bundle + " at " +
           std::to_string(last.time) +
           (last.reason.empty() ? "" : ": " + last.reason) + "\n";
  }
  if (status.install_running) {
    out += "an install is running now\n";
  }
  for (const std::string& item : status.pending_cleanup) {
    out +=
        "left by an interrupted install (removed by the next): " + item + "\n";
  }
  for (const std::string& problem : status.problems) {
    out += "problem: " + problem + "\n";
  }
  out +=
      std::string("consistent: ") + (status.consistent() ? "yes" : "no") + "\n";
  return out;
}

std::string RenderStatusJson(const DeviceStatus& status) {
  return "{\"root\": " + JsonString(status.root) +
         ", \"compatible\": " + JsonString(status.compatible) +
         ", \"active_slot\": " + JsonString(status.active_slot) +
         ", \"consistent\": " + Bool(status.consistent()) +
         ", \"problems\": " + StringList(status.problems) +
         ", \"pending_cleanup\": " + StringList(status.pending_cleanup) +
         ", \"install_running\": " + Bool(status.install_running) +
         ", \"slots\": " + JsonList(status.slots, SlotJson) +
         ", \"keys\": " + JsonList(status.keys, KeyJson) +
         ", \"key_generation_floor\": " +
         std::to_string(status.key_generation_floor) +
         ", \"trust_root_version\": " +
         std::to_string(status.trust_root_version) +
         ", \"last_result\": " + LastResultJson(status.last_result) +
         ", \"boot\": " + BootJson(status.boot) + "}\n";
}

std::string RenderInstallJson(const InstallReport& report,
                              const std::optional<Error>& failure) {
  std::string out = RenderReportJson(report.verify, failure);
  // Splice the device states into the report object.
  size_t close = out.find_last_of('}');
  std::string states = ", \"previous\": " + StateJson(report.previous);
  if (!failure.has_value()) {
    states += ", \"installed\": " + StateJson(report.installed);
  }
  return out.substr(0, close) + states + out.substr(close);
}

}  // namespace imab::verifier
