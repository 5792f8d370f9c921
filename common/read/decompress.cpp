#include "common/read/decompress.h"

#include <bzlib.h>
#include <lz4.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <string>

#include "common/read/handles.h"
#include "common/read/limits.h"

namespace imab {
namespace {

// The decoders' states live in caller storage or are the libraries' own
// handles: these end them once initialised (kept here, not in
// common/read/handles.h, so that adding them does not pull every
// compression header into every file).
struct InflateEnder {
  void operator()(z_stream* s) const { inflateEnd(s); }
};
struct LzmaEnder {
  void operator()(lzma_stream* s) const { lzma_end(s); }
};
struct Bzip2Ender {
  void operator()(bz_stream* s) const { BZ2_bzDecompressEnd(s); }
};
struct Lz4FrameFreer {
  void operator()(LZ4F_dctx* d) const { LZ4F_freeDecompressionContext(d); }
};
using InflateGuard = std::unique_ptr<z_stream, InflateEnder>;
using LzmaGuard = std::unique_ptr<lzma_stream, LzmaEnder>;
using Bzip2Guard = std::unique_ptr<bz_stream, Bzip2Ender>;
using Lz4FramePtr = std::unique_ptr<LZ4F_dctx, Lz4FrameFreer>;

// lib/decompress_unlz4.c: `lz4 -l` cuts the input into 8 MiB blocks; one
// compresses to at most LZ4_COMPRESSBOUND of that.
constexpr size_t kLz4LegacyBlockBytes = 8u << 20;
constexpr size_t kLz4LegacyMaxCompressedBytes =
    kLz4LegacyBlockBytes + kLz4LegacyBlockBytes / 255 + 16;
constexpr uint32_t kLz4LegacyMagic = 0x184c2102;

Error Corrupt(Compression c, const std::string& why) {
  return MakeError(
      ErrorCode::kMalformed,
      std::string("corrupt ") + CompressionName(c) + " stream: " + why);
}

Error SetupFailed(const char* what) {
  return MakeError(ErrorCode::kInternal, std::string(what) + " failed");
}

// Appends `n` bytes at `chunk` to `out` unless that passes `max_output`:
// the decompression-bomb guard, checked before the bytes are kept.
Status AppendBounded(const uint8_t* chunk, size_t n, uint64_t max_output,
                     Compression c, std::vector<uint8_t>* out) {
  if (n > max_output || out->size() > max_output - n) {
    return MakeError(ErrorCode::kLimitExceeded,
                     std::string(CompressionName(c)) +
                         " stream decompresses to more than " +
                         std::to_string(max_output) + " bytes");
  }
  out->insert(out->end(), chunk, chunk + n);
  return OkStatus();
}

uint32_t Le32At(std::span<const uint8_t> b, size_t at) {
  return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 |
         uint32_t{b[at + 2]} << 16 | uint32_t{b[at + 3]} << 24;
}

// zlib and libbz2 count input in 32-bit units; a longer input is offered
// up to that much (more than every limit in limits.h).
unsigned int ClampedLength(size_t n) {
  return static_cast<unsigned int>(std::min<size_t>(n, UINT_MAX));
}

// ---- gzip (lib/decompress_inflate.c) ----

// The gzip header as the kernel reads it: 1f 8b 08, flags, 6 bytes, then
// a NUL-terminated name when FNAME is set. It skips no other optional
// field, so a member with one would be misread: refused.
Result<size_t> GzipHeaderSize(std::span<const uint8_t> input) {
  constexpr uint8_t kFtext = 0x01;
  constexpr uint8_t kFname = 0x08;
  if (input.size() < 10 || input[0] != 0x1f || input[1] != 0x8b ||
      input[2] != 0x08) {
    return Corrupt(Compression::kGzip, "not a deflate gzip member");
  }
  if ((input[3] & ~(kFtext | kFname)) != 0) {
    return Corrupt(Compression::kGzip, "header flags the kernel cannot skip");
  }
  size_t pos = 10;
  if ((input[3] & kFname) != 0) {
    while (pos < input.size() && input[pos] != 0) {
      ++pos;
    }
    if (pos == input.size()) {
      return Corrupt(Compression::kGzip, "unterminated name");
    }
    ++pos;
  }
  return pos;
}

// The raw deflate body; `*crc` is the CRC32 of what it produced.
Result<size_t> Inflate(std::span<const uint8_t> body, uint64_t max_output,
                       std::vector<uint8_t>* out, uint32_t* crc) {
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) {
    return SetupFailed("inflateInit2");
  }
  InflateGuard guard(&z);
  // zlib's API takes a non-const pointer but does not write through it.
  z.next_in = const_cast<Bytef*>(body.data());
  z.avail_in = ClampedLength(body.size());
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  *crc = static_cast<uint32_t>(crc32(0, nullptr, 0));
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = chunk.data();
    z.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      return Corrupt(Compression::kGzip, rc == Z_BUF_ERROR  ? "truncated"
                                         : z.msg != nullptr ? z.msg
                                                            : "inflate failed");
    }
    const size_t n = chunk.size() - z.avail_out;
    IMAB_RETURN_IF_ERROR(
        AppendBounded(chunk.data(), n, max_output, Compression::kGzip, out));
    *crc =
        static_cast<uint32_t>(crc32(*crc, chunk.data(), static_cast<uInt>(n)));
  }
  return static_cast<size_t>(z.total_in);
}

