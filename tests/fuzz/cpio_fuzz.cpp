// Fuzz target for ParseCpioStream, the newc reader under every initramfs
// the verifier inspects: any bytes are parsed or refused without a crash,
// within the member limit, and what was parsed writes back to the same
// bytes (the reader and writer round-trip byte for byte).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "common/read/cpio_newc.h"
#include "common/write/cpio_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  imab::CpioLimits limits;
  limits.max_members = 64;  // small, so the limit path is reached too
  limits.max_name_bytes = 256;
  auto archives = imab::ParseCpioStream(bytes, limits);
  if (!archives.has_value()) {
    return 0;
  }
  size_t members = 0;
  for (const imab::CpioArchive& archive : *archives) {
    members += archive.members.size();
  }
  if (members > limits.max_members || archives->empty()) {
    std::abort();
  }
  auto written = imab::WriteCpioStream(*archives);
  if (!written.has_value() || written->size() != size ||
      !std::equal(written->begin(), written->end(), data)) {
    std::abort();
  }
  return 0;
}
