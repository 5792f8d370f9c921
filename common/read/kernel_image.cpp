#include "common/read/kernel_image.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/read/decompress.h"

namespace imab {
namespace {

// The magic numbers searched for inside a kernel (lib/decompress.c
// compressed_formats, longer where the format allows, so that chance byte
// patterns seldom start a decoder): gzip, xz, zstd, lz4 legacy (what
// scripts/Makefile.lib makes) and frame, bzip2 ("BZh1".."BZh9" and the
// block magic). lzma and lzo have no reliable magic and are not searched.
struct Magic {
  std::string_view bytes;
  Compression compression;
};
constexpr std::array<Magic, 6> kMagics = {{
    {std::string_view("\x1f\x8b\x08", 3), Compression::kGzip},
    {std::string_view("\xfd\x37\x7a\x58\x5a\x00", 6), Compression::kXz},
    {std::string_view("\x28\xb5\x2f\xfd", 4), Compression::kZstd},
    {std::string_view("\x02\x21\x4c\x18", 4), Compression::kLz4Legacy},
    {std::string_view("\x04\x22\x4d\x18", 4), Compression::kLz4Frame},
    {std::string_view("BZh", 3), Compression::kBzip2},
}};
constexpr std::string_view kBzipBlock("\x31\x41\x59\x26\x53\x59", 6);
constexpr std::string_view kBanner = "Linux version ";

bool BytesAt(std::span<const uint8_t> image, size_t pos,
             std::string_view bytes) {
  return image.size() - pos >= bytes.size() &&
         std::memcmp(image.data() + pos, bytes.data(), bytes.size()) == 0;
}

// The compressed stream whose magic starts at `pos`, if any.
std::optional<Compression> StreamAt(std::span<const uint8_t> image,
                                    size_t pos) {
  for (const Magic& m : kMagics) {
    if (!BytesAt(image, pos, m.bytes)) {
      continue;
    }
    if (m.compression != Compression::kBzip2) {
      return m.compression;
    }
    // "BZh" is text too: require the level digit and the block magic.
    if (image.size() - pos >= 10 && image[pos + 3] >= '1' &&
        image[pos + 3] <= '9' && BytesAt(image, pos + 4, kBzipBlock)) {
      return m.compression;
    }
    return std::nullopt;
  }
  return std::nullopt;
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

// Decompresses the stream of `compression` starting at `input` (bounded by
// `max_output`). A stream that is not valid after all (a chance byte
// pattern) or breaks part way: what came out (possibly nothing) is the
// result.
Result<std::vector<uint8_t>> Decompress(std::span<const uint8_t> input,
                                        Compression compression,
                                        uint64_t max_output) {
  std::vector<uint8_t> out;
  Result<size_t> used = DecompressStream(input, compression, max_output, &out);
  if (!used.has_value() && used.error().code != ErrorCode::kMalformed) {
    return std::move(used).error();
  }
  return out;
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

// A bzImage payload's compression, told as the kernel tells it
// (lib/decompress.c decompress_method: the first two bytes). nullopt: no
// known magic, so nothing decompresses. lzo is refused by name: no lzo
// decompressor is linked into the verifier (manifests/FORMAT.md §3.3.3).
Result<std::optional<Compression>> BzImageCompression(
    std::span<const uint8_t> payload) {
  struct Known {
    std::string_view magic;
    Compression compression;
  };
  constexpr std::array<Known, 6> kKnown = {{
      {std::string_view("\x1f\x8b", 2), Compression::kGzip},
      {std::string_view("\x42\x5a", 2), Compression::kBzip2},
      {std::string_view("\x5d\x00", 2), Compression::kLzma},
      {std::string_view("\xfd\x37", 2), Compression::kXz},
      {std::string_view("\x02\x21", 2), Compression::kLz4Legacy},
      {std::string_view("\x28\xb5", 2), Compression::kZstd},
  }};
  for (const Known& k : kKnown) {
    if (BytesAt(payload, 0, k.magic)) {
      return std::optional<Compression>(k.compression);
    }
  }
  if (BytesAt(payload, 0, "\x89\x4c")) {
    return MakeError(ErrorCode::kMalformed,
                     "bzImage payload is lzo-compressed (CONFIG_KERNEL_LZO), "
                     "which the verifier does not decompress; build the "
                     "kernel with gzip, xz, lzma, zstd, lz4 or bzip2");
  }
  return std::optional<Compression>();
}

// A bzImage payload other than gzip ends with the 4-byte little-endian
// size of the decompressed kernel (scripts/Makefile.lib size_append, in
// payload_length: the *_with_size commands of arch/x86/boot/compressed/
// Makefile, Linux 6.1 and 6.12). Left on, it is a broken stream tail to
// the decompressor, which then drops its last output block, where the
// built-in certificates are. Decompressed to exactly that size, or the
// payload counts as unreadable (fail closed).
Result<std::vector<uint8_t>> DecompressBzImagePayload(
    std::span<const uint8_t> payload, uint64_t max_output) {
  IMAB_ASSIGN_OR_RETURN(std::optional<Compression> compression,
                        BzImageCompression(payload));
  if (compression == Compression::kGzip) {
    return Decompress(payload, Compression::kGzip, max_output);
  }
  if (payload.size() < 4) {
    return std::vector<uint8_t>();
  }
  const uint32_t declared = Le(payload, payload.size() - 4, 4);
  std::vector<uint8_t> plain;
  if (compression.has_value()) {
    IMAB_ASSIGN_OR_RETURN(plain, Decompress(payload.first(payload.size() - 4),
                                            *compression, max_output));
  }
  if (plain.size() != declared) {
    return MakeError(
        ErrorCode::kMalformed,
        "bzImage payload decompresses to " + std::to_string(plain.size()) +
            " bytes, its size trailer says " + std::to_string(declared));
  }
  return plain;
}

uint64_t Le64(std::span<const uint8_t> image, size_t at) {
  return (static_cast<uint64_t>(Le(image, at + 4, 4)) << 32) | Le(image, at, 4);
}

// An arm64 or RISC-V Image (Documentation/arch/arm64/booting.rst,
// Documentation/arch/riscv/boot-image-header.rst): magic "ARM\x64" or
// "RSC\x05" at 0x38, little-endian image_size at 0x10. The kernel is the
// first image_size bytes; what lies beyond is not loaded as the kernel.
// nullopt: not such an Image; an empty span: image_size 0 (an old kernel
// that does not say its size): nothing can be trusted to be its own.
std::optional<std::span<const uint8_t>> ImageExtent(
    std::span<const uint8_t> image) {
  if (image.size() < 0x40 ||
      !(BytesAt(image, 0x38, "ARM\x64") || BytesAt(image, 0x38, "RSC\x05"))) {
    return std::nullopt;
  }
  const uint64_t size = Le64(image, 0x10);
  return image.first(
      static_cast<size_t>(std::min<uint64_t>(size, image.size())));
}

// A vmlinux ELF (include/uapi/linux/elf.h): the file ranges of its PT_LOAD
// segments, which is what a loader maps. nullopt: not an ELF file; an
// empty list: a header or segment outside the file (nothing counts).
std::optional<std::vector<std::span<const uint8_t>>> ElfLoadRanges(
    std::span<const uint8_t> f) {
  if (f.size() < 0x34 || !BytesAt(f, 0,
                                  "\x7f"
                                  "ELF")) {
    return std::nullopt;
  }
  const bool is64 = f[4] == 2;
  const bool big = f[5] == 2;
  auto num = [&](uint64_t at, int bytes) -> uint64_t {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      const uint8_t b = f[static_cast<size_t>(at) +
                          static_cast<size_t>(big ? i : bytes - 1 - i)];
      v = (v << 8) | b;
    }
    return v;
  };
  std::vector<std::span<const uint8_t>> ranges;
  if ((is64 && f.size() < 0x40) || (f[4] != 1 && f[4] != 2)) {
    return ranges;
  }
  const uint64_t phoff = is64 ? num(0x20, 8) : num(0x1c, 4);
  const uint64_t phentsize = is64 ? num(0x36, 2) : num(0x2a, 2);
  const uint64_t phnum = is64 ? num(0x38, 2) : num(0x2c, 2);
  if (phentsize < (is64 ? 0x38u : 0x20u) || phoff > f.size() ||
      phnum * phentsize > f.size() - phoff) {
    return ranges;
  }
  for (uint64_t i = 0; i < phnum; ++i) {
    const uint64_t ph = phoff + i * phentsize;
    if (num(ph, 4) != 1) {  // PT_LOAD
      continue;
    }
    const uint64_t offset = is64 ? num(ph + 8, 8) : num(ph + 4, 4);
    const uint64_t filesz = is64 ? num(ph + 0x20, 8) : num(ph + 0x10, 4);
    if (offset > f.size() || filesz > f.size() - offset) {
      return std::vector<std::span<const uint8_t>>{};
    }
    ranges.push_back(
        f.subspan(static_cast<size_t>(offset), static_cast<size_t>(filesz)));
  }
  return ranges;
}

// `range` raw, and every compressed stream starting inside it, bounded to
// it.
Status SearchWithStreams(std::span<const uint8_t> range,
                         const std::vector<std::string>& needles,
                         KernelImageScan& scan, uint64_t max_output) {
  {
    StreamSearch raw(needles, scan);
    raw.Feed(range);
    if (raw.Done()) {
      return OkStatus();
    }
  }
  for (size_t pos = 0; pos < range.size(); ++pos) {
    const std::optional<Compression> compression = StreamAt(range, pos);
    if (!compression.has_value()) {
      continue;
    }
    IMAB_ASSIGN_OR_RETURN(
        std::vector<uint8_t> plain,
        Decompress(range.subspan(pos), *compression, max_output));
    StreamSearch stream(needles, scan);
    stream.Feed(plain);
    if (stream.Done()) {
      break;
    }
  }
  return OkStatus();
}

// The bytes of a recognised kernel layout that its loader takes as the
// kernel. `whole_if_unknown`: bytes that are already exactly what gets
// loaded (a decompressed payload) count whole when no layout is known;
// a raw file of unknown layout counts nothing (fail closed).
Status SearchLoaded(std::span<const uint8_t> bytes,
                    const std::vector<std::string>& needles,
                    KernelImageScan& scan, uint64_t max_output,
                    bool whole_if_unknown) {
  if (std::optional<std::span<const uint8_t>> extent = ImageExtent(bytes)) {
    return SearchWithStreams(*extent, needles, scan, max_output);
  }
  if (auto ranges = ElfLoadRanges(bytes)) {
    for (std::span<const uint8_t> range : *ranges) {
      StreamSearch raw(needles, scan);
      raw.Feed(range);
    }
    return OkStatus();
  }
  if (whole_if_unknown) {
    StreamSearch raw(needles, scan);
    raw.Feed(bytes);
  }
  return OkStatus();
}

}  // namespace

Result<KernelImageScan> ScanKernelImage(std::span<const uint8_t> image,
                                        const std::vector<std::string>& needles,
                                        uint64_t max_output) {
  KernelImageScan scan;
  scan.found.assign(needles.size(), false);
  // A bzImage's kernel is its payload; a file that is one compressed
  // stream (Image.gz) is that stream: bytes beside them are not loaded as
  // the kernel, so a certificate appended there does not count. Inside,
  // an Image or ELF counts only as far as its own layout says.
  // A bzImage's decompressed payload is exactly what its decompressor
  // makes the kernel from, so it counts whole; an Image.gz must hold a
  // recognised Image or ELF.
  std::span<const uint8_t> payload = BzImagePayload(image);
  if (!payload.empty()) {
    IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                          DecompressBzImagePayload(payload, max_output));
    IMAB_RETURN_IF_ERROR(SearchLoaded(plain, needles, scan, max_output,
                                      /*whole_if_unknown=*/true));
    return scan;
  }
  if (std::optional<Compression> stream = StreamAt(image, 0)) {
    IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                          Decompress(image, *stream, max_output));
    IMAB_RETURN_IF_ERROR(SearchLoaded(plain, needles, scan, max_output,
                                      /*whole_if_unknown=*/false));
    return scan;
  }
  // An arm64/RISC-V Image, a vmlinux; anything else counts nothing.
  IMAB_RETURN_IF_ERROR(SearchLoaded(image, needles, scan, max_output,
                                    /*whole_if_unknown=*/false));
  return scan;
}

}  // namespace imab
