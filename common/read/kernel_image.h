// Finds byte strings (the DER of the CAs a kernel is built with) and the
// version banner inside a kernel file as a bootloader would start it: an x86
// bzImage (its payload, decompressed), an arm64 or RISC-V Image (its first
// image_size bytes), an Image.gz (the Image inside), a vmlinux ELF (its
// PT_LOAD ranges). The kernel keeps its built-in certificates
// (CONFIG_SYSTEM_TRUSTED_KEYS, certs/system_certificates.S) as plain DER in
// its data, so a CA the kernel carries appears verbatim in those bytes or in
// a stream inside them compressed with one of the kernel's compressors:
// gzip, xz, zstd, lz4 (legacy and frame), bzip2, and lzma for a bzImage
// payload (common/read/decompress.h, in memory, bounded; an lzo payload is
// refused). Bytes outside a recognised layout never count: a file of no
// known layout carries nothing (fail closed).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/read/result.h"

namespace imab {

struct KernelImageScan {
  std::vector<bool> found;  // parallel to the needles
  // From the first "Linux version X.Y" banner (init/version.c linux_banner).
  std::optional<std::pair<uint32_t, uint32_t>> version;
};

// Scans `image` for each of `needles`. kLimitExceeded when a compressed
// stream decompresses to more than `max_output` bytes (the
// decompression-bomb guard); kMalformed when a bzImage payload does not
// decompress to the size its trailer says, or is lzo-compressed. Any other
// stream that stops being valid is used up to where it broke.
Result<KernelImageScan> ScanKernelImage(std::span<const uint8_t> image,
                                        const std::vector<std::string>& needles,
                                        uint64_t max_output);

}  // namespace imab
