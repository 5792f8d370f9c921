// Compresses one initramfs segment: the release pipeline's side of
// common/read/initramfs_codec.h.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/read/initramfs_codec.h"
#include "common/read/result.h"

namespace imab {

// Compresses `plain` as one stream (not kNone): gzip -9, zstd -19, xz -6
// with a CRC32 check, since the kernel's XZ decoder refuses libarchive's
// CRC64 (the stream is rebuilt around the same LZMA2 block). kInternal when
// libarchive fails.
Result<std::vector<uint8_t>> CompressInitramfsSegment(
    std::span<const uint8_t> plain, InitramfsCompression compression);

}  // namespace imab
