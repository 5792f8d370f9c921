#include "common/initramfs.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>

namespace imab {
namespace {

constexpr std::string_view kEvmPath = "etc/keys/x509_evm.der";
constexpr std::string_view kImaPath = "etc/keys/x509_ima.der";
constexpr size_t kMaxSymlinkHops = 8;
constexpr uint32_t kDirMode = S_IFDIR | 0755;
constexpr uint32_t kFileMode = S_IFREG | 0644;

Error InitramfsError(ErrorCode code, const std::string& message) {
  return MakeError(code, "initramfs: " + message);
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

// The rewrite edits the last member of each key name; with key files in
// two segments an earlier copy could mislead a reader that stops early, and
// one edit would not make the image's meaning obvious: refused, naming the
// segments, so the image is fixed at its source.
Status CheckKeysInOneSegment(const std::vector<InitramfsSegment>& segments) {
  std::optional<size_t> first;
  for (const InitramfsSegment& segment : segments) {
    bool has_key = false;
    for (const CpioArchive& archive : segment.archives) {
      for (const CpioMember& m : archive.members) {
        std::string name = NormalizeName(m.name);
        has_key = has_key || name == kEvmPath || name == kImaPath;
      }
    }
    if (!has_key) {
      continue;
    }
    if (first.has_value()) {
      return InitramfsError(
          ErrorCode::kInvalidArgument,
          "etc/keys certificates in the segment at offset " +
              std::to_string(*first) + " and again in the segment at offset " +
              std::to_string(segment.offset) +
              "; refusing to rewrite keys defined by more than one segment");
    }
    first = segment.offset;
  }
  return OkStatus();
}

// Zeros that bring `out` to the residue mod 4 the next segment had in the
// original image, so a following cpio stays 4-aligned as the kernel needs.
void PadForNext(const InitramfsSegment& next, std::vector<uint8_t>& out) {
  while (out.size() % 4 != next.offset % 4) {
    out.push_back(0);
  }
}

// The image again: untouched segments verbatim, `touched` ones re-encoded.
Result<std::vector<uint8_t>> WriteSegments(
    const std::vector<InitramfsSegment>& segments,
    const std::set<size_t>& touched, const InitramfsLimits& limits) {
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
    if (s + 1 < segments.size()) {
      PadForNext(segments[s + 1], out);
    }
  }
  if (out.size() > limits.max_image_bytes) {
    return InitramfsError(ErrorCode::kLimitExceeded,
                          "new image larger than " +
                              std::to_string(limits.max_image_bytes) +
                              " bytes");
  }
  return out;
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

Result<std::vector<uint8_t>> EncodeInitramfsSegment(
    const InitramfsSegment& segment) {
  IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                        WriteCpioStream(segment.archives));
  if (segment.compression == InitramfsCompression::kNone) {
    return plain;
  }
  return CompressInitramfsSegment(plain, segment.compression);
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
  IMAB_RETURN_IF_ERROR(CheckKeysInOneSegment(segments));
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
  return WriteSegments(segments, touched, limits);
}

}  // namespace imab
