#include "common/read/cpio_newc.h"

#include <array>
#include <string_view>

#include "common/read/byte_reader.h"

namespace imab {
namespace {

constexpr std::string_view kNewcMagic = "070701";
constexpr size_t kHeaderBytes = 110;  // 6 magic + 13 * 8 hex digits
constexpr size_t kFieldCount = 13;
constexpr std::array<const char*, kFieldCount> kFieldNames = {
    "ino",       "mode",     "uid",      "gid",      "nlink",
    "mtime",     "filesize", "devmajor", "devminor", "rdevmajor",
    "rdevminor", "namesize", "check"};
enum Field : size_t {
  kIno,
  kMode,
  kUid,
  kGid,
  kNlink,
  kMtime,
  kFilesize,
  kDevMajor,
  kDevMinor,
  kRdevMajor,
  kRdevMinor,
  kNamesize,
  kCheck
};

size_t PadTo4(size_t n) { return (4 - (n % 4)) % 4; }

Error Malformed(const std::string& what, size_t offset) {
  return MakeError(ErrorCode::kMalformed,
                   what + " at offset " + std::to_string(offset));
}

// Printable form of an unexpected magic, for the error message.
std::string DescribeMagic(std::string_view magic) {
  std::string out;
  for (char c : magic) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

struct Header {
  std::array<uint32_t, kFieldCount> fields{};
  bool upper_hex = false;
};

// Reads the 13 hex fields. Mixed-case digits within one header cannot be
// reproduced by the writer, so they are refused rather than normalised.
Result<Header> ReadHeaderFields(ByteReader& r, size_t offset) {
  Header h;
  bool saw_upper = false;
  bool saw_lower = false;
  for (size_t i = 0; i < kFieldCount; ++i) {
    auto text = r.ReadString(8);
    if (!text.has_value()) {
      return Malformed("truncated header", offset);
    }
    uint32_t v = 0;
    for (char c : *text) {
      uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<uint32_t>(c - 'a' + 10);
        saw_lower = true;
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<uint32_t>(c - 'A' + 10);
        saw_upper = true;
      } else {
        return Malformed(
            std::string("bad hex digit in field '") + kFieldNames[i] + "'",
            offset);
      }
      v = (v << 4) | digit;
    }
    h.fields[i] = v;
  }
  if (saw_upper && saw_lower) {
    return Malformed("mixed-case hex digits in header", offset);
  }
  h.upper_hex = saw_upper;
  return h;
}

// Consumes the padding to the next 4-byte boundary (relative to the archive
// start); padding must be zero so that rewriting reproduces it.
Status ReadPadding(ByteReader& r, const std::string& name, size_t base) {
  size_t pad = PadTo4(r.position());
  auto bytes = r.ReadBytes(pad);
  if (!bytes.has_value()) {
    return Malformed("truncated member '" + name + "'", base + r.position());
  }
  for (uint8_t b : *bytes) {
    if (b != 0) {
      return Malformed("non-zero padding after member '" + name + "'",
                       base + r.position());
    }
  }
  return OkStatus();
}

// The NUL-terminated name after a header, bounded before it is copied.
Result<std::string> ReadMemberName(ByteReader& r, size_t namesize,
                                   const CpioLimits& limits, size_t offset) {
  if (namesize < 2) {
    return Malformed("empty member name", offset);
  }
  // Bound the name before copying it.
  if (namesize - 1 > limits.max_name_bytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "member name of " + std::to_string(namesize - 1) +
                         " bytes exceeds " +
                         std::to_string(limits.max_name_bytes) + " at offset " +
                         std::to_string(offset));
  }
  auto raw_name = r.ReadString(namesize);
  if (!raw_name.has_value()) {
    return Malformed("truncated member name", offset);
  }
  std::string_view name_view = raw_name->substr(0, namesize - 1);
  if (raw_name->back() != '\0' ||
      name_view.find('\0') != std::string_view::npos) {
    return Malformed("member name not NUL-terminated", offset);
  }
  return std::string(name_view);
}

// Reads one header, name and data at the reader's position.
Result<CpioMember> ReadMember(ByteReader& r, const CpioLimits& limits,
                              size_t base) {
  size_t offset = base + r.position();
  auto magic = r.ReadString(kNewcMagic.size());
  if (!magic.has_value()) {
    return Malformed("truncated header", offset);
  }
  if (*magic != kNewcMagic) {
    return Malformed("not a newc cpio (magic " + DescribeMagic(*magic) + ")",
                     offset);
  }
  IMAB_ASSIGN_OR_RETURN(Header h, ReadHeaderFields(r, offset));
  // newc defines c_check as 0; anything else is another variant or junk.
  if (h.fields[kCheck] != 0) {
    return Malformed("non-zero check field in newc header", offset);
  }
  IMAB_ASSIGN_OR_RETURN(std::string name,
                        ReadMemberName(r, h.fields[kNamesize], limits, offset));
  CpioMember m;
  m.name = std::move(name);
  IMAB_RETURN_IF_ERROR(ReadPadding(r, m.name, base));
  // The data size is attacker-chosen: check it against what is left before
  // allocating.
  size_t filesize = h.fields[kFilesize];
  if (filesize > r.remaining()) {
    return Malformed("truncated member '" + m.name + "'", offset);
  }
  IMAB_ASSIGN_OR_RETURN(auto data, r.ReadBytes(filesize));
  m.data.assign(data.begin(), data.end());
  IMAB_RETURN_IF_ERROR(ReadPadding(r, m.name, base));
  m.ino = h.fields[kIno];
  m.mode = h.fields[kMode];
  m.uid = h.fields[kUid];
  m.gid = h.fields[kGid];
  m.nlink = h.fields[kNlink];
  m.mtime = h.fields[kMtime];
  m.devmajor = h.fields[kDevMajor];
  m.devminor = h.fields[kDevMinor];
  m.rdevmajor = h.fields[kRdevMajor];
  m.rdevminor = h.fields[kRdevMinor];
  m.upper_hex = h.upper_hex;
  return m;
}

// One archive starting at bytes[0], which sits at offset `base` of the
// caller's buffer (used only in messages).
Result<CpioArchive> ParseArchiveAt(std::span<const uint8_t> bytes, size_t base,
                                   const CpioLimits& limits,
                                   size_t* members_seen, size_t* consumed) {
  ByteReader r(bytes);
  CpioArchive archive;
  while (true) {
    IMAB_ASSIGN_OR_RETURN(CpioMember m, ReadMember(r, limits, base));
    if (m.name == kCpioTrailerName) {
      archive.trailer = std::move(m);
      *consumed = r.position();
      return archive;
    }
    // Bound the member count (and so the vector) across the whole image.
    if (++*members_seen > limits.max_members) {
      return MakeError(
          ErrorCode::kLimitExceeded,
          "more than " + std::to_string(limits.max_members) + " cpio members");
    }
    archive.members.push_back(std::move(m));
    if (r.empty()) {
      return MakeError(ErrorCode::kMalformed, "no TRAILER!!!");
    }
  }
}

}  // namespace

