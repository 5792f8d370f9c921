#include "verifier/device/init_boot_settings.h"

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "verifier/device/device_config.h"

namespace imab::verifier {
namespace {

// The keys `--set` may give: those of "Slots" and "Bootloader".
bool IsBootKey(const std::string& key) {
  static const char* const kKeys[] = {"slots",
                                      "slot-a",
                                      "slot-b",
                                      "mkfs-options",
                                      "state-dir",
                                      "bootloader",
                                      "grubenv",
                                      "fw-env-config",
                                      "boot-attempts",
                                      "bootloader-script",
                                      "hook-pre-install",
                                      "hook-post-install",
                                      "hook-on-fallback"};
  for (const char* known : kKeys) {
    if (key == known) {
      return true;
    }
  }
  return false;
}

// `--set KEY=VALUE` lines (a later one for the same key wins), checked.
Result<std::map<std::string, std::string>> ReadBootSettings(
    const std::vector<std::string>& settings) {
  std::map<std::string, std::string> values;
  for (const std::string& setting : settings) {
    const size_t equals = setting.find('=');
    const std::string key = setting.substr(0, equals);
    if (equals == std::string::npos || !IsBootKey(key) ||
        setting.find('\n') != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--set " + setting +
                           ": expected KEY=VALUE with a key of the Slots or "
                           "Bootloader section of device.conf");
    }
    values[key] = setting.substr(equals + 1);
  }
  return values;
}

// The boot loader and hook options as `--set` lines, then the `--set`
// lines themselves (so that a --set wins).
std::vector<std::string> BootSettings(const InitOptions& options) {
  std::vector<std::string> settings;
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) {
      settings.push_back(std::string(key) + "=" + value);
    }
  };
  add("bootloader", options.bootloader);
  add("grubenv", options.grubenv);
  add("fw-env-config", options.fw_env_config);
  add("boot-attempts", options.boot_attempts);
  add("bootloader-script", options.bootloader_script);
  add("hook-pre-install", options.hook_pre_install);
  add("hook-post-install", options.hook_post_install);
  add("hook-on-fallback", options.hook_on_fallback);
  settings.insert(settings.end(), options.boot_settings.begin(),
                  options.boot_settings.end());
  return settings;
}

}  // namespace

Status ApplyBootSettings(const InitOptions& options, DeviceConfig& config) {
  const std::vector<std::string> settings = BootSettings(options);
  if (settings.empty()) {
    return OkStatus();
  }
  IMAB_ASSIGN_OR_RETURN(auto values, ReadBootSettings(settings));
  const bool block = values.count("slots") != 0 && values["slots"] == "block";
  std::string text;
  std::istringstream rendered(RenderDeviceConfig(config));
  for (std::string line; std::getline(rendered, line);) {
    const std::string key = line.substr(0, line.find(' '));
    if (values.count(key) == 0 && !(block && key == "slots-dir")) {
      text += line + "\n";
    }
  }
  for (const auto& [key, value] : values) {
    text += key + " = " + value + "\n";
  }
  IMAB_ASSIGN_OR_RETURN(DeviceConfig parsed,
                        ParseDeviceConfigText(text, config.root, "--set"));
  config.boot = parsed.boot;
  return OkStatus();
}

}  // namespace imab::verifier
