// Canonical tar headers, FORMAT.md §2.2 (ustar block) and §4.2 (pax 'x'
// header, records, ustar header of a payload entry).
#include "common/read/tar_header.h"

#include <algorithm>
#include <optional>

namespace imab {
namespace {

constexpr size_t kNameBytes = 100;
constexpr size_t kModeOffset = 100;
constexpr size_t kUidOffset = 108;
constexpr size_t kGidOffset = 116;
constexpr size_t kSizeOffset = 124;
constexpr size_t kMtimeOffset = 136;
constexpr size_t kChecksumOffset = 148;
constexpr size_t kChecksumBytes = 8;
constexpr size_t kTypeOffset = 156;
constexpr size_t kLinkOffset = 157;
constexpr size_t kMagicOffset = 257;
constexpr size_t kDevMajorOffset = 329;
constexpr size_t kDevMinorOffset = 337;
constexpr size_t kPrefixOffset = 345;
constexpr size_t kPrefixEnd = 500;
// Largest value of a 7-digit octal field (mode, uid, gid, device numbers).
constexpr uint64_t kTarMaxOctal7 = 07777777;
constexpr std::string_view kPaxName = "././@PaxHeader";
constexpr std::string_view kXattrKeyPrefix = "SCHILY.xattr.";

// Inputs of one §2.2 header; fields left at their defaults are zero bytes.
struct HeaderFields {
  std::string_view name = {};
  uint64_t mode = 0;
  uint64_t uid = 0;
  uint64_t gid = 0;
  uint64_t size = 0;
  uint64_t mtime = 0;
  char type = '0';
  std::string_view link_target = {};
  bool has_device = false;
  uint64_t dev_major = 0;
  uint64_t dev_minor = 0;
};

// Zero-filled octal in `width - 1` digits, then NUL. Values that do not fit
// keep their low digits; callers guarantee they fit (header preconditions).
void PutOctal(TarBlock& block, size_t offset, size_t width, uint64_t value) {
  const size_t digits = width - 1;
  for (size_t i = digits; i > 0; --i) {
    block[offset + i - 1] = static_cast<uint8_t>('0' + (value & 7u));
    value >>= 3;
  }
  block[offset + digits] = 0;
}

void PutBytes(TarBlock& block, size_t offset, size_t width,
              std::string_view bytes) {
  const size_t n = std::min(width, bytes.size());
  std::copy_n(bytes.begin(), n, block.begin() + static_cast<ptrdiff_t>(offset));
}

TarBlock EncodeHeader(const HeaderFields& f) {
  TarBlock block{};
  PutBytes(block, 0, kNameBytes, f.name);
  PutOctal(block, kModeOffset, 8, f.mode);
  PutOctal(block, kUidOffset, 8, f.uid);
  PutOctal(block, kGidOffset, 8, f.gid);
  PutOctal(block, kSizeOffset, 12, f.size);
  PutOctal(block, kMtimeOffset, 12, f.mtime);
  block[kTypeOffset] = static_cast<uint8_t>(f.type);
  PutBytes(block, kLinkOffset, kNameBytes, f.link_target);
  PutBytes(block, kMagicOffset, 8,
           std::string_view("ustar\0"
                            "00",
                            8));
  if (f.has_device) {
    PutOctal(block, kDevMajorOffset, 8, f.dev_major);
    PutOctal(block, kDevMinorOffset, 8, f.dev_minor);
  }
  // The checksum is computed with its own field taken as spaces; the
  // maximum, 512 * 255, fits in 6 octal digits.
  std::fill_n(block.begin() + kChecksumOffset, kChecksumBytes, ' ');
  uint64_t sum = 0;
  for (uint8_t b : block) {
    sum += b;
  }
  PutOctal(block, kChecksumOffset, 7, sum);
  block[kChecksumOffset + 7] = ' ';
  return block;
}

// Appends "LEN KEY=VALUE\n", LEN counting the whole record including itself.
void AppendPaxRecord(std::string& out, std::string_view key,
                     std::string_view value) {
  const size_t base = key.size() + value.size() + 3;  // ' ', '=', '\n'
  // The smallest LEN = base + digits(LEN): 98 gives 101, not 100.
  size_t len = base + 1;
  while (len != base + std::to_string(len).size()) {
    ++len;
  }
  out += std::to_string(len);
  out += ' ';
  out += key;
  out += '=';
  out += value;
  out += '\n';
}

// A switch, not a table indexed by the enum: the compiler then checks that
// every EntryType has its flag, whatever the enum's order.
char TypeFlag(EntryType type) {
  switch (type) {
    case EntryType::kFile:
      return '0';
    case EntryType::kDir:
      return '5';
    case EntryType::kSymlink:
      return '2';
    case EntryType::kHardlink:
      return '1';
    case EntryType::kChar:
      return '3';
    case EntryType::kBlock:
      return '4';
    case EntryType::kFifo:
      return '6';
  }
  return '0';
}

bool IsLink(EntryType type) {
  return type == EntryType::kSymlink || type == EntryType::kHardlink;
}

std::string PaxRecords(const Entry& entry) {
  std::string records;
  AppendPaxRecord(records, "path", entry.path);
  if (IsLink(entry.type)) {
    AppendPaxRecord(records, "linkpath", entry.link_target);
  }
  if (entry.type == EntryType::kFile) {
    AppendPaxRecord(records, "size", std::to_string(entry.size));
  }
  AppendPaxRecord(records, "uid", std::to_string(entry.uid));
  AppendPaxRecord(records, "gid", std::to_string(entry.gid));
  for (const Xattr& x : entry.xattrs) {
    AppendPaxRecord(records, std::string(kXattrKeyPrefix) + x.name, x.value);
  }
  return records;
}

HeaderFields UstarFields(const Entry& entry, uint64_t mtime) {
  const bool is_device =
      entry.type == EntryType::kChar || entry.type == EntryType::kBlock;
  const uint64_t size = entry.type == EntryType::kFile ? entry.size : 0;
  return HeaderFields{
      .name = entry.path,
      .mode = entry.type == EntryType::kSymlink ? 0777u : (entry.mode & 07777u),
      // Values a 7-digit field cannot hold live only in the pax record.
      .uid = entry.uid > kTarMaxOctal7 ? 0 : entry.uid,
      .gid = entry.gid > kTarMaxOctal7 ? 0 : entry.gid,
      .size = size > kTarMaxOctal11 ? 0 : size,
      .mtime = mtime,
      .type = TypeFlag(entry.type),
      .link_target = IsLink(entry.type) ? std::string_view(entry.link_target)
                                        : std::string_view(),
      .has_device = is_device,
      .dev_major = is_device ? entry.dev_major : 0,
      .dev_minor = is_device ? entry.dev_minor : 0,
  };
}

void AppendBlock(std::string& out, const TarBlock& block) {
  out.append(reinterpret_cast<const char*>(block.data()), block.size());
}

// ---- DescribeHeaderDifference helpers: they only word a message, so they
// read `expected` (our own output) and at most one record of `actual`, and
// stop at anything unexpected instead of interpreting it.

struct PaxRecordSpan {
  size_t length;
  std::string_view key;
};

// The record starting at `pos` of `s`, if it is well formed and ends by
// `end`.
std::optional<PaxRecordSpan> RecordAt(std::string_view s, size_t pos,
                                      size_t end) {
  end = std::min(end, s.size());
  size_t len = 0;
  size_t p = pos;
  while (p < end && s[p] >= '0' && s[p] <= '9' && p - pos < 10) {
    len = len * 10 + static_cast<size_t>(s[p] - '0');
    ++p;
  }
  if (p == pos || p >= end || s[p] != ' ' || len == 0 || len > end - pos) {
    return std::nullopt;
  }
  const std::string_view body = s.substr(p + 1, pos + len - (p + 1));
  const size_t eq = body.find('=');
  if (eq == std::string_view::npos) {
    return std::nullopt;
  }
  return PaxRecordSpan{len, body.substr(0, eq)};
}

std::string FieldOfKey(std::string_view key) {
  if (key == "path" || key == "size" || key == "uid" || key == "gid") {
    return std::string(key);
  }
  if (key == "linkpath") {
    return "link target";
  }
  if (key.starts_with(kXattrKeyPrefix)) {
    return "xattr " + std::string(key.substr(kXattrKeyPrefix.size()));
  }
  return "header";
}

// Field of the record area of `expected` ([begin, end)) holding `pos`.
std::string RecordField(std::string_view expected, std::string_view actual,
                        size_t begin, size_t end, size_t pos) {
  size_t p = begin;
  while (p < end) {
    std::optional<PaxRecordSpan> record = RecordAt(expected, p, end);
    if (!record) {
      break;
    }
    if (pos < p + record->length) {
      return FieldOfKey(record->key);
    }
    p += record->length;
  }
  // Past the expected records: `actual` carries an extra record here.
  if (pos == p) {
    std::optional<PaxRecordSpan> extra = RecordAt(actual, p, actual.size());
    if (extra) {
      return FieldOfKey(extra->key);
    }
  }
  return "header";
}

// Field at `offset` of a ustar block, or of the pax header block; "" for
// fields whose difference only follows from another one (the checksum, and
// the pax header's size, which follows from the records).
std::string BlockField(size_t offset, bool is_pax) {
  struct Range {
    size_t end;
    const char* ustar;
    const char* pax;
  };
  static constexpr Range kRanges[] = {
      {kModeOffset, "path", "header"},
      {kUidOffset, "mode", "header"},
      {kGidOffset, "uid", "header"},
      {kSizeOffset, "gid", "header"},
      {kMtimeOffset, "size", ""},
      {kChecksumOffset, "mtime", "mtime"},
      {kChecksumOffset + kChecksumBytes, "", ""},
      {kTypeOffset + 1, "type", "header"},
      {kMagicOffset, "link target", "header"},
      {kDevMajorOffset, "header", "header"},
      {kPrefixOffset, "device numbers", "header"},
      {kPrefixEnd, "path", "header"},
  };
  for (const Range& r : kRanges) {
    if (offset < r.end) {
      return is_pax ? r.pax : r.ustar;
    }
  }
  return "header";
}

// Field of `expected` at `pos`, "" when the difference there is derived.
std::string FieldAt(std::string_view expected, std::string_view actual,
                    size_t pos) {
  const size_t total = expected.size();
  if (total % kTarBlockBytes != 0) {
    return "header";
  }
  if (total == kTarBlockBytes) {
    return BlockField(pos, false);
  }
  if (pos < kTarBlockBytes) {
    return BlockField(pos, true);
  }
  if (pos >= total - kTarBlockBytes) {
    return BlockField(pos - (total - kTarBlockBytes), false);
  }
  return RecordField(expected, actual, kTarBlockBytes, total - kTarBlockBytes,
                     pos);
}

}  // namespace

TarBlock EncodeOuterMemberHeader(std::string_view name, uint64_t size,
                                 uint64_t mtime) {
  return EncodeHeader(HeaderFields{
      .name = name, .mode = 0644, .size = size, .mtime = mtime, .type = '0'});
}

std::string EncodeEntryHeader(const Entry& entry, uint64_t mtime) {
  const std::string records = PaxRecords(entry);
  std::string out;
  out.reserve(2 * kTarBlockBytes + records.size() + kTarBlockBytes);
  AppendBlock(out, EncodeHeader(HeaderFields{.name = kPaxName,
                                             .mode = 0644,
                                             .size = records.size(),
                                             .mtime = mtime,
                                             .type = 'x'}));
  out += records;
  out.append(TarPadding(records.size()), '\0');
  AppendBlock(out, EncodeHeader(UstarFields(entry, mtime)));
  return out;
}

std::string DescribeHeaderDifference(std::string_view expected,
                                     std::string_view actual) {
  // A different entry type changes which pax records exist, so the first
  // differing byte would name a record; name the type instead. The ustar
  // header is the last block of both.
  auto entry_type = [](std::string_view h) -> char {
    if (h.size() < kTarBlockBytes || h.size() % kTarBlockBytes != 0) {
      return 0;
    }
    std::string_view last = h.substr(h.size() - kTarBlockBytes);
    char type = last[kTypeOffset];
    bool ustar = last.substr(kMagicOffset, 6) == std::string_view("ustar\0", 6);
    return ustar && type >= '0' && type <= '6' ? type : 0;
  };
  char expected_type = entry_type(expected);
  char actual_type = entry_type(actual);
  if (expected_type != 0 && actual_type != 0 && expected_type != actual_type) {
    return "type";
  }
  const size_t common = std::min(expected.size(), actual.size());
  bool differs = false;
  for (size_t i = 0; i < common; ++i) {
    if (expected[i] == actual[i]) {
      continue;
    }
    differs = true;
    std::string field = FieldAt(expected, actual, i);
    if (!field.empty()) {
      return field;
    }
  }
  if (!differs && expected.size() != actual.size()) {
    return "header length";
  }
  return "header";
}

}  // namespace imab
