// Rewrites the etc/keys certificates of an initramfs (FORMAT.md §3.3.3):
// the release pipeline's side of common/read/initramfs.h.
#include "common/write/initramfs_rewrite.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <string>

#include "common/read/initramfs_index.h"
#include "common/read/limits.h"
#include "common/write/cpio_writer.h"
#include "common/write/initramfs_compress.h"

namespace imab {
namespace {

constexpr uint32_t kDirMode = S_IFDIR | 0755;
constexpr uint32_t kFileMode = S_IFREG | 0644;

Error InitramfsError(ErrorCode code, const std::string& message) {
  return MakeError(code, "initramfs: " + message);
}

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
        std::string name = NormalizeInitramfsName(m.name);
        has_key = has_key || name == kInitramfsEvmKeyPath ||
                  name == kInitramfsImaKeyPath;
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

Result<std::vector<uint8_t>> EncodeInitramfsSegment(
    const InitramfsSegment& segment) {
  IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                        WriteCpioStream(segment.archives));
  if (segment.compression == InitramfsCompression::kNone) {
    return plain;
  }
  return CompressInitramfsSegment(plain, segment.compression);
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
    std::optional<Location> evm = index.Find(kInitramfsEvmKeyPath);
    std::optional<Location> ima = index.Find(kInitramfsImaKeyPath);
    auto member = [&](const Location& l) -> CpioMember& {
      return segments[l.segment].archives[l.archive].members[l.member];
    };
    if (evm.has_value()) {
      IMAB_RETURN_IF_ERROR(
          CheckReplaceable(member(*evm), kInitramfsEvmKeyPath));
      member(*evm).data.assign(evm_der.begin(), evm_der.end());
      touched.insert(evm->segment);
    }
    if (ima.has_value() && !S_ISLNK(member(*ima).mode)) {
      IMAB_RETURN_IF_ERROR(
          CheckReplaceable(member(*ima), kInitramfsImaKeyPath));
      member(*ima).data.assign(ima_want.begin(), ima_want.end());
      touched.insert(ima->segment);
    }
    // New members go to the main (last) archive, after its other members.
    CpioArchive& main = segments.back().archives.back();
    size_t before = main.members.size();
    IMAB_RETURN_IF_ERROR(EnsureMember(index, main, "etc", kDirMode, {}));
    IMAB_RETURN_IF_ERROR(EnsureMember(index, main, "etc/keys", kDirMode, {}));
    IMAB_RETURN_IF_ERROR(
        EnsureMember(index, main, kInitramfsEvmKeyPath, kFileMode, evm_der));
    if (ima_der.has_value() && !ima.has_value()) {
      IMAB_RETURN_IF_ERROR(
          EnsureMember(index, main, kInitramfsImaKeyPath, kFileMode, *ima_der));
    }
    if (main.members.size() != before) {
      touched.insert(segments.size() - 1);
    }
  }
  // A kept symlink must still lead to the certificate asked for.
  MemberIndex after(segments);
  IMAB_ASSIGN_OR_RETURN(std::optional<std::vector<uint8_t>> ima_now,
                        after.Resolve(kInitramfsImaKeyPath));
  if (ima_now.has_value() && !std::equal(ima_now->begin(), ima_now->end(),
                                         ima_want.begin(), ima_want.end())) {
    return InitramfsError(ErrorCode::kInvalidArgument,
                          std::string(kInitramfsImaKeyPath) +
                              " is a symlink that would not yield the "
                              "requested IMA certificate");
  }
  return WriteSegments(segments, touched, limits);
}

}  // namespace imab
