// Compresses initramfs segments the way the kernel can unpack them again.
#include "common/write/initramfs_compress.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>

#include "common/read/byte_reader.h"
#include "common/read/limits.h"
#include "common/write/archive_handles.h"

namespace imab {
namespace {

Error InitramfsError(ErrorCode code, const std::string& message) {
  return MakeError(code, "initramfs: " + message);
}

constexpr char kGzipLevel[] = "9";
constexpr char kXzLevel[] = "6";
constexpr char kZstdLevel[] = "19";

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

}  // namespace

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
