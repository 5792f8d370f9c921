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

Error TooMany(const std::string& why) {
  return MakeError(ErrorCode::kLimitExceeded, why);
}

std::string LinePrefix(uint64_t number) {
  return "manifest line " + std::to_string(number) + ": ";
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

// The builder's checks of user input fail with kInvalidArgument; in a
// manifest the same rule makes the bytes malformed.
Status AsMalformed(Status status) {
  if (!status.ok()) {
    return Bad(status.error().message);
  }
  return OkStatus();
}

// Lists in a section or record are strictly increasing by one key: one
// spelling per manifest, and no duplicates.
template <typename T, typename Key>
Status CheckIncreasing(const std::vector<T>& list, Key T::*key, const Key& next,
                       std::string_view what) {
  if (!list.empty() && !(list.back().*key < next)) {
    return Bad(std::string(what) + " not strictly increasing");
  }
  return OkStatus();
}

// `end-section NAME` closing section `section`; `expected` lists what the
// section allows where this line stands, for the message.
Status CheckSectionEnd(const ManifestTokens& t, std::string_view section,
                       std::string_view expected) {
  if (t.at[0] != "end-section") {
    return Bad("expected " + std::string(expected) + ", found " +
               Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  if (t.at[1] != section) {
    return Bad("end-section " + Quote(t.at[1]) + " closes section '" +
               std::string(section) + "'");
  }
  return OkStatus();
}

// UID and GID (FORMAT.md §3.4): an owner the kernel cannot set would leave
// the installed file root-owned, so its EVM signature and the appraisal
// decision made for the signed owner would no longer hold.
Result<uint32_t> ParseId(std::string_view token, std::string_view what) {
  IMAB_ASSIGN_OR_RETURN(uint64_t v, ParseNumToken(token, what));
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
  return ParseBoundedHexToken(token, kMaxXattrValueBytes, "xattr value");
}

// FORMAT.md §3.3.3: `kernel PATH MAJOR.MINOR`.
Result<KernelRecord> ParseKernelLine(const ManifestTokens& t) {
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 2));
  KernelRecord kernel;
  IMAB_ASSIGN_OR_RETURN(kernel.path, DecodeStrToken(t.at[1]));
  const size_t dot = t.at[2].find('.');
  if (dot == std::string_view::npos) {
    return Bad("kernel version is not MAJOR.MINOR");
  }
  IMAB_ASSIGN_OR_RETURN(uint64_t major, ParseNumToken(t.at[2].substr(0, dot),
                                                      "kernel major", 999999));
  IMAB_ASSIGN_OR_RETURN(uint64_t minor, ParseNumToken(t.at[2].substr(dot + 1),
                                                      "kernel minor", 999999));
  kernel.major = static_cast<uint32_t>(major);
  kernel.minor = static_cast<uint32_t>(minor);
  return kernel;
}

// A `kernel-ca HEX` line of section `keys` (FORMAT.md §3.3.3).
Status AddKernelCaLine(const ManifestTokens& t, KeysSection& keys) {
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  if (keys.kernel_cas.size() == kMaxSigningCerts) {
    return TooMany("too many kernel-ca lines in section 'keys'");
  }
  IMAB_ASSIGN_OR_RETURN(std::string der, ParseCertificateToken(t.at[1]));
  keys.kernel_cas.push_back(std::move(der));
  return OkStatus();
}

// A `kernel` line of section `keys`, after every kernel-ca line.
Status AddKernelLine(const ManifestTokens& t, KeysSection& keys) {
  // A kernel whose CAs nobody declared would be judged with the device's own
  // CAs, yet boot with whatever it carries (FORMAT.md §3.3.7).
  if (keys.kernel_cas.empty()) {
    return Bad(
        "a kernel line needs the kernel-ca lines of the CAs built into "
        "that kernel; this section has none");
  }
  if (keys.kernels.size() == kMaxKernelRecords) {
    return TooMany("too many kernel lines in section 'keys'");
  }
  IMAB_ASSIGN_OR_RETURN(KernelRecord kernel, ParseKernelLine(t));
  IMAB_RETURN_IF_ERROR(CheckIncreasing(keys.kernels, &KernelRecord::path,
                                       kernel.path, "kernel paths"));
  keys.kernels.push_back(std::move(kernel));
  return OkStatus();
}

// "initramfs PATH EVM-CERT-SHA IMA-CERT-SHA|-" (FORMAT.md §3.3.3).
Status AddInitramfsLine(const ManifestTokens& t, KeysSection& keys) {
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 3));
  if (keys.initramfs.size() == kMaxInitramfsRecords) {
    return TooMany("too many initramfs lines in section 'keys'");
  }
  InitramfsRecord record;
  IMAB_ASSIGN_OR_RETURN(record.path, DecodeStrToken(t.at[1]));
  IMAB_ASSIGN_OR_RETURN(record.evm_cert_sha256,
                        ParseShaToken(t.at[2], "initramfs evm cert"));
  if (t.at[3] != "-") {
    IMAB_ASSIGN_OR_RETURN(record.ima_cert_sha256,
                          ParseShaToken(t.at[3], "initramfs ima cert"));
  }
  IMAB_RETURN_IF_ERROR(CheckIncreasing(keys.initramfs, &InitramfsRecord::path,
                                       record.path, "initramfs paths"));
  keys.initramfs.push_back(std::move(record));
  return OkStatus();
}

