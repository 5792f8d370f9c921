// The compressed segments of an initramfs: detecting the compression from
// the first bytes, decompressing within a bound (the decompression-bomb
// guard, common/read/decompress.h does the work in memory).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/read/result.h"

namespace imab {

// Detected from the first bytes of a segment: gzip 1f 8b, xz fd 37 7a 58 5a
// 00, zstd 28 b5 2f fd, none "0707".
enum class InitramfsCompression { kNone, kGzip, kXz, kZstd };

// Short name ("gzip") for messages and reports.
const char* InitramfsCompressionName(InitramfsCompression compression);

// The compression `bytes` begin with; nullopt for anything else.
std::optional<InitramfsCompression> DetectInitramfsCompression(
    std::span<const uint8_t> bytes);

// One decoded compressed stream and how many input bytes it occupied.
struct DecodedInitramfsStream {
  std::vector<uint8_t> plain;
  size_t consumed = 0;  // bytes of `input` the stream used, trailer included
};

// Decodes exactly one stream of `compression` (not kNone) at the start of
// `input`, as the kernel's decompressor for it would (lib/decompress_*.c in
// Linux 6.1), and stops at its end: a gzip member (header flags FTEXT and
// FNAME only, CRC32 and size trailer checked), an xz stream (check none or
// CRC32), a zstd frame. Bytes after the stream are left for the caller.
// kMalformed "initramfs: corrupt gzip stream: ..." for a damaged or
// truncated stream or one the kernel cannot read, kLimitExceeded when the
// output would pass `max_output` bytes (checked before it does).
Result<DecodedInitramfsStream> DecodeInitramfsStream(
    std::span<const uint8_t> input, InitramfsCompression compression,
    uint64_t max_output);

}  // namespace imab
