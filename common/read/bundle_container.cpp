// Outer bundle container, FORMAT.md §2: reading rules §2.3, layout §2.1.
#include "common/read/bundle_container.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/read/bytes.h"
#include "common/read/limits.h"
#include "common/read/tar_header.h"

namespace imab {
namespace {

constexpr size_t kSizeFieldOffset = 124;
constexpr size_t kMtimeFieldOffset = 136;
constexpr size_t kOctal11FieldBytes = 12;
constexpr uint64_t kMinBundleBytes = 3 * kTarBlockBytes + kTarEndBytes;

struct MemberSpec {
  std::string_view name;
  uint64_t max_size;
};

constexpr std::array<MemberSpec, 3> kMembers = {{
    {"manifest", kMaxManifestBytes},
    {"manifest.sig", kMaxSignatureBytes},
    {"payload.tar.zst", kMaxPayloadBytes},
}};

std::string MemberContext(size_t index) {
  return "bundle member " + std::to_string(index + 1);
}

// Strictly 11 octal digits and a NUL: the one spelling the builder writes,
// so no lenient parse (spaces, base-256, missing NUL) is ever reached.
Result<uint64_t> ParseOctal11(const TarBlock& block, size_t offset,
                              std::string_view field) {
  uint64_t value = 0;
  for (size_t i = 0; i + 1 < kOctal11FieldBytes; ++i) {
    const uint8_t c = block[offset + i];
    if (c < '0' || c > '7') {
      return MakeError(ErrorCode::kMalformed,
                       std::string(field) + " field is not 11 octal digits");
    }
    value = (value << 3) | static_cast<uint64_t>(c - '0');
  }
  if (block[offset + kOctal11FieldBytes - 1] != 0) {
    return MakeError(ErrorCode::kMalformed,
                     std::string(field) + " field is not NUL-terminated");
  }
  return value;
}

// The name field as printable text for a message (untrusted bytes).
std::string PrintableName(const TarBlock& block) {
  std::string out;
  for (size_t i = 0; i < 100 && block[i] != 0; ++i) {
    const uint8_t c = block[i];
    out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  }
  return out;
}

Status ReadZeros(ByteSource& source, uint64_t offset, size_t length,
                 std::string_view what) {
  std::array<uint8_t, kTarEndBytes> buf{};
  if (length > buf.size()) {
    return MakeError(ErrorCode::kInternal, "zero run longer than a buffer");
  }
  std::span<uint8_t> span(buf.data(), length);
  IMAB_RETURN_IF_ERROR(source.ReadAt(offset, span));
  // Non-zero filler could smuggle data past the signed manifest.
  if (!AllZero(span)) {
    return MakeError(ErrorCode::kMalformed, std::string(what) + " not zero");
  }
  return OkStatus();
}

// Checks header `index` at `offset` against the canonical one; returns the
// member size. Member 1 (index 0) sets `mtime`; the others must match it.
Result<uint64_t> ReadMemberHeader(ByteSource& source, size_t index,
                                  uint64_t offset, uint64_t& mtime) {
  const MemberSpec& spec = kMembers[index];
  TarBlock block{};
  IMAB_RETURN_IF_ERROR(source.ReadAt(offset, block));
  if (AllZero(block)) {
    return MakeError(ErrorCode::kMalformed,
                     "missing, found the end of the archive");
  }
  const TarBlock wanted_name = EncodeOuterMemberHeader(spec.name, 0, 0);
  if (!std::equal(block.begin(), block.begin() + 100, wanted_name.begin())) {
    return MakeError(ErrorCode::kMalformed,
                     "expected header of '" + std::string(spec.name) +
                         "', found '" + PrintableName(block) + "'");
  }
  IMAB_ASSIGN_OR_RETURN(uint64_t size,
                        ParseOctal11(block, kSizeFieldOffset, "size"));
  IMAB_ASSIGN_OR_RETURN(uint64_t member_mtime,
                        ParseOctal11(block, kMtimeFieldOffset, "mtime"));
  // Checked before the size is used for any offset or read.
  if (size > spec.max_size) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "size " + std::to_string(size) + " exceeds the limit " +
                         std::to_string(spec.max_size));
  }
  if (index == 0) {
    mtime = member_mtime;
  }
  // Byte equality catches every other field: mode, owner, type, magic,
  // checksum, stray uname/prefix bytes and an mtime differing from member 1.
  const TarBlock canonical = EncodeOuterMemberHeader(spec.name, size, mtime);
  if (block != canonical) {
    std::string_view a(reinterpret_cast<const char*>(canonical.data()),
                       canonical.size());
    std::string_view b(reinterpret_cast<const char*>(block.data()),
                       block.size());
    return MakeError(ErrorCode::kMalformed,
                     "expected header of '" + std::string(spec.name) +
                         "' (differs in " + DescribeHeaderDifference(a, b) +
                         ")");
  }
  return size;
}

// Reads member `index` at `offset`: header, then the padding after its data.
// Fills its fields of `layout` and returns the offset after the padding.
Result<uint64_t> ReadMember(ByteSource& source, size_t index, uint64_t offset,
                            BundleLayout& layout) {
  const uint64_t file_size = source.size();
  if (offset > file_size || file_size - offset < kTarBlockBytes) {
    return MakeError(ErrorCode::kMalformed, "truncated before its header");
  }
  IMAB_ASSIGN_OR_RETURN(uint64_t size,
                        ReadMemberHeader(source, index, offset, layout.mtime));
  const uint64_t data_offset = offset + kTarBlockBytes;
  const size_t padding = TarPadding(size);
  // size <= 1 TiB and data_offset <= file_size, so this cannot overflow;
  // the comparison is still written as a subtraction.
  if (file_size - data_offset < size ||
      file_size - data_offset - size < padding) {
    return MakeError(ErrorCode::kMalformed,
                     "truncated: " + std::to_string(size) +
                         " data bytes do not fit in the file");
  }
  IMAB_RETURN_IF_ERROR(
      ReadZeros(source, data_offset + size, padding, "padding is"));
  uint64_t* offsets[] = {&layout.manifest_offset, &layout.signature_offset,
                         &layout.payload_offset};
  uint64_t* sizes[] = {&layout.manifest_size, &layout.signature_size,
                       &layout.payload_size};
  *offsets[index] = data_offset;
  *sizes[index] = size;
  return data_offset + size + padding;
}

}  // namespace

Result<BundleLayout> ReadBundleLayout(ByteSource& source) {
  const uint64_t file_size = source.size();
  if (file_size < kMinBundleBytes) {
    return MakeError(ErrorCode::kMalformed, "not a bundle: too short");
  }
  BundleLayout layout;
  uint64_t offset = 0;
  for (size_t i = 0; i < kMembers.size(); ++i) {
    Result<uint64_t> next = ReadMember(source, i, offset, layout);
    if (!next) {
      return WithContext(std::move(next).error(), MemberContext(i));
    }
    offset = *next;
  }
  if (file_size - offset < kTarEndBytes) {
    return MakeError(ErrorCode::kMalformed,
                     "truncated: end-of-archive blocks missing");
  }
  IMAB_RETURN_IF_ERROR(
      ReadZeros(source, offset, kTarEndBytes, "end-of-archive blocks are"));
  // Trailing bytes are outside every signature; refuse rather than ignore.
  const uint64_t trailing = file_size - offset - kTarEndBytes;
  if (trailing != 0) {
    return MakeError(ErrorCode::kMalformed,
                     std::to_string(trailing) +
                         " unexpected bytes after the end of the bundle");
  }
  return layout;
}

}  // namespace imab