// "cert KEYID HEX" of section `ima` (FORMAT.md §3.3.1).
Status AddCertLine(const ManifestTokens& t, ImaSection& ima) {
  if (ima.certificates.size() == kMaxSigningCerts) {
    return TooMany("more than " + std::to_string(kMaxSigningCerts) +
                   " certificates in section 'ima'");
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 2));
  SigningCertificate cert;
  IMAB_ASSIGN_OR_RETURN(cert.keyid, ParseKeyIdToken(t.at[1]));
  // The kernel takes the first key matching a keyid: they must be unique.
  IMAB_RETURN_IF_ERROR(CheckIncreasing(
      ima.certificates, &SigningCertificate::keyid, cert.keyid, "cert keyids"));
  IMAB_ASSIGN_OR_RETURN(cert.der, ParseCertificateToken(t.at[2]));
  ima.certificates.push_back(std::move(cert));
  return OkStatus();
}

// "anchor LINK SHA NOT-AFTER SUBJECT" of section `ca-store` (§3.3.6).
Status AddAnchorLine(const ManifestTokens& t, CaStoreSection& ca) {
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 4));
  if (ca.anchors.size() == kMaxCaAnchors) {
    return TooMany("more than " + std::to_string(kMaxCaAnchors) +
                   " anchors in section 'ca-store'");
  }
  CaAnchorRecord a;
  IMAB_ASSIGN_OR_RETURN(a.link, ParseStr(t.at[1], "anchor link"));
  // A link is a file name in etc/ssl/certs, never a path.
  if (a.link.find_first_of(std::string_view("/\0", 2)) != std::string::npos ||
      a.link == "." || a.link == "..") {
    return Bad("anchor link is not a file name");
  }
  IMAB_RETURN_IF_ERROR(CheckIncreasing(ca.anchors, &CaAnchorRecord::link,
                                       a.link, "anchor links"));
  IMAB_ASSIGN_OR_RETURN(a.sha256, ParseShaToken(t.at[2], "anchor sha256"));
  IMAB_ASSIGN_OR_RETURN(a.not_after,
                        ParseNumToken(t.at[3], "anchor not-after"));
  IMAB_ASSIGN_OR_RETURN(a.subject, ParseStr(t.at[4], "anchor subject"));
  ca.anchors.push_back(std::move(a));
  return OkStatus();
}

// "xattr NAME VALUE" of the record `entry` (FORMAT.md §3.4).
Status AddXattrLine(const ManifestTokens& t, Entry& entry) {
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 2));
  if (entry.xattrs.size() == kMaxXattrsPerEntry) {
    return TooMany("more than " + std::to_string(kMaxXattrsPerEntry) +
                   " xattrs in one record");
  }
  Xattr x;
  IMAB_ASSIGN_OR_RETURN(x.name, ParseStr(t.at[1], "xattr name"));
  if (x.name.size() > kMaxXattrNameBytes) {
    return TooMany("xattr name longer than " +
                   std::to_string(kMaxXattrNameBytes) + " bytes");
  }
  IMAB_RETURN_IF_ERROR(
      CheckIncreasing(entry.xattrs, &Xattr::name, x.name, "xattr names"));
  IMAB_ASSIGN_OR_RETURN(x.value, ParseXattrValue(t.at[2]));
  entry.xattrs.push_back(std::move(x));
  return OkStatus();
}

// Number of fields after the keyword, FORMAT.md §3.4.
size_t RecordFields(EntryType type) {
  switch (type) {
    case EntryType::kHardlink:
      return 2;
    case EntryType::kFile:
    case EntryType::kChar:
    case EntryType::kBlock:
      return 6;
    default:
      return 4;  // dir, symlink, fifo
  }
}

