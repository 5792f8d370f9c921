#include "common/read/initramfs_codec.h"

#include <archive.h>
#include <archive_entry.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "common/read/byte_reader.h"
#include "common/read/handles.h"
#include "common/read/limits.h"

namespace imab {
namespace {

Error InitramfsError(ErrorCode code, const std::string& message) {
  return MakeError(code, "initramfs: " + message);
}

bool StartsWith(std::span<const uint8_t> bytes,
                std::initializer_list<uint8_t> magic) {
  return bytes.size() >= magic.size() &&
         std::equal(magic.begin(), magic.end(), bytes.begin());
}

// zlib and liblzma streams live in caller storage: these only end a stream
// once initialised (kept here, not in common/read/handles.h, so that adding
// them does not pull both headers into every file).
struct InflateEnder {
  void operator()(z_stream* s) const { inflateEnd(s); }
};
struct LzmaEnder {
  void operator()(lzma_stream* s) const { lzma_end(s); }
};
using InflateGuard = std::unique_ptr<z_stream, InflateEnder>;
using LzmaGuard = std::unique_ptr<lzma_stream, LzmaEnder>;

// ---- Decoding one stream, reporting the input it used ----
// The kernel's unpack_to_rootfs (init/initramfs.c) runs one decompressor,
// then goes on after the bytes it consumed; so must we, exactly.

Error Corrupt(const char* name, const std::string& why) {
  return InitramfsError(ErrorCode::kMalformed,
                        std::string("corrupt ") + name + " stream: " + why);
}

// Appends `n` bytes of `chunk` to `out` unless that passes `max_output`.
Status AppendBounded(const uint8_t* chunk, size_t n, uint64_t max_output,
                     const char* name, std::vector<uint8_t>& out) {
  if (n > max_output || out.size() > max_output - n) {
    return InitramfsError(ErrorCode::kLimitExceeded,
                          std::string(name) + " stream decompresses to " +
                              "more than " + std::to_string(max_output) +
                              " bytes");
  }
  out.insert(out.end(), chunk, chunk + n);
  return OkStatus();
}

// The gzip header as lib/decompress_inflate.c reads it: 1f 8b 08, flags,
// 6 bytes, then a NUL-terminated name when FNAME is set. It skips no other
// optional field, so a member with one would be misread: refused.
Result<size_t> GzipHeaderSize(std::span<const uint8_t> input) {
  constexpr uint8_t kFtext = 0x01;
  constexpr uint8_t kFname = 0x08;
  if (input.size() < 10 || input[0] != 0x1f || input[1] != 0x8b ||
      input[2] != 0x08) {
    return Corrupt("gzip", "not a deflate gzip member");
  }
  if ((input[3] & ~(kFtext | kFname)) != 0) {
    return Corrupt("gzip", "header flags the kernel cannot skip");
  }
  size_t pos = 10;
  if ((input[3] & kFname) != 0) {
    while (pos < input.size() && input[pos] != 0) {
      ++pos;
    }
    if (pos == input.size()) {
      return Corrupt("gzip", "unterminated name");
    }
    ++pos;
  }
  return pos;
}

uint32_t Le32At(std::span<const uint8_t> b, size_t at) {
  return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 |
         uint32_t{b[at + 2]} << 16 | uint32_t{b[at + 3]} << 24;
}

Result<DecodedInitramfsStream> DecodeGzipMember(std::span<const uint8_t> input,
                                                uint64_t max_output) {
  IMAB_ASSIGN_OR_RETURN(size_t header, GzipHeaderSize(input));
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) {
    return InitramfsError(ErrorCode::kInternal, "inflateInit2 failed");
  }
  InflateGuard guard(&z);
  std::span<const uint8_t> body = input.subspan(header);
  // zlib's API takes a non-const pointer but does not write through it.
  z.next_in = const_cast<Bytef*>(body.data());
  z.avail_in = static_cast<uInt>(std::min<size_t>(body.size(), UINT32_MAX));
  DecodedInitramfsStream out;
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = chunk.data();
    z.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      return Corrupt("gzip", rc == Z_BUF_ERROR  ? "truncated"
                             : z.msg != nullptr ? z.msg
                                                : "inflate failed");
    }
    IMAB_RETURN_IF_ERROR(AppendBounded(chunk.data(), chunk.size() - z.avail_out,
                                       max_output, "gzip", out.plain));
  }
  size_t trailer = header + z.total_in;
  if (input.size() - trailer < 8) {
    return Corrupt("gzip", "truncated trailer");
  }
  uint32_t crc = static_cast<uint32_t>(crc32(0, nullptr, 0));
  for (size_t pos = 0; pos < out.plain.size(); pos += UINT32_MAX) {
    size_t n = std::min<size_t>(out.plain.size() - pos, UINT32_MAX);
    crc = static_cast<uint32_t>(
        crc32(crc, out.plain.data() + pos, static_cast<uInt>(n)));
  }
  if (Le32At(input, trailer) != crc ||
      Le32At(input, trailer + 4) != static_cast<uint32_t>(out.plain.size())) {
    return Corrupt("gzip", "CRC32 or size in the trailer does not match");
  }
  out.consumed = trailer + 8;
  return out;
}

