// Manifest token helpers (FORMAT.md §3.1, §3.2, §3.4); the writer is
// common/write/manifest_writer.cpp.
#include "common/read/manifest.h"

#include <algorithm>
#include <array>
#include <cstddef>

#include "common/read/hex.h"
#include "common/read/limits.h"

namespace imab {
namespace {

constexpr size_t kMaxVersionComponents = 16;
constexpr size_t kMaxVersionComponentDigits = 9;

int UpperNibble(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) ||
         c == '.' || c == '_' || c == '+' || c == '-';
}

Error Bad(const std::string& why) {
  return MakeError(ErrorCode::kMalformed, why);
}

Error BadVersion(std::string_view why) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "image version: " + std::string(why));
}

// Value of the component starting at `*pos` (digits up to '.' or the end);
// advances past the '.'. Saturates instead of overflowing on invalid input.
uint64_t NextComponent(std::string_view v, size_t* pos) {
  uint64_t value = 0;
  while (*pos < v.size() && v[*pos] != '.') {
    if (IsDigit(v[*pos]) && value < (uint64_t{1} << 40)) {
      value = value * 10 + static_cast<uint64_t>(v[*pos] - '0');
    }
    ++*pos;
  }
  if (*pos < v.size()) {
    ++*pos;  // the '.'
  }
  return value;
}

}  // namespace

bool IsLiteralStrByte(uint8_t b) { return b >= 0x21 && b <= 0x7e && b != '%'; }

Result<std::string> DecodeStrToken(std::string_view token) {
  // A token is never empty (FORMAT.md §3.1), so neither is a STR.
  if (token.empty()) {
    return MakeError(ErrorCode::kMalformed, "empty STR token");
  }
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size(); ++i) {
    uint8_t b = static_cast<uint8_t>(token[i]);
    if (b != '%') {
      if (!IsLiteralStrByte(b)) {
        return MakeError(
            ErrorCode::kMalformed,
            "STR byte " + std::to_string(i) + " must be percent-encoded");
      }
      out.push_back(token[i]);
      continue;
    }
    if (token.size() - i < 3) {
      return MakeError(
          ErrorCode::kMalformed,
          "STR escape at byte " + std::to_string(i) + " is truncated");
    }
    int hi = UpperNibble(token[i + 1]);
    int lo = UpperNibble(token[i + 2]);
    if (hi < 0 || lo < 0) {
      return MakeError(ErrorCode::kMalformed,
                       "STR escape at byte " + std::to_string(i) +
                           " is not two upper-case hex digits");
    }
    uint8_t decoded = static_cast<uint8_t>((hi << 4) | lo);
    // One spelling per byte string: an escape of a literal byte is refused,
    // so two different manifests never describe the same tree.
    if (IsLiteralStrByte(decoded)) {
      return MakeError(ErrorCode::kMalformed,
                       "STR escape at byte " + std::to_string(i) +
                           " encodes a byte that must be literal");
    }
    out.push_back(static_cast<char>(decoded));
    i += 2;
  }
  return out;
}

Status CheckCompatibleName(std::string_view name) {
  if (name.empty() || name.size() > kMaxStringFieldBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "compatible name must be 1.." +
                         std::to_string(kMaxStringFieldBytes) + " bytes");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "compatible name may only contain [A-Za-z0-9._+-]");
    }
  }
  return OkStatus();
}

Status CheckImageVersion(std::string_view version) {
  if (version.empty()) {
    return BadVersion("empty");
  }
  size_t components = 0;
  size_t start = 0;
  while (start <= version.size()) {
    size_t end = version.find('.', start);
    if (end == std::string_view::npos) {
      end = version.size();
    }
    std::string_view part = version.substr(start, end - start);
    if (++components > kMaxVersionComponents) {
      return BadVersion("more than 16 components");
    }
    if (part.empty()) {
      return BadVersion("empty component");
    }
    if (part.size() > kMaxVersionComponentDigits) {
      return BadVersion("component longer than 9 digits");
    }
    for (char c : part) {
      if (!IsDigit(c)) {
        return BadVersion("component is not a decimal number");
      }
    }
    if (part.size() > 1 && part[0] == '0') {
      return BadVersion("component has a leading zero");
    }
    start = end + 1;
  }
  return OkStatus();
}

int CompareImageVersions(std::string_view a, std::string_view b) {
  size_t pa = 0;
  size_t pb = 0;
  while (pa < a.size() || pb < b.size()) {
    // An exhausted side reads as 0, so "1.2" equals "1.2.0".
    uint64_t ca = NextComponent(a, &pa);
    uint64_t cb = NextComponent(b, &pb);
    if (ca != cb) {
      return ca < cb ? -1 : 1;
    }
  }
  return 0;
}

