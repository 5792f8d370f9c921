// Streaming manifest parser (FORMAT.md §3.1 lexical rules, §3.2 layout, §3.3
// sections, §3.4 records). Tree rules (§3.5) are the caller's, via ImageTree.
#include "common/read/manifest_reader.h"

#include <algorithm>
#include <array>
#include <span>

#include "common/read/byte_reader.h"
#include "common/read/hex.h"
#include "common/read/limits.h"

namespace imab {
namespace {

constexpr size_t kBufferBound = kMaxManifestLineBytes + kStreamChunkBytes;
constexpr uint64_t kMaxCreated = 8589934591;  // 2^33-1, FORMAT.md §3.2

Error Bad(const std::string& why) {
  return MakeError(ErrorCode::kMalformed, why);
}

// Untrusted text in messages is printable ASCII (SplitManifestLine checked it)
// but may be long; cap it so an error stays one short line.
std::string Quote(std::string_view token) {
  constexpr size_t kMaxQuoted = 64;
  if (token.size() <= kMaxQuoted) {
    return "'" + std::string(token) + "'";
  }
  return "'" + std::string(token.substr(0, kMaxQuoted)) + "...'";
}

Status CheckFieldCount(const ManifestTokens& t, size_t fields) {
  if (t.count != fields + 1) {
    return Bad(Quote(t.at[0]) + " takes " + std::to_string(fields) +
               " field(s), found " + std::to_string(t.count - 1));
  }
  return OkStatus();
}

// UID and GID (FORMAT.md §3.4): an owner the kernel cannot set would leave
// the installed file root-owned, so its EVM signature and the appraisal
// decision made for the signed owner would no longer hold.
Result<uint32_t> ParseId(std::string_view token, std::string_view what) {
  IMAB_ASSIGN_OR_RETURN(uint64_t v, ParseNumToken(token, what, UINT64_MAX,
                                                  ErrorCode::kMalformed));
  if (v > kMaxOwnerId) {
    return Bad(std::string(what) + " " + std::to_string(v) + " exceeds " +
               std::to_string(kMaxOwnerId) +
               " (the kernel cannot give a file that owner)");
  }
  return static_cast<uint32_t>(v);
}

Result<std::string> ParseStr(std::string_view token, std::string_view what) {
  Result<std::string> decoded = DecodeStrToken(token);
  if (!decoded.has_value()) {
    return WithContext(std::move(decoded).error(), std::string(what));
  }
  return decoded;
}

// VALUE: "-" for empty, else lower-case hex of at most kMaxXattrValueBytes.
Result<std::string> ParseXattrValue(std::string_view token) {
  if (token == "-") {
    return std::string();
  }
  if (token.size() > 2 * kMaxXattrValueBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "xattr value longer than " +
                         std::to_string(kMaxXattrValueBytes) + " bytes");
  }
  Result<std::string> value = HexDecode(token);
  if (!value.has_value()) {
    return WithContext(std::move(value).error(), "xattr value");
  }
  return value;
}

// Number of fields after the keyword, FORMAT.md §3.4.
size_t RecordFields(EntryType type) {
  switch (type) {
    case EntryType::kFile:
    case EntryType::kChar:
    case EntryType::kBlock:
      return 6;
    case EntryType::kDir:
    case EntryType::kSymlink:
    case EntryType::kFifo:
      return 4;
    case EntryType::kHardlink:
      return 2;
  }
  return 0;
}

}  // namespace

Status CheckManifestRegion(const ByteSource& source, uint64_t offset,
                           uint64_t size, std::string_view source_name) {
  if (size > kMaxManifestBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "manifest: " + std::to_string(size) +
                         " bytes exceeds the limit of " +
                         std::to_string(kMaxManifestBytes));
  }
  // Written to avoid overflow in offset + size.
  if (offset > source.size() || size > source.size() - offset) {
    return Bad("manifest: region runs past the end of the " +
               std::string(source_name));
  }
  return OkStatus();
}

ManifestReader::ManifestReader(ByteSource& source, uint64_t offset,
                               uint64_t size, Sha256 hash)
    : source_(source), offset_(offset), size_(size), hash_(std::move(hash)) {}

