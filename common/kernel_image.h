// Finds byte strings (the DER of the CAs a kernel is built with) and the
// version banner inside a kernel file as a bootloader would start it: an x86
// bzImage (its payload compressed), an arm64 Image (raw), an Image.gz, a
// vmlinuz. The kernel keeps its built-in certificates
// (CONFIG_SYSTEM_TRUSTED_KEYS, certs/system_certificates.S) as plain DER in
// its data, so a CA the kernel carries appears verbatim either in the file
// itself or in a stream the file holds compressed with one of the kernel's
// compressors: gzip, xz, zstd, lz4 (legacy and frame), bzip2. Every such
// stream is found by its magic and decompressed (libarchive, in memory,
// bounded), wherever it starts, so no header layout is trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace imab {

struct KernelImageScan {
  std::vector<bool> found;  // parallel to the needles
  // From the first "Linux version X.Y" banner (init/version.c linux_banner).
  std::optional<std::pair<uint32_t, uint32_t>> version;
};

// Scans `image` for each of `needles`. kLimitExceeded when a compressed
// stream decompresses to more than `max_output` bytes (the
// decompression-bomb guard); a stream that stops being valid is used up to
// where it broke (a bzImage has trailing data after its payload).
Result<KernelImageScan> ScanKernelImage(std::span<const uint8_t> image,
                                        const std::vector<std::string>& needles,
                                        uint64_t max_output);

}  // namespace imab
