#include "common/kernel_image.h"

#include <archive.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "common/handles.h"
#include "common/limits.h"

namespace imab {
namespace {

// Magic numbers of the streams the kernel's decompressors accept
// (lib/decompress.c compressed_formats): gzip, bzip2 ("BZh1".."BZh9" and
// the block magic), xz, lz4 legacy (what scripts/Makefile.lib makes) and
// frame, zstd. lzma and lzo have no reliable magic and are not searched.
struct Magic {
  std::string_view bytes;
};
constexpr std::array<Magic, 6> kMagics = {{
    {std::string_view("\x1f\x8b\x08", 3)},
    {std::string_view("\xfd\x37\x7a\x58\x5a\x00", 6)},
    {std::string_view("\x28\xb5\x2f\xfd", 4)},
    {std::string_view("\x02\x21\x4c\x18", 4)},
    {std::string_view("\x04\x22\x4d\x18", 4)},
    {std::string_view("BZh", 3)},
}};
constexpr std::string_view kBzipBlock("\x31\x41\x59\x26\x53\x59", 6);
constexpr std::string_view kBanner = "Linux version ";

bool BytesAt(std::span<const uint8_t> image, size_t pos,
             std::string_view bytes) {
  return image.size() - pos >= bytes.size() &&
         std::memcmp(image.data() + pos, bytes.data(), bytes.size()) == 0;
}

bool MagicAt(std::span<const uint8_t> image, size_t pos) {
  for (const Magic& m : kMagics) {
    if (!BytesAt(image, pos, m.bytes)) {
      continue;
    }
    if (m.bytes != "BZh") {
      return true;
    }
    // "BZh" is text too: require the level digit and the block magic.
    return image.size() - pos >= 10 && image[pos + 3] >= '1' &&
           image[pos + 3] <= '9' && BytesAt(image, pos + 4, kBzipBlock);
  }
  return false;
}

// Searches a stream that arrives in chunks; a match may straddle two.
class StreamSearch {
 public:
  StreamSearch(const std::vector<std::string>& needles, KernelImageScan& scan)
      : needles_(needles), scan_(scan) {
    keep_ = kBanner.size() + 16;
    for (const std::string& n : needles) {
      keep_ = std::max(keep_, n.size());
    }
  }

  void Feed(std::span<const uint8_t> chunk) {
    // The first chunk (a whole raw kernel) is searched where it lies.
    if (!window_.empty()) {
      window_.insert(window_.end(), chunk.begin(), chunk.end());
      chunk = window_;
    }
    std::string_view text(reinterpret_cast<const char*>(chunk.data()),
                          chunk.size());
    for (size_t i = 0; i < needles_.size(); ++i) {
      if (!scan_.found[i] && text.find(needles_[i]) != std::string_view::npos) {
        scan_.found[i] = true;
      }
    }
    if (!scan_.version.has_value()) {
      FindVersion(text);
    }
    // Keep what a match straddling into the next chunk could start with.
    std::vector<uint8_t> tail(chunk.end() - static_cast<std::ptrdiff_t>(
                                                std::min(keep_, chunk.size())),
                              chunk.end());
    window_ = std::move(tail);
  }

  bool Done() const {
    return scan_.version.has_value() &&
           std::all_of(scan_.found.begin(), scan_.found.end(),
                       [](bool f) { return f; });
  }

 private:
  void FindVersion(std::string_view text) {
    for (size_t at = text.find(kBanner); at != std::string_view::npos;
         at = text.find(kBanner, at + 1)) {
      std::string_view rest = text.substr(at + kBanner.size());
      uint32_t major = 0, minor = 0;
      size_t i = 0;
      auto number = [&](uint32_t& out) {
        size_t start = i;
        while (i < rest.size() && i - start < 6 && rest[i] >= '0' &&
               rest[i] <= '9') {
          out = out * 10 + static_cast<uint32_t>(rest[i++] - '0');
        }
        return i > start;
      };
      if (number(major) && i < rest.size() && rest[i++] == '.' &&
          number(minor)) {
        scan_.version = std::make_pair(major, minor);
        return;
      }
    }
  }