Result<std::unique_ptr<ManifestReader>> ManifestReader::Open(ByteSource& source,
                                                             uint64_t offset,
                                                             uint64_t size) {
  IMAB_RETURN_IF_ERROR(CheckManifestRegion(source, offset, size, "source"));
  IMAB_ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
  std::unique_ptr<ManifestReader> reader(
      new ManifestReader(source, offset, size, std::move(hash)));
  Status header = reader->ParseHeader();
  if (!header.ok()) {
    return reader->Fail(std::move(header).error());
  }
  return reader;
}

Error ManifestReader::LineError(ErrorCode code, const std::string& why) const {
  return MakeError(
      code, "manifest line " + std::to_string(line_number_) + ": " + why);
}

Error ManifestReader::Fail(Error error) {
  if (error.message.rfind("manifest line ", 0) != 0) {
    error = LineError(error.code, error.message);
  }
  error_ = error;
  return error;
}

Status ManifestReader::Fill() {
  size_t pending = buffer_len_ - buffer_pos_;
  std::span<uint8_t> whole(buffer_);
  std::span<uint8_t> rest = whole.subspan(buffer_pos_, pending);
  std::copy(rest.begin(), rest.end(), buffer_.begin());
  buffer_pos_ = 0;
  buffer_len_ = pending;
  size_t want = static_cast<size_t>(
      std::min<uint64_t>(size_ - fetched_, kStreamChunkBytes));
  if (buffer_.size() < pending + want) {
    // Grow geometrically but never past the bound: pending < line limit.
    size_t grown =
        std::min(kBufferBound, std::max(pending + want, 2 * buffer_.size()));
    buffer_.reserve(grown);
    buffer_.resize(grown);
  }
  std::span<uint8_t> dest = std::span<uint8_t>(buffer_).subspan(pending, want);
  IMAB_RETURN_IF_ERROR(source_.ReadAt(offset_ + fetched_, dest));
  fetched_ += want;
  buffer_len_ += want;
  return OkStatus();
}

Result<std::string_view> ManifestReader::PeekLine() {
  uint64_t number = line_number_ + 1;
  for (;;) {
    std::span<const uint8_t> pending =
        std::span<const uint8_t>(buffer_).subspan(buffer_pos_,
                                                  buffer_len_ - buffer_pos_);
    std::span<const uint8_t> window =
        pending.first(std::min(pending.size(), kMaxManifestLineBytes));
    auto newline = std::ranges::find(window, uint8_t{'\n'});
    if (newline != window.end()) {
      size_t n = static_cast<size_t>(newline - window.begin());
      peeked_len_ = n + 1;
      ByteReader reader(pending);
      return reader.ReadString(n);
    }
    // A line that cannot end within the limit would force unbounded memory.
    if (pending.size() >= kMaxManifestLineBytes) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "manifest line " + std::to_string(number) +
                           ": longer than " +
                           std::to_string(kMaxManifestLineBytes) + " bytes");
    }
    if (fetched_ == size_) {
      return Bad("manifest line " + std::to_string(number) +
                 (pending.empty() ? ": unexpected end of manifest"
                                  : ": truncated (no newline)"));
    }
    Status filled = Fill();
    if (!filled.ok()) {
      return WithContext(std::move(filled).error(),
                         "manifest line " + std::to_string(number));
    }
  }
}

void ManifestReader::ConsumeLine() {
  hash_.Update(
      std::span<const uint8_t>(buffer_).subspan(buffer_pos_, peeked_len_));
  buffer_pos_ += peeked_len_;
  consumed_ += peeked_len_;
  peeked_len_ = 0;
  ++line_number_;
}

Result<std::string_view> ManifestReader::ReadLine() {
  IMAB_ASSIGN_OR_RETURN(std::string_view line, PeekLine());
  ConsumeLine();
  return line;
}

Status ManifestReader::ParseHeader() {
  // The header lines, each exactly once and in this order (FORMAT.md §3.2).
  static constexpr std::array<std::string_view, 8> kKeywords = {
      "imabundle-manifest", "kind",       "image-version",
      "compatible",         "created",    "payload-size",
      "payload-sha256",     "entry-count"};
  for (std::string_view keyword : kKeywords) {
    IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
    IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
    if (t.at[0] != keyword) {
      return Bad("expected '" + std::string(keyword) + "', found " +
                 Quote(t.at[0]));
    }
    IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
    IMAB_RETURN_IF_ERROR(ParseHeaderField(keyword, t.at[1]));
  }
  return ParseSections();
}

