#include "common/initramfs_codec.h"

#include <archive.h>
#include <archive_entry.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "common/byte_reader.h"
#include "common/handles.h"
#include "common/limits.h"

namespace imab {
namespace {

constexpr char kGzipLevel[] = "9";
constexpr char kXzLevel[] = "6";
constexpr char kZstdLevel[] = "19";

Error InitramfsError(ErrorCode code, const std::string& message) {
  return MakeError(code, "initramfs: " + message);
}

bool StartsWith(std::span<const uint8_t> bytes,
                std::initializer_list<uint8_t> magic) {
  return bytes.size() >= magic.size() &&
         std::equal(magic.begin(), magic.end(), bytes.begin());
}

std::string ArchiveMessage(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

// ---- Compression (libarchive raw format, fixed settings) ----

la_ssize_t AppendToVector(struct archive*, void* client, const void* buffer,
                          size_t length) {
  auto* out = static_cast<std::vector<uint8_t>*>(client);
  const auto* bytes = static_cast<const uint8_t*>(buffer);
  out->insert(out->end(), bytes, bytes + length);
  return static_cast<la_ssize_t>(length);
}

Status AddFilter(struct archive* a, InitramfsCompression compression) {
  int rc = ARCHIVE_FATAL;
  switch (compression) {
    case InitramfsCompression::kGzip:
      rc = archive_write_add_filter_gzip(a);
      if (rc == ARCHIVE_OK) {
        rc = archive_write_set_filter_option(a, "gzip", "compression-level",
                                             kGzipLevel);
      }
      // No mtime in the header, so equal inputs compress to equal bytes.
      if (rc == ARCHIVE_OK) {
        rc = archive_write_set_filter_option(a, "gzip", "timestamp", nullptr);
      }
      break;
    case InitramfsCompression::kXz:
      rc = archive_write_add_filter_xz(a);
      if (rc == ARCHIVE_OK) {
        rc = archive_write_set_filter_option(a, "xz", "compression-level",
                                             kXzLevel);
      }
      // One thread gives one block, which XzUseCrc32 expects.
      if (rc == ARCHIVE_OK) {
        rc = archive_write_set_filter_option(a, "xz", "threads", "1");
      }
      break;
    case InitramfsCompression::kZstd:
      rc = archive_write_add_filter_zstd(a);
      if (rc == ARCHIVE_OK) {
        rc = archive_write_set_filter_option(a, "zstd", "compression-level",
                                             kZstdLevel);
      }
      break;
    case InitramfsCompression::kNone:
      rc = ARCHIVE_OK;
      break;
  }
  if (rc != ARCHIVE_OK) {
    return InitramfsError(ErrorCode::kInternal,
                          "libarchive filter setup: " + ArchiveMessage(a));
  }
  return OkStatus();
}

Result<std::vector<uint8_t>> LibarchiveCompress(
    std::span<const uint8_t> input, InitramfsCompression compression) {
  ArchiveWritePtr a(archive_write_new());
  ArchiveEntryPtr entry(archive_entry_new());
  if (a == nullptr || entry == nullptr) {
    return InitramfsError(ErrorCode::kInternal, "libarchive allocation");
  }
  std::vector<uint8_t> out;
  IMAB_RETURN_IF_ERROR(AddFilter(a.get(), compression));
  archive_entry_set_pathname(entry.get(), "initramfs");
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(input.size()));
  // bytes_in_last_block 1: no zero padding after the compressed stream.
  if (archive_write_set_format_raw(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open2(a.get(), &out, nullptr, AppendToVector, nullptr,
                          nullptr) != ARCHIVE_OK ||
      archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) {
    return InitramfsError(ErrorCode::kInternal,
                          "libarchive compress: " + ArchiveMessage(a.get()));
  }
  size_t pos = 0;
  while (pos < input.size()) {
    size_t n = std::min(kStreamChunkBytes, input.size() - pos);
    la_ssize_t wrote = archive_write_data(a.get(), input.data() + pos, n);
    if (wrote <= 0) {
      return InitramfsError(ErrorCode::kInternal,
                            "libarchive compress: " + ArchiveMessage(a.get()));
    }
    pos += static_cast<size_t>(wrote);
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return InitramfsError(ErrorCode::kInternal,
                          "libarchive compress: " + ArchiveMessage(a.get()));
  }
  return out;
}

// ---- xz check rewrite ----
// libarchive's xz writer always uses a CRC64 check, but the kernel's XZ
// Embedded decoder accepts only none or CRC32. The stream is rebuilt around
// the same LZMA2 block with a CRC32 check (xz file format 1.0.4 §2, §3, §4).

uint32_t Crc32(std::span<const uint8_t> data) {
  static constexpr std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) {
        c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      }
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t b : data) {
    crc = kTable[(crc ^ b) & 0xffu] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

void PutLe32(uint32_t v, std::vector<uint8_t>& out) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}

void PutVli(uint64_t v, std::vector<uint8_t>& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

Result<uint64_t> GetVli(ByteReader& r) {
  uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    IMAB_ASSIGN_OR_RETURN(uint8_t b, r.ReadU8());
    v |= uint64_t{b & 0x7fu} << (7 * i);
    if ((b & 0x80) == 0) {
      return v;
    }
  }
  return MakeError(ErrorCode::kInternal, "xz: bad VLI");
}

Result<std::vector<uint8_t>> XzUseCrc32(std::span<const uint8_t> xz,
                                        std::span<const uint8_t> plain) {
  const Error bad = InitramfsError(ErrorCode::kInternal,
                                   "unexpected xz layout from libarchive");
  constexpr size_t kHeader = 12;
  constexpr size_t kFooter = 12;
  constexpr size_t kCrc64 = 8;
  if (xz.size() < kHeader + kFooter || xz[7] != 0x04) {
    return bad;
  }
  ByteReader footer(xz.subspan(xz.size() - kFooter));
  IMAB_RETURN_IF_ERROR(footer.Skip(4));
  IMAB_ASSIGN_OR_RETURN(uint32_t backward, footer.ReadU32Le());
  uint64_t index_size = (uint64_t{backward} + 1) * 4;
  if (index_size > xz.size() - kHeader - kFooter) {
    return bad;
  }
  size_t index_pos = xz.size() - kFooter - static_cast<size_t>(index_size);
  ByteReader index(xz.subspan(index_pos, static_cast<size_t>(index_size)));
  IMAB_ASSIGN_OR_RETURN(uint8_t indicator, index.ReadU8());
  IMAB_ASSIGN_OR_RETURN(uint64_t records, GetVli(index));
  IMAB_ASSIGN_OR_RETURN(uint64_t unpadded, GetVli(index));
  IMAB_ASSIGN_OR_RETURN(uint64_t uncompressed, GetVli(index));
  if (indicator != 0 || records != 1 || uncompressed != plain.size() ||
      unpadded < kCrc64 + 1 || kHeader + unpadded - kCrc64 > index_pos) {
    return bad;
  }
  // Block header and LZMA2 data stay as they are; only the check changes.
  size_t block_body = static_cast<size_t>(unpadded - kCrc64);
  std::vector<uint8_t> out = {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x01};
  PutLe32(Crc32(std::span<const uint8_t>(out).subspan(6, 2)), out);
  auto body = xz.subspan(kHeader, block_body);
  out.insert(out.end(), body.begin(), body.end());
  out.insert(out.end(), (4 - block_body % 4) % 4, uint8_t{0});
  PutLe32(Crc32(plain), out);
  size_t new_index_pos = out.size();
  out.push_back(0);
  PutVli(1, out);
  PutVli(block_body + 4, out);
  PutVli(plain.size(), out);
  out.insert(out.end(), (4 - (out.size() - new_index_pos) % 4) % 4, uint8_t{0});
  PutLe32(Crc32(std::span<const uint8_t>(out).subspan(new_index_pos)), out);
  size_t new_index_size = out.size() - new_index_pos;
  std::vector<uint8_t> tail;
  PutLe32(static_cast<uint32_t>(new_index_size / 4 - 1), tail);
  tail.push_back(0x00);
  tail.push_back(0x01);
  PutLe32(Crc32(tail), out);
  out.insert(out.end(), tail.begin(), tail.end());
  out.push_back('Y');
  out.push_back('Z');
  return out;
}

// zlib and liblzma streams live in caller storage: these only end a stream
// once initialised (kept here, not in common/handles.h, so that adding them
// does not pull both headers into every file).
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

Result<std::vector<uint8_t>> CompressInitramfsSegment(
    std::span<const uint8_t> plain, InitramfsCompression compression) {
  switch (compression) {
    case InitramfsCompression::kNone:
      return InitramfsError(ErrorCode::kInternal, "nothing to compress");
    case InitramfsCompression::kGzip:
    case InitramfsCompression::kZstd:
      return LibarchiveCompress(plain, compression);
    case InitramfsCompression::kXz: {
      IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> xz,
                            LibarchiveCompress(plain, compression));
      return XzUseCrc32(xz, plain);
    }
  }
  return InitramfsError(ErrorCode::kInternal, "unknown compression");
}

}  // namespace imab