Result<size_t> DecodeGzip(std::span<const uint8_t> input, uint64_t max_output,
                          std::vector<uint8_t>* out) {
  IMAB_ASSIGN_OR_RETURN(size_t header, GzipHeaderSize(input));
  const size_t before = out->size();
  uint32_t crc = 0;
  IMAB_ASSIGN_OR_RETURN(size_t body,
                        Inflate(input.subspan(header), max_output, out, &crc));
  const size_t trailer = header + body;
  if (input.size() - trailer < 8) {
    return Corrupt(Compression::kGzip, "truncated trailer");
  }
  if (Le32At(input, trailer) != crc ||
      Le32At(input, trailer + 4) !=
          static_cast<uint32_t>(out->size() - before)) {
    return Corrupt(Compression::kGzip,
                   "CRC32 or size in the trailer does not match");
  }
  return trailer + 8;
}

// ---- xz and lzma (lib/decompress_unxz.c, lib/decompress_unlzma.c) ----

// Runs an initialised liblzma decoder over `input` to its stream end.
Result<size_t> RunLzma(lzma_stream& x, std::span<const uint8_t> input,
                       Compression c, uint64_t max_output,
                       std::vector<uint8_t>* out) {
  x.next_in = input.data();
  x.avail_in = input.size();
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  lzma_ret rc = LZMA_OK;
  while (rc != LZMA_STREAM_END) {
    x.next_out = chunk.data();
    x.avail_out = chunk.size();
    rc = lzma_code(&x, LZMA_FINISH);
    if (rc == LZMA_GET_CHECK) {
      // Only the xz decoder tells the check. The kernel's XZ Embedded is
      // built without XZ_DEC_ANY_CHECK: it verifies none and CRC32 only.
      const lzma_check check = lzma_get_check(&x);
      if (check != LZMA_CHECK_NONE && check != LZMA_CHECK_CRC32) {
        return Corrupt(c,
                       "integrity check other than none or CRC32, "
                       "which the kernel cannot verify");
      }
    } else if (rc == LZMA_MEMLIMIT_ERROR) {
      return MakeError(ErrorCode::kLimitExceeded,
                       std::string(CompressionName(c)) +
                           " stream needs more than " +
                           std::to_string(kMaxLzmaDecoderMemoryBytes) +
                           " bytes of decoder memory");
    } else if (rc != LZMA_OK && rc != LZMA_STREAM_END) {
      return Corrupt(c, rc == LZMA_BUF_ERROR
                            ? "truncated"
                            : "lzma error " + std::to_string(rc));
    }
    IMAB_RETURN_IF_ERROR(AppendBounded(chunk.data(), chunk.size() - x.avail_out,
                                       max_output, c, out));
  }
  return static_cast<size_t>(x.total_in);
}