Status ManifestReader::ParseSections() {
  for (;;) {
    IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
    IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
    if (t.at[0] != "section") {
      if (t.at[0] != "entries") {
        return Bad("expected 'entries', found " + Quote(t.at[0]));
      }
      return CheckFieldCount(t, 0);
    }
    IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 2));
    if (t.at[1] == "trust-root") {
      IMAB_RETURN_IF_ERROR(ParseTrustRootSection(t.at[2]));
      continue;
    }
    // Every other section comes before ca-store (FORMAT.md §3.3).
    if (header_.ca_store.has_value()) {
      return Bad("section " + Quote(t.at[1]) + " after section 'ca-store'");
    }
    if (t.at[1] == "ca-store") {
      IMAB_ASSIGN_OR_RETURN(header_.ca_store, ParseCaStoreSection(t.at[2]));
      continue;
    }
    if (t.at[1] == "development") {
      IMAB_RETURN_IF_ERROR(ParseDevelopmentSection(t.at[2]));
      continue;
    }
    if (t.at[1] == "validity") {
      IMAB_RETURN_IF_ERROR(ParseValiditySection(t.at[2]));
      continue;
    }
    if (t.at[1] == "keys") {
      if (header_.keys.has_value() || header_.ima.has_value()) {
        return Bad("section 'keys' repeated or after section 'ima'");
      }
      if (t.at[2] != "2") {
        return Bad("unsupported version of section 'keys'");
      }
      IMAB_ASSIGN_OR_RETURN(header_.keys, ParseKeysSection());
      continue;
    }
    // An unknown section may carry a constraint we would silently ignore,
    // so fail closed (FORMAT.md §3.3).
    if (t.at[1] != "ima") {
      return Bad("unknown section " + Quote(t.at[1]));
    }
    // A second copy could contradict the first; neither would be canonical.
    if (header_.ima.has_value()) {
      return Bad("section 'ima' appears twice");
    }
    IMAB_ASSIGN_OR_RETURN(uint64_t version,
                          ParseNumToken(t.at[2], "section version", UINT64_MAX,
                                        ErrorCode::kMalformed));
    if (version != 1) {
      return Bad("unsupported version " + std::to_string(version) +
                 " of section 'ima'");
    }
    IMAB_ASSIGN_OR_RETURN(header_.ima, ParseImaSection());
  }
}