// The fields of a record line after its keyword (FORMAT.md §3.4), in line
// order: PATH [MODE] [UID GID] [TARGET] [SIZE SHA | MAJOR MINOR].
Result<Entry> ParseRecordFields(const ManifestTokens& t, EntryType type) {
  Entry e;
  e.type = type;
  IMAB_ASSIGN_OR_RETURN(e.path, ParseStr(t.at[1], "path"));
  size_t i = 2;
  if (type != EntryType::kHardlink) {
    e.mode = 0777;  // a symlink's, never written
    if (type != EntryType::kSymlink) {
      IMAB_ASSIGN_OR_RETURN(e.mode, ParseModeToken(t.at[i++]));
    }
    IMAB_ASSIGN_OR_RETURN(e.uid, ParseId(t.at[i++], "uid"));
    IMAB_ASSIGN_OR_RETURN(e.gid, ParseId(t.at[i++], "gid"));
  }
  if (type == EntryType::kHardlink || type == EntryType::kSymlink) {
    IMAB_ASSIGN_OR_RETURN(e.link_target, ParseStr(t.at[i], "target"));
  }
  if (type == EntryType::kFile) {
    IMAB_ASSIGN_OR_RETURN(e.size, ParseNumToken(t.at[5], "size", kMaxFileBytes,
                                                ErrorCode::kLimitExceeded));
    IMAB_ASSIGN_OR_RETURN(e.sha256, ParseShaToken(t.at[6], "sha256"));
  }
  if (type == EntryType::kChar || type == EntryType::kBlock) {
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

// VERSION of `section NAME VERSION`: `supported`, spelled as such. Only
// section ima reads it as a NUM, and its messages say so.
Status CheckSectionVersion(std::string_view name, std::string_view supported,
                           std::string_view version) {
  if (version == supported) {
    return OkStatus();
  }
  if (name != "ima") {
    return Bad("unsupported version of section '" + std::string(name) + "'");
  }
  IMAB_ASSIGN_OR_RETURN(uint64_t number,
                        ParseNumToken(version, "section version"));
  return Bad("unsupported version " + std::to_string(number) +
             " of section 'ima'");
}

}  // namespace

Status CheckManifestRegion(const ByteSource& source, uint64_t offset,
                           uint64_t size, std::string_view source_name) {
  if (size > kMaxManifestBytes) {
    return TooMany("manifest: " + std::to_string(size) +
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

// Errors of the line being parsed get its number; those of PeekLine()
// carry the number of the line it could not read.
Error ManifestReader::Fail(Error error) {
  if (error.message.rfind("manifest line ", 0) != 0) {
    error.message = LinePrefix(line_number_) + error.message;
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
    const std::string where = LinePrefix(line_number_ + 1);
    // A line that cannot end within the limit would force unbounded memory.
    if (pending.size() >= kMaxManifestLineBytes) {
      return TooMany(where + "longer than " +
                     std::to_string(kMaxManifestLineBytes) + " bytes");
    }
    if (fetched_ == size_) {
      return Bad(where + (pending.empty() ? "unexpected end of manifest"
                                          : "truncated (no newline)"));
    }
    Status filled = Fill();
    if (!filled.ok()) {
      Error error = std::move(filled).error();
      error.message = where + error.message;
      return error;
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

Result<ManifestTokens> ManifestReader::ReadTokens() {
  IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
  return SplitManifestLine(line);
}

Result<std::string_view> ManifestReader::ReadField(std::string_view keyword) {
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, ReadTokens());
  if (t.at[0] != keyword) {
    return Bad("expected '" + std::string(keyword) + "', found " +
               Quote(t.at[0]));
  }
  IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 1));
  return t.at[1];
}

// The closing line of a one-line section, compared as a whole.
Status ManifestReader::ReadExactLine(std::string_view expected,
                                     const char* otherwise) {
  IMAB_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
  if (line != expected) {
    return Bad(otherwise);
  }
  return OkStatus();
}

// The header lines, each exactly once and in this order (FORMAT.md §3.2).
Status ManifestReader::ParseHeader() {
  ManifestHeader& h = header_;
  IMAB_ASSIGN_OR_RETURN(std::string_view v, ReadField("imabundle-manifest"));
  IMAB_ASSIGN_OR_RETURN(uint64_t version, ParseNumToken(v, "format version"));
  if (version != kFormatVersion) {
    return Bad("unsupported format version " + std::to_string(version));
  }
  IMAB_ASSIGN_OR_RETURN(v, ReadField("kind"));
  // Only full images exist in format 2; a delta would need other rules.
  if (v != "full") {
    return Bad("unsupported kind " + Quote(v));
  }
  IMAB_ASSIGN_OR_RETURN(v, ReadField("image-version"));
  IMAB_RETURN_IF_ERROR(AsMalformed(CheckImageVersion(v)));
  h.image_version = std::string(v);
  IMAB_ASSIGN_OR_RETURN(v, ReadField("compatible"));
  IMAB_RETURN_IF_ERROR(AsMalformed(CheckCompatibleName(v)));
  h.compatible = std::string(v);
  IMAB_ASSIGN_OR_RETURN(v, ReadField("created"));
  IMAB_ASSIGN_OR_RETURN(h.created, ParseNumToken(v, "created", kMaxCreated));
  IMAB_ASSIGN_OR_RETURN(v, ReadField("payload-size"));
  IMAB_ASSIGN_OR_RETURN(h.payload_size,
                        ParseNumToken(v, "payload-size", kMaxPayloadBytes,
                                      ErrorCode::kLimitExceeded));
  IMAB_ASSIGN_OR_RETURN(v, ReadField("payload-sha256"));
  IMAB_ASSIGN_OR_RETURN(h.payload_sha256, ParseShaToken(v, "payload-sha256"));
  IMAB_ASSIGN_OR_RETURN(v, ReadField("entry-count"));
  IMAB_ASSIGN_OR_RETURN(
      h.entry_count,
      ParseNumToken(v, "entry-count", kMaxEntries, ErrorCode::kLimitExceeded));
  return ParseSections();
}

// FORMAT.md §3.3: the sections a verifier knows, at most once each and in
// this order. An unknown one may carry a constraint we would silently
// ignore, so it fails closed; a second copy could contradict the first.
Status ManifestReader::ParseSections() {
  struct Section {
    std::string_view name;
    std::string_view version;
    const char* out_of_order;
    Status (ManifestReader::*parse)();
  };
  static constexpr std::array<Section, 6> kSections = {{
      {"trust-root", "1", "section 'trust-root' repeated or not first",
       &ManifestReader::ParseTrustRootSection},
      {"development", "1", "section 'development' repeated or out of order",
       &ManifestReader::ParseDevelopmentSection},
      {"validity", "1", "section 'validity' repeated or out of order",
       &ManifestReader::ParseValiditySection},
      {"keys", "2", "section 'keys' repeated or after section 'ima'",
       &ManifestReader::ParseKeysSection},
      {"ima", "1", "section 'ima' appears twice",
       &ManifestReader::ParseImaSection},
      {"ca-store", "1", "", &ManifestReader::ParseCaStoreSection},
  }};
  size_t allowed = 0;  // index of the first section that may still come
  for (;;) {
    IMAB_ASSIGN_OR_RETURN(ManifestTokens t, ReadTokens());
    if (t.at[0] != "section") {
      if (t.at[0] != "entries") {
        return Bad("expected 'entries', found " + Quote(t.at[0]));
      }
      return CheckFieldCount(t, 0);
    }
    IMAB_RETURN_IF_ERROR(CheckFieldCount(t, 2));
    // Every section but trust-root comes before ca-store, so ca-store itself
    // is never refused by its index below.
    if (t.at[1] != "trust-root" && header_.ca_store.has_value()) {
      return Bad("section " + Quote(t.at[1]) + " after section 'ca-store'");
    }
    auto section = std::ranges::find(kSections, t.at[1], &Section::name);
    if (section == kSections.end()) {
      return Bad("unknown section " + Quote(t.at[1]));
    }
    const size_t index = static_cast<size_t>(section - kSections.begin());
    if (index < allowed) {
      return Bad(section->out_of_order);
    }
    IMAB_RETURN_IF_ERROR(
        CheckSectionVersion(section->name, section->version, t.at[2]));
    allowed = index + 1;
    IMAB_RETURN_IF_ERROR((this->*section->parse)());
  }
}

// FORMAT.md §3.3.4: one signed-root line, first of all sections.
Status ManifestReader::ParseTrustRootSection() {
  IMAB_ASSIGN_OR_RETURN(std::string_view root, ReadField("signed-root"));
  if (root.size() > 2 * kMaxTrustRootBytes || root == "-") {
    return TooMany("signed trust root empty or over the limit");
  }
  IMAB_ASSIGN_OR_RETURN(header_.trust_root, HexDecode(root));
  return ReadExactLine("end-section trust-root",
                       "expected 'end-section trust-root'");
}

// FORMAT.md §3.3.2: an empty marker section, before section ima.
Status ManifestReader::ParseDevelopmentSection() {
  IMAB_RETURN_IF_ERROR(ReadExactLine("end-section development",
                                     "section 'development' must be empty"));
  header_.development = true;
  return OkStatus();
}

// FORMAT.md §3.3.5: one expires line, after development, before keys.
Status ManifestReader::ParseValiditySection() {
  IMAB_ASSIGN_OR_RETURN(std::string_view expires, ReadField("expires"));
  IMAB_ASSIGN_OR_RETURN(header_.expires,
                        ParseNumToken(expires, "expires", kMaxCreated));
  return ReadExactLine("end-section validity",
                       "expected 'end-section validity'");
}

// FORMAT.md §3.3.3: key-generation, kernel-ca lines, kernel lines,
// initramfs lines, end-section keys.
Status ManifestReader::ParseKeysSection() {
  KeysSection keys;
  IMAB_ASSIGN_OR_RETURN(std::string_view generation,
                        ReadField("key-generation"));
  IMAB_ASSIGN_OR_RETURN(keys.key_generation,
                        ParseNumToken(generation, "key-generation"));
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, ReadTokens());
  // Three runs of lines, in this order, each possibly empty.
  while (t.at[0] == "kernel-ca") {
    IMAB_RETURN_IF_ERROR(AddKernelCaLine(t, keys));
    IMAB_ASSIGN_OR_RETURN(t, ReadTokens());
  }
  while (t.at[0] == "kernel") {
    IMAB_RETURN_IF_ERROR(AddKernelLine(t, keys));
    IMAB_ASSIGN_OR_RETURN(t, ReadTokens());
  }
  while (t.at[0] == "initramfs") {
    IMAB_RETURN_IF_ERROR(AddInitramfsLine(t, keys));
    IMAB_ASSIGN_OR_RETURN(t, ReadTokens());
  }
  IMAB_RETURN_IF_ERROR(CheckSectionEnd(
      t, "keys", "'kernel-ca', 'kernel', 'initramfs' or 'end-section'"));
  header_.keys = std::move(keys);
  return OkStatus();
}

// FORMAT.md §3.3.1: kernel-profile, 1..kMaxSigningCerts cert lines with
// strictly increasing keyids, end-section ima.
Status ManifestReader::ParseImaSection() {
  ImaSection ima;
  IMAB_ASSIGN_OR_RETURN(std::string_view profile, ReadField("kernel-profile"));
  IMAB_ASSIGN_OR_RETURN(ima.profile, ParseKernelProfileToken(profile));
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, ReadTokens());
  while (t.at[0] == "cert") {
    IMAB_RETURN_IF_ERROR(AddCertLine(t, ima));
    IMAB_ASSIGN_OR_RETURN(t, ReadTokens());
  }
  IMAB_RETURN_IF_ERROR(CheckSectionEnd(t, "ima", "'cert' or 'end-section'"));
  if (ima.certificates.empty()) {
    return Bad("section 'ima' declares no cert");
  }
  header_.ima = std::move(ima);
  return OkStatus();
}

// FORMAT.md §3.3.6: bundle, anchor lines strictly increasing by link,
// end-section ca-store.
Status ManifestReader::ParseCaStoreSection() {
  CaStoreSection ca;
  IMAB_ASSIGN_OR_RETURN(std::string_view bundle, ReadField("bundle"));
  IMAB_ASSIGN_OR_RETURN(ca.bundle_sha256, ParseShaToken(bundle, "bundle"));
  IMAB_ASSIGN_OR_RETURN(ManifestTokens t, ReadTokens());
  while (t.at[0] == "anchor") {
    IMAB_RETURN_IF_ERROR(AddAnchorLine(t, ca));
    IMAB_ASSIGN_OR_RETURN(t, ReadTokens());
  }
  IMAB_RETURN_IF_ERROR(
      CheckSectionEnd(t, "ca-store", "'anchor' or 'end-section'"));
  header_.ca_store = std::move(ca);
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
  return ParseRecordFields(t, *type);
}

Status ManifestReader::ParseXattrs(Entry& entry) {
  for (;;) {
    // Look ahead one line: xattr lines belong to the record before them.
    IMAB_ASSIGN_OR_RETURN(std::string_view line, PeekLine());
    if (line.substr(0, line.find(' ')) != "xattr") {
      return OkStatus();
    }
    ConsumeLine();
    if (entry.type == EntryType::kHardlink) {
      return Bad("hardlink has no xattr lines");
    }
    IMAB_ASSIGN_OR_RETURN(ManifestTokens t, SplitManifestLine(line));
    IMAB_RETURN_IF_ERROR(AddXattrLine(t, entry));
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
  IMAB_RETURN_IF_ERROR(ParseXattrs(entry));
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
    return Bad(LinePrefix(line_number_ + 1) +
               std::to_string(size_ - consumed_) + " bytes after 'end'");
  }
  return hash_.Finish();
}

}  // namespace imab
