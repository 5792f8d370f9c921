#include "common/read/initramfs.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>

#include "common/read/initramfs_index.h"

namespace imab {
namespace {

Error InitramfsError(ErrorCode code, const std::string& message) {
  return MakeError(code, "initramfs: " + message);
}

// What the segments parsed so far used of the limits.
struct ParseBudget {
  size_t members_seen = 0;
  uint64_t decompressed = 0;
};

size_t CountZeros(std::span<const uint8_t> image, size_t pos) {
  size_t zeros = 0;
  while (pos + zeros < image.size() && image[pos + zeros] == 0) {
    ++zeros;
  }
  return zeros;
}

// `error` placed in the segment: "initramfs: gzip segment at offset N:
// ...", or plain "initramfs: ..." for a segment at the start.
Error AtSegment(Error error, const InitramfsSegment& segment) {
  constexpr std::string_view kPrefix = "initramfs: ";
  std::string_view rest = error.message;
  if (rest.starts_with(kPrefix)) {
    rest.remove_prefix(kPrefix.size());
  }
  std::string where =
      segment.offset == 0
          ? std::string()
          : std::string(InitramfsCompressionName(segment.compression)) +
                " segment at offset " + std::to_string(segment.offset) + ": ";
  error.message = std::string(kPrefix) + where + std::string(rest);
  return error;
}

// One compressed stream at `*pos` and the zero padding after it; `*pos`
// moves past both, to where the kernel looks for the next segment.
Status ReadCompressedSegment(std::span<const uint8_t> image,
                             const InitramfsLimits& limits, ParseBudget& budget,
                             size_t* pos, InitramfsSegment& segment) {
  auto decoded = DecodeInitramfsStream(
      image.subspan(*pos), segment.compression,
      limits.max_decompressed_bytes - budget.decompressed);
  if (!decoded.has_value()) {
    return AtSegment(std::move(decoded).error(), segment);
  }
  budget.decompressed += decoded->plain.size();
  CpioLimits cpio = limits.cpio;
  cpio.max_members = limits.cpio.max_members - budget.members_seen;
  auto archives = ParseCpioStream(decoded->plain, cpio);
  if (!archives.has_value()) {
    return AtSegment(std::move(archives).error(), segment);
  }
  for (const CpioArchive& a : *archives) {
    budget.members_seen += a.members.size();
  }
  segment.archives = std::move(archives).value();
  size_t end = *pos + decoded->consumed;
  end += CountZeros(image, end);
  segment.original.assign(image.begin() + static_cast<std::ptrdiff_t>(*pos),
                          image.begin() + static_cast<std::ptrdiff_t>(end));
  *pos = end;
  return OkStatus();
}

// Uncompressed archives at `*pos`, each with its zero padding, while
// "0707" comes next; `*pos` moves past them.
Status ReadPlainSegment(std::span<const uint8_t> image,
                        const InitramfsLimits& limits, ParseBudget& budget,
                        size_t* pos, InitramfsSegment& segment) {
  size_t start = *pos;
  while (*pos < image.size() && DetectInitramfsCompression(image.subspan(
                                    *pos)) == InitramfsCompression::kNone) {
    size_t used = 0;
    auto archive = ParseCpioArchive(image.subspan(*pos), limits.cpio,
                                    &budget.members_seen, &used);
    if (!archive.has_value()) {
      return WithContext(
          std::move(archive).error(),
          *pos == 0 ? std::string("initramfs")
                    : "initramfs: archive at offset " + std::to_string(*pos));
    }
    *pos += used;
    size_t zeros = CountZeros(image, *pos);
    *pos += zeros;
    archive->trailing_zeros = zeros;
    segment.archives.push_back(std::move(archive).value());
    // The kernel looks for the next archive or stream 4-aligned only.
    if (*pos < image.size() && *pos % 4 != 0) {
      return InitramfsError(ErrorCode::kMalformed,
                            "data after TRAILER!!! not 4-aligned at offset " +
                                std::to_string(*pos));
    }
  }
  segment.original.assign(image.begin() + static_cast<std::ptrdiff_t>(start),
                          image.begin() + static_cast<std::ptrdiff_t>(*pos));
  return OkStatus();
}

}  // namespace

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
  ParseBudget budget;
  size_t pos = 0;
  // unpack_to_rootfs: a cpio where a 4-aligned "0" begins, else one
  // compressed stream; zeros between are skipped; on to the end.
  while (pos < image.size()) {
    std::optional<InitramfsCompression> kind =
        DetectInitramfsCompression(image.subspan(pos));
    if (!kind.has_value()) {
      return InitramfsError(
          ErrorCode::kMalformed,
          "unknown compression at offset " + std::to_string(pos));
    }
    InitramfsSegment segment;
    segment.compression = *kind;
    segment.offset = pos;
    if (*kind != InitramfsCompression::kNone) {
      IMAB_RETURN_IF_ERROR(
          ReadCompressedSegment(image, limits, budget, &pos, segment));
    } else if (pos % 4 != 0) {
      return InitramfsError(
          ErrorCode::kMalformed,
          "cpio archive not 4-aligned at offset " + std::to_string(pos));
    } else {
      IMAB_RETURN_IF_ERROR(
          ReadPlainSegment(image, limits, budget, &pos, segment));
    }
    segments.push_back(std::move(segment));
  }
  return segments;
}

Result<InitramfsKeys> ReadInitramfsKeys(std::span<const uint8_t> image,
                                        const InitramfsLimits& limits) {
  IMAB_ASSIGN_OR_RETURN(std::vector<InitramfsSegment> segments,
                        ParseInitramfs(image, limits));
  MemberIndex index(segments);
  InitramfsKeys keys;
  IMAB_ASSIGN_OR_RETURN(keys.evm_der, index.Resolve(kInitramfsEvmKeyPath));
  IMAB_ASSIGN_OR_RETURN(keys.ima_der, index.Resolve(kInitramfsImaKeyPath));
  keys.compression = segments.back().compression;
  return keys;
}

}  // namespace imab