// FORMAT.md §3.3.4: one signed-root line, first of all sections.
Status ManifestReader::ParseTrustRootSection(std::string_view version) {
  if (!header_.trust_root.empty() || header_.development ||
      header_.expires.has_value() || header_.keys.has_value() ||
      header_.ima.has_value() || header_.ca_store.has_value()) {
    return Bad("section 'trust-root' repeated or not first");
  }
  if (version != "1") {
    return Bad("unsupported version of section 'trust-root'");
  }
  IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
  if (t.at[0] != "signed-root") {
    return Bad("expected 'signed-root', found " + Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  if (t.at[1].size() > 2 * kMaxTrustRootBytes || t.at[1] == "-") {
    return MakeError(ErrorCode::kLimitExceeded,
                     "signed trust root empty or over the limit");
  }
  IMAB_ASSIGN_OR_RETURN(header_.trust_root, HexDecode(t.at[1]));
  IMAB_ASSIGN_OR_RETURN(line, ReadLine());
  if (line != "end-section trust-root") {
    return Bad("expected 'end-section trust-root'");
  }
  return OkStatus();
}

// FORMAT.md §3.3.2: an empty marker section, before section ima.
Status ManifestReader::ParseDevelopmentSection(std::string_view version) {
  // Sections come in one order, once each, so the bytes stay canonical.
  if (header_.development || header_.expires.has_value() ||
      header_.keys.has_value() || header_.ima.has_value()) {
    return Bad("section 'development' repeated or out of order");
  }
  if (version != "1") {
    return Bad("unsupported version of section 'development'");
  }
  IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
  if (line != "end-section development") {
    return Bad("section 'development' must be empty");
  }
  header_.development = true;
  return OkStatus();
}

// FORMAT.md §3.3.5: one expires line, after development, before keys.
Status ManifestReader::ParseValiditySection(std::string_view version) {
  if (header_.expires.has_value() || header_.keys.has_value() ||
      header_.ima.has_value()) {
    return Bad("section 'validity' repeated or out of order");
  }
  if (version != "1") {
    return Bad("unsupported version of section 'validity'");
  }
  IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
  if (t.at[0] != "expires") {
    return Bad("expected 'expires', found " + Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  IMAB_ASSIGN_OR_RETURN(
      header_.expires,
      ParseNumToken(t.at[1], "expires", kMaxCreated, ErrorCode::kMalformed));
  IMAB_ASSIGN_OR_RETURN(line, ReadLine());
  if (line != "end-section validity") {
    return Bad("expected 'end-section validity'");
  }
  return OkStatus();
}

namespace {

// FORMAT.md §3.3.3: `kernel PATH MAJOR.MINOR`.
Result<KernelRecord> ParseKernelLine(const ManifestTokens& t) {
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 2));
  KernelRecord kernel;
  IMAB_ASSIGN_OR_RETURN(kernel.path, DecodeStrToken(t.at[1]));
  const size_t dot = t.at[2].find('.');
  if (dot == std::string_view::npos) {
    return Bad("kernel version is not MAJOR.MINOR");
  }
  IMAB_ASSIGN_OR_RETURN(uint64_t major,
                        ParseNumToken(t.at[2].substr(0, dot), "kernel major",
                                      999999, ErrorCode::kMalformed));
  IMAB_ASSIGN_OR_RETURN(uint64_t minor,
                        ParseNumToken(t.at[2].substr(dot + 1), "kernel minor",
                                      999999, ErrorCode::kMalformed));
  kernel.major = static_cast<uint32_t>(major);
  kernel.minor = static_cast<uint32_t>(minor);
  return kernel;
}

// A kernel-ca or kernel line of section `keys` (FORMAT.md §3.3.3).
Status AddKernelKeyLine(const ManifestTokens& t, KeysSection& keys) {
  if (t.at[0] == "kernel-ca") {
    IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
    if (keys.kernel_cas.size() == kMaxSigningCerts) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "too many kernel-ca lines in section 'keys'");
    }
    IMAB_ASSIGN_OR_RETURN(std::string der, ParseCertificateToken(t.at[1]));
    keys.kernel_cas.push_back(std::move(der));
    return OkStatus();
  }
  // The kernel-ca lines come first and are complete here. A kernel whose
  // CAs nobody declared would be judged with the device's own CAs, yet boot
  // with whatever it carries (FORMAT.md §3.3.7).
  if (keys.kernel_cas.empty()) {
    return Bad(
        "a kernel line needs the kernel-ca lines of the CAs built into "
        "that kernel; this section has none");
  }
  if (keys.kernels.size() == kMaxKernelRecords) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "too many kernel lines in section 'keys'");
  }
  IMAB_ASSIGN_OR_RETURN(KernelRecord kernel, ParseKernelLine(t));
  if (!keys.kernels.empty() && !(keys.kernels.back().path < kernel.path)) {
    return Bad("kernel paths not strictly increasing");
  }
  keys.kernels.push_back(std::move(kernel));
  return OkStatus();
}

// "initramfs PATH EVM-CERT-SHA IMA-CERT-SHA|-" (FORMAT.md §3.3.3), appended
// to `records` after the count limit and the path order are checked.
Status AddInitramfsLine(const ManifestTokens& t,
                        std::vector<InitramfsRecord>& records) {
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 3));
  if (records.size() == kMaxInitramfsRecords) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "too many initramfs lines in section 'keys'");
  }
  InitramfsRecord record;
  IMAB_ASSIGN_OR_RETURN(record.path, DecodeStrToken(t.at[1]));
  IMAB_ASSIGN_OR_RETURN(record.evm_cert_sha256,
                        ParseShaToken(t.at[2], "initramfs evm cert"));
  if (t.at[3] != "-") {
    IMAB_ASSIGN_OR_RETURN(record.ima_cert_sha256,
                          ParseShaToken(t.at[3], "initramfs ima cert"));
  }
  // One line per initramfs, in byte order of the path: canonical.
  if (!records.empty() && !(records.back().path < record.path)) {
    return Bad("initramfs paths not strictly increasing");
  }
  records.push_back(std::move(record));
  return OkStatus();
}

}  // namespace

