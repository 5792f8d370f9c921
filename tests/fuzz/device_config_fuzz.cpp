// Fuzz target for the device.conf parser (ParseDeviceConfigText, what
// LoadDeviceConfig runs on the file; manifests/device.conf.md): any text is
// parsed or refused without a crash, and an accepted configuration renders
// to a text that reads back to the same configuration (RenderDeviceConfig
// is what `device init` writes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "verifier/device/device_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = imab::verifier::ParseDeviceConfigText(text, "/", "fuzz");
  if (!config.has_value()) {
    return 0;
  }
  const std::string rendered = imab::verifier::RenderDeviceConfig(*config);
  auto again = imab::verifier::ParseDeviceConfigText(rendered, "/", "again");
  if (!again.has_value() ||
      imab::verifier::RenderDeviceConfig(*again) != rendered) {
    std::abort();  // what device init writes must read back
  }
  return 0;
}