  const std::vector<std::string>& needles_;
  KernelImageScan& scan_;
  size_t keep_ = 0;
  std::vector<uint8_t> window_;
};

// Decompresses the stream starting at `input` into `search`. Not a stream
// the filters recognise, or broken part way: what came out counts.
Status SearchCompressed(std::span<const uint8_t> input, StreamSearch& search,
                        uint64_t max_output) {
  ArchiveReadPtr a(archive_read_new());
  if (a == nullptr) {
    return MakeError(ErrorCode::kInternal, "kernel scan: libarchive");
  }
  // ARCHIVE_WARN would mean an external program: refuse, as for initramfs.
  if (archive_read_support_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_xz(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_zstd(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_lz4(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_bzip2(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_raw(a.get()) != ARCHIVE_OK) {
    return MakeError(ErrorCode::kInternal,
                     "kernel scan: a decompressor libarchive lacks");
  }
  struct archive_entry* entry = nullptr;
  if (archive_read_open_memory(a.get(), input.data(), input.size()) !=
          ARCHIVE_OK ||
      archive_read_next_header(a.get(), &entry) != ARCHIVE_OK ||
      archive_filter_count(a.get()) < 2) {
    return OkStatus();  // not a stream after all: a chance byte pattern
  }
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  uint64_t total = 0;
  while (!search.Done()) {
    la_ssize_t n = archive_read_data(a.get(), chunk.data(), chunk.size());
    if (n <= 0) {
      break;
    }
    total += static_cast<uint64_t>(n);
    if (total > max_output) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "a compressed stream in it decompresses to more than " +
                           std::to_string(max_output) + " bytes");
    }
    search.Feed(std::span<const uint8_t>(chunk.data(), static_cast<size_t>(n)));
  }
  return OkStatus();
}

uint32_t Le(std::span<const uint8_t> image, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    v = (v << 8) | image[at + static_cast<size_t>(i)];
  }
  return v;
}

// An x86 bzImage's compressed payload, exactly (Documentation/arch/x86/
// boot.rst: boot_flag 0xaa55 at 0x1fe, "HdrS" at 0x202, protocol >= 2.08
// at 0x206 for payload_offset at 0x248 and payload_length at 0x24c, both
// relative to the protected-mode code at (setup_sects + 1) * 512; 0 setup
// sectors mean 4). Bounded, so the decompressor sees no trailing bytes
// (the kernel appends the decompressed size, which an lz4 legacy reader
// would take for one more block). Empty when not a bzImage.
std::span<const uint8_t> BzImagePayload(std::span<const uint8_t> image) {
  if (image.size() < 0x250 || Le(image, 0x1fe, 2) != 0xaa55 ||
      !BytesAt(image, 0x202, "HdrS") || Le(image, 0x206, 2) < 0x0208) {
    return {};
  }
  uint64_t sects = image[0x1f1] == 0 ? 4 : image[0x1f1];
  uint64_t start = (sects + 1) * 512 + Le(image, 0x248, 4);
  uint64_t length = Le(image, 0x24c, 4);
  if (start > image.size() || length > image.size() - start) {
    return {};
  }
  return image.subspan(static_cast<size_t>(start), static_cast<size_t>(length));
}

}  // namespace

Result<KernelImageScan> ScanKernelImage(std::span<const uint8_t> image,
                                        const std::vector<std::string>& needles,
                                        uint64_t max_output) {
  KernelImageScan scan;
  scan.found.assign(needles.size(), false);
  // A bzImage's kernel is its payload; a file that is one compressed
  // stream (Image.gz) is that stream: bytes beside them are not loaded as
  // the kernel, so a certificate appended there does not count.
  std::span<const uint8_t> whole = BzImagePayload(image);
  if (whole.empty() && !image.empty() && MagicAt(image, 0)) {
    whole = image;
  }
  if (!whole.empty()) {
    StreamSearch stream(needles, scan);
    IMAB_RETURN_IF_ERROR(SearchCompressed(whole, stream, max_output));
    return scan;
  }
  {
    StreamSearch raw(needles, scan);  // an arm64 Image, a vmlinux
    raw.Feed(image);
  }
  // And every stream wherever it starts: a self-decompressing zImage or
  // vmlinuz of another architecture.
  for (size_t pos = 0; pos < image.size(); ++pos) {
    if (!MagicAt(image, pos)) {
      continue;
    }
    StreamSearch stream(needles, scan);
    if (stream.Done()) {
      break;
    }
    IMAB_RETURN_IF_ERROR(
        SearchCompressed(image.subspan(pos), stream, max_output));
  }
  return scan;
}

}  // namespace imab