// FORMAT.md §3.3.3: key-generation, kernel-ca lines, kernel lines,
// initramfs lines, end-section keys.
Result<KeysSection> ManifestReader::ParseKeysSection() {
  KeysSection keys;
  IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
  if (t.at[0] != "key-generation") {
    return Bad("expected 'key-generation', found " + Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  IMAB_ASSIGN_OR_RETURN(keys.key_generation,
                        ParseNumToken(t.at[1], "key-generation", UINT64_MAX,
                                      ErrorCode::kMalformed));
  for (;;) {
    IMAB_ASSIGN_OR_RETURN(line, ReadLine());
    IMAB_ASSIGN_OR_RETURN(t, SplitManifestLine(line));
    if ((t.at[0] == "kernel-ca" || t.at[0] == "kernel") &&
        keys.initramfs.empty() &&
        (t.at[0] == "kernel" || keys.kernels.empty())) {
      IMAB_RETURN_IF_ERROR(AddKernelKeyLine(t, keys));
      continue;
    }
    if (t.at[0] != "initramfs") {
      break;
    }
    IMAB_RETURN_IF_ERROR(AddInitramfsLine(t, keys.initramfs));
  }
  if (t.at[0] != "end-section") {
    return Bad(
        "expected 'kernel-ca', 'kernel', 'initramfs' or 'end-section', "
        "found " +
        Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  if (t.at[1] != "keys") {
    return Bad("end-section " + Quote(t.at[1]) + " closes section 'keys'");
  }
  return keys;
}

Result<ImaSection> ManifestReader::ParseImaSection() {
  // FORMAT.md §3.3.1: kernel-profile, 1..kMaxSigningCerts cert lines with
  // strictly increasing keyids, end-section ima.
  ImaSection ima;
  IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
  if (t.at[0] != "kernel-profile") {
    return Bad("expected 'kernel-profile', found " + Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  IMAB_ASSIGN_OR_RETURN(ima.profile, ParseKernelProfileToken(t.at[1]));
  for (;;) {
    IMAB_ASSIGN_OR_RETURN(line, ReadLine());
    IMAB_ASSIGN_OR_RETURN(t, SplitManifestLine(line));
    if (t.at[0] == "end-section") {
      break;
    }
    if (t.at[0] != "cert") {
      return Bad("expected 'cert' or 'end-section', found " + Quote(t.at[0]));
    }
    if (ima.certificates.size() == kMaxSigningCerts) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "more than " + std::to_string(kMaxSigningCerts) +
                           " certificates in section 'ima'");
    }
    IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 2));
    SigningCertificate cert;
    IMAB_ASSIGN_OR_RETURN(cert.keyid, ParseKeyIdToken(t.at[1]));
    // The kernel takes the first key matching a keyid: they must be unique.
    if (!ima.certificates.empty() &&
        !(ima.certificates.back().keyid < cert.keyid)) {
      return Bad("cert keyids not strictly increasing");
    }
    IMAB_ASSIGN_OR_RETURN(cert.der, ParseCertificateToken(t.at[2]));
    ima.certificates.push_back(std::move(cert));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  if (t.at[1] != "ima") {
    return Bad("end-section " + Quote(t.at[1]) + " closes section 'ima'");
  }
  if (ima.certificates.empty()) {
    return Bad("section 'ima' declares no cert");
  }
  return ima;
}

// FORMAT.md §3.3.6: bundle, anchor lines strictly increasing by link,
// end-section ca-store.
Result<CaStoreSection> ManifestReader::ParseCaStoreSection(
    std::string_view version) {
  if (version != "1") {
    return Bad("unsupported version of section 'ca-store'");
  }
  CaStoreSection ca;
  IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
  if (t.at[0] != "bundle") {
    return Bad("expected 'bundle', found " + Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  IMAB_ASSIGN_OR_RETURN(ca.bundle_sha256, ParseShaToken(t.at[1], "bundle"));
  for (;;) {
    IMAB_ASSIGN_OR_RETURN(line, ReadLine());
    IMAB_ASSIGN_OR_RETURN(t, SplitManifestLine(line));
    if (t.at[0] != "anchor") {
      break;
    }
    IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 4));
    if (ca.anchors.size() == kMaxCaAnchors) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "more than " + std::to_string(kMaxCaAnchors) +
                           " anchors in section 'ca-store'");
    }
    CaAnchorRecord a;
    IMAB_ASSIGN_OR_RETURN(a.link, ParseStr(t.at[1], "anchor link"));
    // A link is a file name in etc/ssl/certs, never a path.
    if (a.link.find('/') != std::string::npos ||
        a.link.find('\0') != std::string::npos || a.link == "." ||
        a.link == "..") {
      return Bad("anchor link is not a file name");
    }
    // One line per link, in byte order: canonical and duplicate-free.
    if (!ca.anchors.empty() && !(ca.anchors.back().link < a.link)) {
      return Bad("anchor links not strictly increasing");
    }
    IMAB_ASSIGN_OR_RETURN(a.sha256, ParseShaToken(t.at[2], "anchor sha256"));
    IMAB_ASSIGN_OR_RETURN(a.not_after,
                          ParseNumToken(t.at[3], "anchor not-after", UINT64_MAX,
                                        ErrorCode::kMalformed));
    IMAB_ASSIGN_OR_RETURN(a.subject, ParseStr(t.at[4], "anchor subject"));
    ca.anchors.push_back(std::move(a));
  }
  if (t.at[0] != "end-section") {
    return Bad("expected 'anchor' or 'end-section', found " + Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  if (t.at[1] != "ca-store") {
    return Bad("end-section " + Quote(t.at[1]) + " closes section 'ca-store'");
  }
  return ca;
}

Status ManifestReader::ParseHeaderField(std::string_view keyword,
                                        std::string_view value) {
  ManifestHeader& h = header_;
  if (keyword == "imabundle-manifest") {
    IMAB_ASSIGN_OR_RETURN(uint64_t version,
                          ParseNumToken(value, "format version", UINT64_MAX,
                                        ErrorCode::kMalformed));
    if (version != kFormatVersion) {
      return Bad("unsupported format version " + std::to_string(version));
    }
    h.format_version = kFormatVersion;
  } else if (keyword == "kind") {
    // Only full images exist in format 2; a delta would need other rules.
    if (value != "full") {
      return Bad("unsupported kind " + Quote(value));
    }
    h.kind = std::string(value);
  } else if (keyword == "image-version") {
    Status ok = CheckImageVersion(value);
    if (!ok.ok()) {
      return Bad(ok.error().message);
    }
    h.image_version = std::string(value);
  } else if (keyword == "compatible") {
    Status ok = CheckCompatibleName(value);
    if (!ok.ok()) {
      return Bad(ok.error().message);
    }
    h.compatible = std::string(value);
  } else if (keyword == "created") {
    IMAB_ASSIGN_OR_RETURN(
        h.created,
        ParseNumToken(value, "created", kMaxCreated, ErrorCode::kMalformed));
  } else if (keyword == "payload-size") {
    IMAB_ASSIGN_OR_RETURN(h.payload_size,
                          ParseNumToken(value, "payload-size", kMaxPayloadBytes,
                                        ErrorCode::kLimitExceeded));
  } else if (keyword == "payload-sha256") {
    IMAB_ASSIGN_OR_RETURN(h.payload_sha256,
                          ParseShaToken(value, "payload-sha256"));
  } else {
    IMAB_ASSIGN_OR_RETURN(h.entry_count,
                          ParseNumToken(value, "entry-count", kMaxEntries,
                                        ErrorCode::kLimitExceeded));
  }
  return OkStatus();
}

Result<Entry> ManifestReader::ParseRecord(std::string_view line) {
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
  if (t.at[0] == "end") {
    return Bad("'end' after " + std::to_string(records_read_) + " of " +
               std::to_string(header_.entry_count) + " records");
  }
  if (t.at[0] == "xattr") {
    return Bad("xattr line without a record");
  }
  std::optional<EntryType> type = EntryTypeFromName(t.at[0]);
  if (!type.has_value()) {
    return Bad("unknown keyword " + Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, RecordFields(*type)));
  Entry e;
  e.type = *type;
  IMAB_ASSIGN_OR_RETURN(e.path, ParseStr(t.at[1], "path"));
  if (e.type == EntryType::kHardlink) {
    IMAB_ASSIGN_OR_RETURN(e.link_target, ParseStr(t.at[2], "target"));
    return e;
  }
  if (e.type == EntryType::kSymlink) {
    e.mode = 0777;
    IMAB_ASSIGN_OR_RETURN(e.uid, ParseId(t.at[2], "uid"));
    IMAB_ASSIGN_OR_RETURN(e.gid, ParseId(t.at[3], "gid"));
    IMAB_ASSIGN_OR_RETURN(e.link_target, ParseStr(t.at[4], "target"));
    return e;
  }
  IMAB_ASSIGN_OR_RETURN(e.mode, ParseModeToken(t.at[2]));
  IMAB_ASSIGN_OR_RETURN(e.uid, ParseId(t.at[3], "uid"));
  IMAB_ASSIGN_OR_RETURN(e.gid, ParseId(t.at[4], "gid"));
  if (e.type == EntryType::kFile) {
    IMAB_ASSIGN_OR_RETURN(e.size, ParseNumToken(t.at[5], "size", kMaxFileBytes,
                                                ErrorCode::kLimitExceeded));
    IMAB_ASSIGN_OR_RETURN(e.sha256, ParseShaToken(t.at[6], "sha256"));
  }
  if (e.type == EntryType::kChar || e.type == EntryType::kBlock) {
    IMAB_ASSIGN_OR_RETURN(uint64_t major,
                          ParseNumToken(t.at[5], "major", kMaxDeviceMajor,
                                        ErrorCode::kLimitExceeded));
    IMAB_ASSIGN_OR_RETURN(uint64_t minor,
                          ParseNumToken(t.at[6], "minor", kMaxDeviceMinor,
                                        ErrorCode::kLimitExceeded));
    e.dev_major = static_cast<uint32_t>(major);
    e.dev_minor = static_cast<uint32_t>(minor);
  }
  return e;
}

Status ManifestReader::ParseXattrs(Entry* entry) {
  for (;;) {
    // Look ahead one line: xattr lines belong to the record before them.
    IMAB_ASSIGN_OR_RETURN(std::string_view line, PeekLine());
    if (line.substr(0, line.find(' ')) != "xattr") {
      return OkStatus();
    }
    ConsumeLine();
    if (entry->type == EntryType::kHardlink) {
      return Bad("hardlink has no xattr lines");
    }
    IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
    IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 2));
    if (entry->xattrs.size() == kMaxXattrsPerEntry) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "more than " + std::to_string(kMaxXattrsPerEntry) +
                           " xattrs in one record");
    }
    Xattr x;
    IMAB_ASSIGN_OR_RETURN(x.name, ParseStr(t.at[1], "xattr name"));
    if (x.name.size() > kMaxXattrNameBytes) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "xattr name longer than " +
                           std::to_string(kMaxXattrNameBytes) + " bytes");
    }
    // Strict order gives one spelling per record and rules out duplicates.
    if (!entry->xattrs.empty() && !(entry->xattrs.back().name < x.name)) {
      return Bad("xattr names not strictly increasing");
    }
    IMAB_ASSIGN_OR_RETURN(x.value, ParseXattrValue(t.at[2]));
    entry->xattrs.push_back(std::move(x));
  }
}