Result<ManifestTokens> SplitManifestLine(std::string_view line) {
  for (char c : line) {
    // Every token kind is printable ASCII; CR and tab would make two
    // spellings of the same line.
    if (c == '\r') {
      return Bad("carriage return");
    }
    if (c == '\t') {
      return Bad("tab character");
    }
    uint8_t b = static_cast<uint8_t>(c);
    if (b < 0x20 || b > 0x7e) {
      return Bad("byte " + std::to_string(b) + " outside printable ASCII");
    }
  }
  if (line.empty()) {
    return Bad("empty line");
  }
  if (line.front() == ' ') {
    return Bad("leading space");
  }
  if (line.back() == ' ') {
    return Bad("trailing space");
  }
  ManifestTokens t;
  size_t start = 0;
  while (start <= line.size()) {
    size_t end = std::min(line.find(' ', start), line.size());
    if (end == start) {
      return Bad("double space");
    }
    if (t.count == kMaxManifestTokens) {
      return Bad("too many fields");
    }
    t.at[t.count++] = line.substr(start, end - start);
    start = end + 1;
  }
  return t;
}

Result<uint64_t> ParseNumToken(std::string_view token, std::string_view name,
                               uint64_t max, ErrorCode over_max) {
  std::string field(name);
  if (token.empty()) {
    return Bad(field + " is empty");
  }
  if (token.size() > 1 && token[0] == '0') {
    return Bad(field + " has a leading zero");
  }
  uint64_t value = 0;
  for (char c : token) {
    if (c < '0' || c > '9') {
      return Bad(field + " is not a decimal number");
    }
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return Bad(field + " overflows 64 bits");
    }
    value = value * 10 + digit;
  }
  if (value > max) {
    return MakeError(over_max, field + " " + std::to_string(value) +
                                   " exceeds " + std::to_string(max));
  }
  return value;
}

Result<uint32_t> ParseModeToken(std::string_view token) {
  if (token.size() != 4) {
    return Bad("mode must be exactly 4 octal digits");
  }
  uint32_t mode = 0;
  for (char c : token) {
    if (c < '0' || c > '7') {
      return Bad("mode must be exactly 4 octal digits");
    }
    mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  return mode;
}

Result<Sha256Digest> ParseShaToken(std::string_view token,
                                   std::string_view name) {
  if (token.size() != 64) {
    return Bad(std::string(name) + " must be 64 hex digits");
  }
  Result<std::string> bytes = HexDecode(token);
  if (!bytes.has_value()) {
    return Bad(std::string(name) + " must be lower-case hex");
  }
  Sha256Digest digest{};
  std::ranges::copy(*bytes, digest.begin());
  return digest;
}

Result<uint32_t> ParseKeyIdToken(std::string_view token) {
  // Fixed width, lower case: one spelling per keyid, like the kernel's
  // "id:%08x" lookup string.
  if (token.size() != 8) {
    return Bad("keyid must be 8 hex digits");
  }
  Result<std::string> bytes = HexDecode(token);
  if (!bytes.has_value()) {
    return Bad("keyid must be lower-case hex");
  }
  uint32_t keyid = 0;
  for (char c : *bytes) {
    keyid = (keyid << 8) | uint32_t{static_cast<uint8_t>(c)};
  }
  return keyid;
}

Result<std::string> ParseCertificateToken(std::string_view token) {
  if (token == "-") {
    return Bad("certificate is empty");
  }
  // Bound before decoding so an oversized token costs no allocation.
  if (token.size() > 2 * kMaxCertificateBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "certificate longer than " +
                         std::to_string(kMaxCertificateBytes) + " bytes");
  }
  Result<std::string> der = HexDecode(token);
  if (!der.has_value()) {
    return WithContext(std::move(der).error(), "certificate");
  }
  return der;
}

Result<KernelProfile> ParseKernelProfileToken(std::string_view token) {
  Result<std::string> text = DecodeStrToken(token);
  if (!text.has_value()) {
    return WithContext(std::move(text).error(), "kernel-profile");
  }
  Result<KernelProfile> profile = ParseKernelProfile(*text);
  if (!profile.has_value()) {
    return Bad("kernel-profile: " + profile.error().message);
  }
  // "le64:<the full list>" means "le64"; only the short form is accepted.
  if (KernelProfileName(*profile) != *text) {
    return Bad("kernel-profile is not in canonical form");
  }
  return profile;
}

}  // namespace imab