Result<CpioArchive> ParseCpioArchive(std::span<const uint8_t> bytes,
                                     const CpioLimits& limits,
                                     size_t* members_seen, size_t* consumed) {
  return ParseArchiveAt(bytes, 0, limits, members_seen, consumed);
}

Result<std::vector<CpioArchive>> ParseCpioStream(std::span<const uint8_t> bytes,
                                                 const CpioLimits& limits) {
  std::vector<CpioArchive> archives;
  size_t members_seen = 0;
  size_t pos = 0;
  if (bytes.empty()) {
    return MakeError(ErrorCode::kMalformed, "no cpio archive");
  }
  while (pos < bytes.size()) {
    size_t used = 0;
    IMAB_ASSIGN_OR_RETURN(
        CpioArchive archive,
        ParseArchiveAt(bytes.subspan(pos), pos, limits, &members_seen, &used));
    pos += used;
    size_t zeros = 0;
    while (pos + zeros < bytes.size() && bytes[pos + zeros] == 0) {
      ++zeros;
    }
    archive.trailing_zeros = zeros;
    pos += zeros;
    // The kernel only looks for a next archive at a 4-aligned offset.
    if (pos < bytes.size() && pos % 4 != 0) {
      return Malformed("data after TRAILER!!! not 4-aligned", pos);
    }
    archives.push_back(std::move(archive));
  }
  return archives;
}

}  // namespace imab