Result<std::optional<Entry>> ManifestReader::NextUnchecked() {
  if (at_end_) {
    return std::optional<Entry>();
  }
  IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
  if (records_read_ == header_.entry_count) {
    IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
    if (t.at[0] != "end") {
      // Extra records would otherwise go unnoticed by a count-driven caller.
      return Bad("expected 'end' after " + std::to_string(header_.entry_count) +
                 " records, found " + Quote(t.at[0]));
    }
    IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 0));
    at_end_ = true;
    return std::optional<Entry>();
  }
  IMAB_ASSIGN_OR_RETURN(Entry entry, ParseRecord(line));
  ++records_read_;
  IMAB_RETURN_IF_ERROR(ParseXattrs(&entry));
  return std::optional<Entry>(std::move(entry));
}

Result<std::optional<Entry>> ManifestReader::Next() {
  if (error_.has_value()) {
    return *error_;
  }
  Result<std::optional<Entry>> next = NextUnchecked();
  if (!next.has_value()) {
    return Fail(std::move(next).error());
  }
  return next;
}

Result<Sha256Digest> ManifestReader::Finish() {
  if (!at_end_ || finished_) {
    return MakeError(ErrorCode::kInternal,
                     "ManifestReader::Finish() called before the end or twice");
  }
  finished_ = true;
  // Bytes after 'end' are signed but never parsed: refuse them so that no
  // other reader of the manifest can give them a meaning.
  if (consumed_ != size_) {
    return MakeError(ErrorCode::kMalformed,
                     "manifest line " + std::to_string(line_number_ + 1) +
                         ": " + std::to_string(size_ - consumed_) +
                         " bytes after 'end'");
  }
  return hash_.Finish();
}

}  // namespace imab