Result<size_t> DecodeXz(std::span<const uint8_t> input, uint64_t max_output,
                        std::vector<uint8_t>* out) {
  lzma_stream x = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&x, UINT64_MAX, LZMA_TELL_ANY_CHECK) != LZMA_OK) {
    return SetupFailed("lzma_stream_decoder");
  }
  LzmaGuard guard(&x);
  return RunLzma(x, input, Compression::kXz, max_output, out);
}

// The 13-byte header (properties, dictionary size, uncompressed size or
// all ones for "ends with an end marker") is liblzma's to check; its
// dictionary size is what the decoder allocates, hence the memory limit.
Result<size_t> DecodeLzma(std::span<const uint8_t> input, uint64_t max_output,
                          std::vector<uint8_t>* out) {
  lzma_stream x = LZMA_STREAM_INIT;
  if (lzma_alone_decoder(&x, kMaxLzmaDecoderMemoryBytes) != LZMA_OK) {
    return SetupFailed("lzma_alone_decoder");
  }
  LzmaGuard guard(&x);
  return RunLzma(x, input, Compression::kLzma, max_output, out);
}

// ---- zstd (lib/decompress_unzstd.c): one frame ----

Result<size_t> DecodeZstd(std::span<const uint8_t> input, uint64_t max_output,
                          std::vector<uint8_t>* out) {
  Ptr<ZSTD_DCtx> dctx(ZSTD_createDCtx());
  if (dctx == nullptr) {
    return SetupFailed("ZSTD_createDCtx");
  }
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  size_t rc = 1;
  while (rc != 0) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    rc = ZSTD_decompressStream(dctx.get(), &o, &in);
    if (ZSTD_isError(rc) != 0) {
      return Corrupt(Compression::kZstd, ZSTD_getErrorName(rc));
    }
    IMAB_RETURN_IF_ERROR(AppendBounded(chunk.data(), o.pos, max_output,
                                       Compression::kZstd, out));
    if (rc != 0 && in.pos == in.size && o.pos < o.size) {
      return Corrupt(Compression::kZstd, "truncated");
    }
  }
  return in.pos;
}

// ---- lz4 (lib/decompress_unlz4.c) ----

// The legacy format: the magic, then blocks, each a little-endian 32-bit
// compressed size and that many bytes of one LZ4 block of at most 8 MiB.
Result<size_t> DecodeLz4Legacy(std::span<const uint8_t> input,
                               uint64_t max_output, std::vector<uint8_t>* out) {
  constexpr Compression c = Compression::kLz4Legacy;
  if (input.size() < 4 || Le32At(input, 0) != kLz4LegacyMagic) {
    return Corrupt(c, "no legacy lz4 magic");
  }
  // A block is decoded whole into scratch, then bounded as it is kept.
  auto block = std::make_unique_for_overwrite<char[]>(kLz4LegacyBlockBytes);
  size_t pos = 4;
  while (input.size() - pos >= 4) {
    const uint32_t size = Le32At(input, pos);
    if (size == 0) {
      break;  // the kernel's end of stream
    }
    pos += 4;
    if (size == kLz4LegacyMagic) {
      continue;  // a concatenated stream goes on
    }
    if (size > kLz4LegacyMaxCompressedBytes) {
      return Corrupt(c, "block larger than an 8 MiB block compresses to");
    }
    if (size > input.size() - pos) {
      return Corrupt(c, "truncated");
    }
    const int n = LZ4_decompress_safe(
        reinterpret_cast<const char*>(input.data() + pos), block.get(),
        static_cast<int>(size), static_cast<int>(kLz4LegacyBlockBytes));
    if (n < 0) {
      return Corrupt(
          c, "block at offset " + std::to_string(pos - 4) + " does not decode");
    }
    IMAB_RETURN_IF_ERROR(
        AppendBounded(reinterpret_cast<const uint8_t*>(block.get()),
                      static_cast<size_t>(n), max_output, c, out));
    pos += size;
  }
  return pos;
}

