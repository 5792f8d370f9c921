// Fuzz target for the initramfs reader (newc cpio, gzip/xz/zstd segments),
// which the verifier runs on every initramfs a bundle declares: any input
// is read or refused without a crash, within the decompression limits, and
// an image whose keys were read can be given new keys and read back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/read/initramfs.h"
#include "common/write/initramfs_rewrite.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> image(data, size);
  imab::InitramfsLimits limits;
  limits.max_decompressed_bytes = 64u << 20;  // keep each run quick
  auto keys = imab::ReadInitramfsKeys(image, limits);
  if (!keys.has_value()) {
    return 0;
  }
  const std::vector<uint8_t> evm = {0x30, 0x03, 0x02, 0x01, 0x07};
  auto rewritten = imab::SetInitramfsKeys(image, evm, std::nullopt);
  if (!rewritten.has_value()) {
    return 0;
  }
  auto again = imab::ReadInitramfsKeys(*rewritten, limits);
  if (!again.has_value() || again->evm_der != evm) {
    std::abort();  // what was written must read back
  }
  return 0;
}
