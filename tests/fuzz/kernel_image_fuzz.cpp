// Fuzz target for ScanKernelImage, which the verifier runs on the kernel an
// update ships to learn its built-in CAs and version: any bytes are scanned
// or refused without a crash, within the decompression bound, and the
// answer has one flag per needle.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "common/read/kernel_image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Short needles, so that mutations can plant them.
  static const std::vector<std::string> kNeedles = {
      std::string("\x30\x82\x01\x0a\x02\x82", 6), "imab-fuzz-ca"};
  std::span<const uint8_t> image(data, size);
  auto scan = imab::ScanKernelImage(image, kNeedles, 16u << 20);
  if (scan.has_value() && scan->found.size() != kNeedles.size()) {
    std::abort();
  }
  return 0;
}
