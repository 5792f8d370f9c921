#include "common/read/initramfs_codec.h"

#include <algorithm>
#include <string>

#include "common/read/decompress.h"

namespace imab {
namespace {

bool StartsWith(std::span<const uint8_t> bytes,
                std::initializer_list<uint8_t> magic) {
  return bytes.size() >= magic.size() &&
         std::equal(magic.begin(), magic.end(), bytes.begin());
}

}  // namespace

const char* InitramfsCompressionName(InitramfsCompression compression) {
  switch (compression) {
    case InitramfsCompression::kNone:
      return "none";
    case InitramfsCompression::kGzip:
      return "gzip";
    case InitramfsCompression::kXz:
      return "xz";
    case InitramfsCompression::kZstd:
      return "zstd";
  }
  return "unknown";
}

std::optional<InitramfsCompression> DetectInitramfsCompression(
    std::span<const uint8_t> bytes) {
  if (StartsWith(bytes, {'0', '7', '0', '7'})) {
    return InitramfsCompression::kNone;
  }
  if (StartsWith(bytes, {0x1f, 0x8b})) {
    return InitramfsCompression::kGzip;
  }
  if (StartsWith(bytes, {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00})) {
    return InitramfsCompression::kXz;
  }
  if (StartsWith(bytes, {0x28, 0xb5, 0x2f, 0xfd})) {
    return InitramfsCompression::kZstd;
  }
  return std::nullopt;
}

// The kernel's unpack_to_rootfs (init/initramfs.c) runs one decompressor,
// then goes on after the bytes it consumed; so must we, exactly.
Result<DecodedInitramfsStream> DecodeInitramfsStream(
    std::span<const uint8_t> input, InitramfsCompression compression,
    uint64_t max_output) {
  Compression codec = Compression::kGzip;
  switch (compression) {
    case InitramfsCompression::kGzip:
      codec = Compression::kGzip;
      break;
    case InitramfsCompression::kXz:
      codec = Compression::kXz;
      break;
    case InitramfsCompression::kZstd:
      codec = Compression::kZstd;
      break;
    case InitramfsCompression::kNone:
      return MakeError(ErrorCode::kInternal,
                       "initramfs: nothing to decompress");
  }
  DecodedInitramfsStream out;
  Result<size_t> consumed =
      DecompressStream(input, codec, max_output, &out.plain);
  if (!consumed.has_value()) {
    Error error = std::move(consumed).error();
    error.message = "initramfs: " + error.message;
    return error;
  }
  out.consumed = *consumed;
  return out;
}

}  // namespace imab