// The frame format (not the kernel's, a bootloader's: U-Boot's Image.lz4),
// content checksum checked when the frame has one.
Result<size_t> DecodeLz4Frame(std::span<const uint8_t> input,
                              uint64_t max_output, std::vector<uint8_t>* out) {
  constexpr Compression c = Compression::kLz4Frame;
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION)) != 0) {
    return SetupFailed("LZ4F_createDecompressionContext");
  }
  Lz4FramePtr dctx(raw);
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  size_t pos = 0;
  size_t rc = 1;
  while (rc != 0) {
    size_t produced = chunk.size();
    size_t taken = input.size() - pos;
    rc = LZ4F_decompress(dctx.get(), chunk.data(), &produced,
                         input.data() + pos, &taken, nullptr);
    if (LZ4F_isError(rc) != 0) {
      return Corrupt(c, LZ4F_getErrorName(rc));
    }
    pos += taken;
    IMAB_RETURN_IF_ERROR(
        AppendBounded(chunk.data(), produced, max_output, c, out));
    // No progress: the input ran out before the frame's end.
    if (rc != 0 && taken == 0 && produced == 0) {
      return Corrupt(c, "truncated");
    }
  }
  return pos;
}

// ---- bzip2 (lib/decompress_bunzip2.c): one stream ----

Result<size_t> DecodeBzip2(std::span<const uint8_t> input, uint64_t max_output,
                           std::vector<uint8_t>* out) {
  constexpr Compression c = Compression::kBzip2;
  bz_stream b{};
  if (BZ2_bzDecompressInit(&b, /*verbosity=*/0, /*small=*/0) != BZ_OK) {
    return SetupFailed("BZ2_bzDecompressInit");
  }
  Bzip2Guard guard(&b);
  // libbz2's API takes a non-const pointer but does not write through it.
  b.next_in = const_cast<char*>(reinterpret_cast<const char*>(input.data()));
  b.avail_in = ClampedLength(input.size());
  std::vector<char> chunk(kStreamChunkBytes);
  int rc = BZ_OK;
  while (rc != BZ_STREAM_END) {
    b.next_out = chunk.data();
    b.avail_out = static_cast<unsigned int>(chunk.size());
    rc = BZ2_bzDecompress(&b);
    if (rc != BZ_OK && rc != BZ_STREAM_END) {
      return Corrupt(c, "bzip2 error " + std::to_string(rc));
    }
    const size_t n = chunk.size() - b.avail_out;
    IMAB_RETURN_IF_ERROR(AppendBounded(
        reinterpret_cast<const uint8_t*>(chunk.data()), n, max_output, c, out));
    if (rc == BZ_OK && b.avail_in == 0 && n < chunk.size()) {
      return Corrupt(c, "truncated");
    }
  }
  return (static_cast<size_t>(b.total_in_hi32) << 32) | b.total_in_lo32;
}

}  // namespace

const char* CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kXz:
      return "xz";
    case Compression::kLzma:
      return "lzma";
    case Compression::kZstd:
      return "zstd";
    case Compression::kLz4Legacy:
      return "lz4 legacy";
    case Compression::kLz4Frame:
      return "lz4 frame";
    case Compression::kBzip2:
      return "bzip2";
  }
  return "unknown";
}

Result<size_t> DecompressStream(std::span<const uint8_t> input,
                                Compression compression, uint64_t max_output,
                                std::vector<uint8_t>* out) {
  switch (compression) {
    case Compression::kGzip:
      return DecodeGzip(input, max_output, out);
    case Compression::kXz:
      return DecodeXz(input, max_output, out);
    case Compression::kLzma:
      return DecodeLzma(input, max_output, out);
    case Compression::kZstd:
      return DecodeZstd(input, max_output, out);
    case Compression::kLz4Legacy:
      return DecodeLz4Legacy(input, max_output, out);
    case Compression::kLz4Frame:
      return DecodeLz4Frame(input, max_output, out);
    case Compression::kBzip2:
      return DecodeBzip2(input, max_output, out);
  }
  return MakeError(ErrorCode::kInternal, "unknown compression");
}

}  // namespace imab