// The kernel's XZ Embedded verifies no check but none and CRC32 (Linux 6.1).
Result<DecodedInitramfsStream> DecodeXzStream(std::span<const uint8_t> input,
                                              uint64_t max_output) {
  lzma_stream x = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&x, UINT64_MAX, LZMA_TELL_ANY_CHECK) != LZMA_OK) {
    return InitramfsError(ErrorCode::kInternal, "lzma_stream_decoder failed");
  }
  LzmaGuard guard(&x);
  x.next_in = input.data();
  x.avail_in = input.size();
  DecodedInitramfsStream out;
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  lzma_ret rc = LZMA_OK;
  while (rc != LZMA_STREAM_END) {
    x.next_out = chunk.data();
    x.avail_out = chunk.size();
    rc = lzma_code(&x, LZMA_FINISH);
    if (rc == LZMA_GET_CHECK) {
      lzma_check check = lzma_get_check(&x);
      if (check != LZMA_CHECK_NONE && check != LZMA_CHECK_CRC32) {
        return Corrupt("xz",
                       "integrity check other than none or CRC32, "
                       "which the kernel cannot verify");
      }
    } else if (rc != LZMA_OK && rc != LZMA_STREAM_END) {
      return Corrupt("xz", rc == LZMA_BUF_ERROR
                               ? "truncated"
                               : "lzma error " + std::to_string(rc));
    }
    IMAB_RETURN_IF_ERROR(AppendBounded(chunk.data(), chunk.size() - x.avail_out,
                                       max_output, "xz", out.plain));
  }
  out.consumed = static_cast<size_t>(x.total_in);
  return out;
}

// One frame, as lib/decompress_unzstd.c decodes it.
Result<DecodedInitramfsStream> DecodeZstdFrame(std::span<const uint8_t> input,
                                               uint64_t max_output) {
  Ptr<ZSTD_DCtx> dctx(ZSTD_createDCtx());
  if (dctx == nullptr) {
    return InitramfsError(ErrorCode::kInternal, "ZSTD_createDCtx failed");
  }
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  DecodedInitramfsStream out;
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  size_t rc = 1;
  while (rc != 0) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    rc = ZSTD_decompressStream(dctx.get(), &o, &in);
    if (ZSTD_isError(rc) != 0) {
      return Corrupt("zstd", ZSTD_getErrorName(rc));
    }
    IMAB_RETURN_IF_ERROR(
        AppendBounded(chunk.data(), o.pos, max_output, "zstd", out.plain));
    if (rc != 0 && in.pos == in.size && o.pos < o.size) {
      return Corrupt("zstd", "truncated");
    }
  }
  out.consumed = in.pos;
  return out;
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

Result<DecodedInitramfsStream> DecodeInitramfsStream(
    std::span<const uint8_t> input, InitramfsCompression compression,
    uint64_t max_output) {
  switch (compression) {
    case InitramfsCompression::kGzip:
      return DecodeGzipMember(input, max_output);
    case InitramfsCompression::kXz:
      return DecodeXzStream(input, max_output);
    case InitramfsCompression::kZstd:
      return DecodeZstdFrame(input, max_output);
    case InitramfsCompression::kNone:
      break;
  }
  return InitramfsError(ErrorCode::kInternal, "nothing to decompress");
}

}  // namespace imab
