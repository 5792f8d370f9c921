// Fuzz target for the U-Boot environment readers the uboot backend trusts
// for the boot order (manifests/device.conf.md, "Bootloader"). Byte 0
// picks what the rest is: 0 one env copy, 1 two copies (redundant,
// incremental flags), 2 two copies (boolean flags), 3 an fw_env.config.
// Copies are also parsed without their CRC, which random bytes never
// match. Any input is read or refused without a crash; accepted variables
// have a name without '=' and no name twice.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/boot/uboot_env.h"
#include "verifier/boot/uboot_env_config.h"

namespace {

using imab::verifier::UbootVariables;

void CheckVariables(const UbootVariables& variables) {
  std::set<std::string> names;
  for (const auto& [name, value] : variables) {
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos ||
        value.find('\0') != std::string::npos || !names.insert(name).second) {
      std::abort();
    }
  }
}

void Copies(std::string_view rest, bool redundant,
            imab::verifier::UbootFlagScheme scheme) {
  const size_t size = redundant ? rest.size() / 2 : rest.size();
  if (size < 6) {
    return;
  }
  std::vector<std::string> copies = {std::string(rest.substr(0, size))};
  if (redundant) {
    copies.emplace_back(rest.substr(size, size));
  }
  auto decoded = imab::verifier::DecodeUbootEnv(copies, scheme, "fuzz");
  if (decoded.has_value()) {
    CheckVariables(*decoded);
  }
  for (const std::string& copy : copies) {
    auto parsed =
        imab::verifier::ParseUbootEnvVariables(copy, redundant, "fuzz");
    if (parsed.has_value()) {
      CheckVariables(*parsed);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      Copies(rest, false, imab::verifier::UbootFlagScheme::kIncremental);
      break;
    case 1:
      Copies(rest, true, imab::verifier::UbootFlagScheme::kIncremental);
      break;
    case 2:
      Copies(rest, true, imab::verifier::UbootFlagScheme::kBoolean);
      break;
    default: {
      auto config = imab::verifier::ParseUbootEnvConfig(rest, "fuzz");
      if (config.has_value() &&
          (config->copies.empty() || config->copies.size() > 2 ||
           config->copies[0].size > imab::verifier::kMaxUbootEnvBytes)) {
        std::abort();
      }
      break;
    }
  }
  return 0;
}
