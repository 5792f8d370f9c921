// Fuzz target for GrubEnv::Parse, the reader of the grubenv block the
// grub backend trusts for the boot order (manifests/device.conf.md,
// "Bootloader"): any bytes are parsed or refused without a crash, and an
// accepted block renders again (never longer: an escape is read as at
// least as many bytes as it is written with) to a block that parses to the
// same variables and comments.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "verifier/boot/grubenv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto env = imab::verifier::GrubEnv::Parse(bytes, "fuzz");
  if (!env.has_value()) {
    return 0;
  }
  auto block = env->Render();
  if (!block.has_value() || block->size() != imab::verifier::kGrubEnvBytes) {
    std::abort();  // a block we read but could not write back
  }
  auto again = imab::verifier::GrubEnv::Parse(*block, "fuzz");
  if (!again.has_value() || !(*again == *env)) {
    std::abort();  // what we write reads as something else
  }
  return 0;
}
