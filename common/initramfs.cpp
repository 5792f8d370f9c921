#include "common/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <string_view>

#include "common/byte_reader.h"
#include "common/handles.h"

namespace imab {
namespace {

constexpr std::string_view kEvmPath = "etc/keys/x509_evm.der";
constexpr std::string_view kImaPath = "etc/keys/x509_ima.der";
constexpr size_t kMaxSymlinkHops = 8;
constexpr uint32_t kDirMode = S_IFDIR | 0755;
constexpr uint32_t kFileMode = S_IFREG | 0644;
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

std::optional<InitramfsCompression> DetectCompression(
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

std::string ArchiveMessage(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

// ---- Decompression (libarchive raw format, one filter) ----

Result<std::vector<uint8_t>> Decompress(std::span<const uint8_t> input,
                                        InitramfsCompression compression,
                                        uint64_t max_output) {
  const char* name = InitramfsCompressionName(compression);
  ArchiveReadPtr a(archive_read_new());
  if (a == nullptr) {
    return InitramfsError(ErrorCode::kInternal, "archive_read_new failed");
  }
  int rc = ARCHIVE_FATAL;
  int expected_code = ARCHIVE_FILTER_NONE;
  switch (compression) {
    case InitramfsCompression::kGzip:
      rc = archive_read_support_filter_gzip(a.get());
      expected_code = ARCHIVE_FILTER_GZIP;
      break;
    case InitramfsCompression::kXz:
      rc = archive_read_support_filter_xz(a.get());
      expected_code = ARCHIVE_FILTER_XZ;
      break;
    case InitramfsCompression::kZstd:
      rc = archive_read_support_filter_zstd(a.get());
      expected_code = ARCHIVE_FILTER_ZSTD;
      break;
    case InitramfsCompression::kNone:
      return InitramfsError(ErrorCode::kInternal, "nothing to decompress");
  }
  // ARCHIVE_WARN means "an external program will be used": refuse that.
  if (rc != ARCHIVE_OK ||
      archive_read_support_format_raw(a.get()) != ARCHIVE_OK ||
      archive_read_open_memory(a.get(), input.data(), input.size()) !=
          ARCHIVE_OK) {
    return InitramfsError(
        ErrorCode::kMalformed,
        std::string("corrupt ") + name + " stream: " + ArchiveMessage(a.get()));
  }
  struct archive_entry* entry = nullptr;
  if (archive_read_next_header(a.get(), &entry) != ARCHIVE_OK ||
      archive_filter_code(a.get(), 0) != expected_code) {
    return InitramfsError(
        ErrorCode::kMalformed,
        std::string("corrupt ") + name + " stream: " + ArchiveMessage(a.get()));
  }
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  while (true) {
    la_ssize_t n = archive_read_data(a.get(), chunk.data(), chunk.size());
    if (n < 0) {
      return InitramfsError(ErrorCode::kMalformed,
                            std::string("corrupt ") + name +
                                " stream: " + ArchiveMessage(a.get()));
    }
    if (n == 0) {
      break;
    }
    // Decompression bomb: stop before the output passes the bound.
    size_t got = static_cast<size_t>(n);
    if (got > max_output || out.size() > max_output - got) {
      return InitramfsError(ErrorCode::kLimitExceeded,
                            std::string(name) + " stream decompresses to " +
                                "more than " + std::to_string(max_output) +
                                " bytes");
    }
    out.insert(out.end(), chunk.begin(),
               chunk.begin() + static_cast<std::ptrdiff_t>(got));
  }
  return out;
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

// ---- Names and lookup ----

// "./etc/keys/x" and "/etc/keys/x" both name etc/keys/x; "." is the root.
std::string NormalizeName(std::string_view name) {
  std::vector<std::string_view> parts;
  while (!name.empty()) {
    size_t slash = name.find('/');
    std::string_view part = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view()
                                           : name.substr(slash + 1);
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (std::string_view part : parts) {
    if (!out.empty()) {
      out += '/';
    }
    out += part;
  }
  return out;
}

struct Location {
  size_t segment = 0;
  size_t archive = 0;
  size_t member = 0;
};

// The last member with each normalized name, as the kernel would leave it.
class MemberIndex {
 public:
  explicit MemberIndex(const std::vector<InitramfsSegment>& segments)
      : segments_(segments) {
    for (size_t s = 0; s < segments.size(); ++s) {
      for (size_t a = 0; a < segments[s].archives.size(); ++a) {
        const auto& members = segments[s].archives[a].members;
        for (size_t m = 0; m < members.size(); ++m) {
          Put(NormalizeName(members[m].name), Location{s, a, m});
        }
      }
    }
  }

  std::optional<Location> Find(std::string_view name) const {
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->first == name) {
        return it->second;
      }
    }
    return std::nullopt;
  }

  const CpioMember& At(const Location& l) const {
    return segments_[l.segment].archives[l.archive].members[l.member];
  }

  // Content of the regular file `name` names, following symlinks inside the
  // image; nullopt when the name does not exist.
  Result<std::optional<std::vector<uint8_t>>> Resolve(
      std::string_view name) const;

 private:
  void Put(std::string name, Location l) {
    entries_.emplace_back(std::move(name), l);
  }
  std::vector<uint8_t> HardlinkData(const Location& l) const;

  const std::vector<InitramfsSegment>& segments_;
  std::vector<std::pair<std::string, Location>> entries_;
};

std::vector<uint8_t> MemberIndex::HardlinkData(const Location& l) const {
  const CpioMember& m = At(l);
  if (!m.data.empty() || m.nlink < 2) {
    return m.data;
  }
  // newc stores a hard-linked file's data with one link of the group only.
  for (const CpioMember& other :
       segments_[l.segment].archives[l.archive].members) {
    if (other.ino == m.ino && other.devmajor == m.devmajor &&
        other.devminor == m.devminor && !other.data.empty()) {
      return other.data;
    }
  }
  return m.data;
}

Result<std::optional<std::vector<uint8_t>>> MemberIndex::Resolve(
    std::string_view name) const {
  std::string path(name);
  for (size_t hop = 0; hop <= kMaxSymlinkHops; ++hop) {
    std::optional<Location> l = Find(path);
    if (!l.has_value()) {
      if (hop == 0) {
        return std::optional<std::vector<uint8_t>>();
      }
      return InitramfsError(ErrorCode::kMalformed,
                            std::string(name) + " is a symlink to '" + path +
                                "', which is not in the image");
    }
    const CpioMember& m = At(*l);
    if (S_ISREG(m.mode)) {
      return std::optional<std::vector<uint8_t>>(HardlinkData(*l));
    }
    if (!S_ISLNK(m.mode)) {
      return InitramfsError(ErrorCode::kMalformed,
                            path + " is not a regular file or symlink");
    }
    std::string target(m.data.begin(), m.data.end());
    std::string dir = path.substr(0, path.rfind('/') + 1);
    path = NormalizeName(target.starts_with('/') ? target : dir + target);
  }
  return InitramfsError(ErrorCode::kMalformed,
                        std::string(name) + ": too many symlink hops");
}

// ---- Editing ----

// A regular file whose content may be replaced in place.
Status CheckReplaceable(const CpioMember& m, std::string_view what) {
  if (!S_ISREG(m.mode)) {
    return InitramfsError(ErrorCode::kMalformed,
                          std::string(what) + " is not a regular file");
  }
  // Changing one link of a group would silently change the others.
  if (m.nlink > 1) {
    return InitramfsError(ErrorCode::kMalformed,
                          std::string(what) + " is hard linked");
  }
  return OkStatus();
}

Status CheckCertificate(std::span<const uint8_t> der, const char* what) {
  if (der.empty() || der.size() > kMaxCertificateBytes) {
    return InitramfsError(ErrorCode::kInvalidArgument,
                          std::string(what) + " certificate of " +
                              std::to_string(der.size()) + " bytes (1.." +
                              std::to_string(kMaxCertificateBytes) + ")");
  }
  return OkStatus();
}

// Appends `name` (normalized) to `archive` unless the image already has it.
Status EnsureMember(const MemberIndex& index, CpioArchive& archive,
                    std::string_view name, uint32_t mode,
                    std::span<const uint8_t> data) {
  if (std::optional<Location> l = index.Find(name); l.has_value()) {
    if ((index.At(*l).mode & S_IFMT) != (mode & S_IFMT)) {
      return InitramfsError(ErrorCode::kMalformed,
                            std::string(name) + " has an unexpected type");
    }
    return OkStatus();
  }
  bool dot_slash =
      std::any_of(archive.members.begin(), archive.members.end(),
                  [](const CpioMember& m) { return m.name.starts_with("./"); });
  uint32_t max_ino = 0;
  for (const CpioMember& m : archive.members) {
    max_ino = std::max(max_ino, m.ino);
  }
  CpioMember m;
  m.name = (dot_slash ? "./" : "") + std::string(name);
  m.ino = max_ino + 1;
  m.mode = mode;
  m.nlink = S_ISDIR(mode) ? 2 : 1;
  m.data.assign(data.begin(), data.end());
  m.upper_hex = archive.trailer.upper_hex;
  archive.members.push_back(std::move(m));
  return OkStatus();
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

Result<std::vector<InitramfsSegment>> ParseInitramfs(
    std::span<const uint8_t> image, const InitramfsLimits& limits) {
  if (image.size() > limits.max_image_bytes) {
    return InitramfsError(ErrorCode::kLimitExceeded,
                          "image larger than " +
                              std::to_string(limits.max_image_bytes) +
                              " bytes");
  }
  if (image.empty()) {
    return InitramfsError(ErrorCode::kMalformed, "empty image");
  }
  std::vector<InitramfsSegment> segments;
  size_t members_seen = 0;
  uint64_t decompressed = 0;
  size_t pos = 0;
  while (pos < image.size()) {
    std::span<const uint8_t> rest = image.subspan(pos);
    std::optional<InitramfsCompression> kind = DetectCompression(rest);
    if (!kind.has_value()) {
      return InitramfsError(
          ErrorCode::kMalformed,
          "unknown compression at offset " + std::to_string(pos));
    }
    InitramfsSegment segment;
    segment.compression = *kind;
    if (*kind != InitramfsCompression::kNone) {
      // A compressed segment is the rest of the image (see the header).
      IMAB_ASSIGN_OR_RETURN(
          std::vector<uint8_t> plain,
          Decompress(rest, *kind,
                     limits.max_decompressed_bytes - decompressed));
      decompressed += plain.size();
      CpioLimits cpio = limits.cpio;
      cpio.max_members = limits.cpio.max_members - members_seen;
      auto archives = ParseCpioStream(plain, cpio);
      if (!archives.has_value()) {
        return WithContext(std::move(archives).error(), "initramfs");
      }
      for (const CpioArchive& a : *archives) {
        members_seen += a.members.size();
      }
      segment.archives = std::move(archives).value();
      segment.original.assign(rest.begin(), rest.end());
      segments.push_back(std::move(segment));
      break;
    }
    size_t start = pos;
    // Uncompressed archives follow one another while "0707" comes next.
    while (pos < image.size() && DetectCompression(image.subspan(pos)) ==
                                     InitramfsCompression::kNone) {
      size_t used = 0;
      auto archive = ParseCpioArchive(image.subspan(pos), limits.cpio,
                                      &members_seen, &used);
      if (!archive.has_value()) {
        return WithContext(
            std::move(archive).error(),
            pos == 0 ? std::string("initramfs")
                     : "initramfs: archive at offset " + std::to_string(pos));
      }
      pos += used;
      size_t zeros = 0;
      while (pos + zeros < image.size() && image[pos + zeros] == 0) {
        ++zeros;
      }
      pos += zeros;
      archive->trailing_zeros = zeros;
      segment.archives.push_back(std::move(archive).value());
      // The kernel looks for the next archive or stream 4-aligned only.
      if (pos < image.size() && pos % 4 != 0) {
        return InitramfsError(ErrorCode::kMalformed,
                              "data after TRAILER!!! not 4-aligned at offset " +
                                  std::to_string(pos));
      }
    }
    segment.original.assign(image.begin() + static_cast<std::ptrdiff_t>(start),
                            image.begin() + static_cast<std::ptrdiff_t>(pos));
    segments.push_back(std::move(segment));
  }
  return segments;
}

Result<std::vector<uint8_t>> EncodeInitramfsSegment(
    const InitramfsSegment& segment) {
  IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                        WriteCpioStream(segment.archives));
  switch (segment.compression) {
    case InitramfsCompression::kNone:
      return plain;
    case InitramfsCompression::kGzip:
    case InitramfsCompression::kZstd:
      return LibarchiveCompress(plain, segment.compression);
    case InitramfsCompression::kXz: {
      IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> xz,
                            LibarchiveCompress(plain, segment.compression));
      return XzUseCrc32(xz, plain);
    }
  }
  return InitramfsError(ErrorCode::kInternal, "unknown compression");
}

Result<InitramfsKeys> ReadInitramfsKeys(std::span<const uint8_t> image,
                                        const InitramfsLimits& limits) {
  IMAB_ASSIGN_OR_RETURN(std::vector<InitramfsSegment> segments,
                        ParseInitramfs(image, limits));
  MemberIndex index(segments);
  InitramfsKeys keys;
  IMAB_ASSIGN_OR_RETURN(keys.evm_der, index.Resolve(kEvmPath));
  IMAB_ASSIGN_OR_RETURN(keys.ima_der, index.Resolve(kImaPath));
  keys.compression = segments.back().compression;
  return keys;
}

Result<std::vector<uint8_t>> SetInitramfsKeys(
    std::span<const uint8_t> image, std::span<const uint8_t> evm_der,
    std::optional<std::span<const uint8_t>> ima_der,
    const InitramfsLimits& limits) {
  IMAB_RETURN_IF_ERROR(CheckCertificate(evm_der, "EVM"));
  if (ima_der.has_value()) {
    IMAB_RETURN_IF_ERROR(CheckCertificate(*ima_der, "IMA"));
  }
  IMAB_ASSIGN_OR_RETURN(std::vector<InitramfsSegment> segments,
                        ParseInitramfs(image, limits));
  std::set<size_t> touched;
  std::span<const uint8_t> ima_want = ima_der.value_or(evm_der);
  {
    // Locations stay valid: members are only replaced in place here.
    MemberIndex index(segments);
    std::optional<Location> evm = index.Find(kEvmPath);
    std::optional<Location> ima = index.Find(kImaPath);
    auto member = [&](const Location& l) -> CpioMember& {
      return segments[l.segment].archives[l.archive].members[l.member];
    };
    if (evm.has_value()) {
      IMAB_RETURN_IF_ERROR(CheckReplaceable(member(*evm), kEvmPath));
      member(*evm).data.assign(evm_der.begin(), evm_der.end());
      touched.insert(evm->segment);
    }
    if (ima.has_value() && !S_ISLNK(member(*ima).mode)) {
      IMAB_RETURN_IF_ERROR(CheckReplaceable(member(*ima), kImaPath));
      member(*ima).data.assign(ima_want.begin(), ima_want.end());
      touched.insert(ima->segment);
    }
    // New members go to the main (last) archive, after its other members.
    CpioArchive& main = segments.back().archives.back();
    size_t before = main.members.size();
    IMAB_RETURN_IF_ERROR(EnsureMember(index, main, "etc", kDirMode, {}));
    IMAB_RETURN_IF_ERROR(EnsureMember(index, main, "etc/keys", kDirMode, {}));
    IMAB_RETURN_IF_ERROR(
        EnsureMember(index, main, kEvmPath, kFileMode, evm_der));
    if (ima_der.has_value() && !ima.has_value()) {
      IMAB_RETURN_IF_ERROR(
          EnsureMember(index, main, kImaPath, kFileMode, *ima_der));
    }
    if (main.members.size() != before) {
      touched.insert(segments.size() - 1);
    }
  }
  // A kept symlink must still lead to the certificate asked for.
  MemberIndex after(segments);
  IMAB_ASSIGN_OR_RETURN(std::optional<std::vector<uint8_t>> ima_now,
                        after.Resolve(kImaPath));
  if (ima_now.has_value() && !std::equal(ima_now->begin(), ima_now->end(),
                                         ima_want.begin(), ima_want.end())) {
    return InitramfsError(ErrorCode::kInvalidArgument,
                          std::string(kImaPath) +
                              " is a symlink that would not yield the "
                              "requested IMA certificate");
  }
  std::vector<uint8_t> out;
  for (size_t s = 0; s < segments.size(); ++s) {
    if (!touched.contains(s)) {
      out.insert(out.end(), segments[s].original.begin(),
                 segments[s].original.end());
      continue;
    }
    IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                          EncodeInitramfsSegment(segments[s]));
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  if (out.size() > limits.max_image_bytes) {
    return InitramfsError(ErrorCode::kLimitExceeded,
                          "new image larger than " +
                              std::to_string(limits.max_image_bytes) +
                              " bytes");
  }
  return out;
}

}  // namespace imab
