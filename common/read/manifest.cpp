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
constexpr std::string_view kDigits = "0123456789";

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
  for (; *pos < v.size() && v[*pos] != '.'; ++*pos) {
    if (kDigits.find(v[*pos]) != std::string_view::npos &&
        value < (uint64_t{1} << 40)) {
      value = value * 10 + static_cast<uint64_t>(v[*pos] - '0');
    }
  }
  if (*pos < v.size()) {
    ++*pos;  // the '.'
  }
  return value;
}

// Lower-case hex of exactly `digits` digits, for the field `name`.
Result<std::string> ParseFixedHex(std::string_view token, size_t digits,
                                  std::string_view name) {
  if (token.size() != digits) {
    return Bad(std::string(name) + " must be " + std::to_string(digits) +
               " hex digits");
  }
  Result<std::string> bytes = HexDecode(token);
  if (!bytes.has_value()) {
    return Bad(std::string(name) + " must be lower-case hex");
  }
  return bytes;
}

}  // namespace

bool IsLiteralStrByte(uint8_t b) { return b >= 0x21 && b <= 0x7e && b != '%'; }

Result<std::string> DecodeStrToken(std::string_view token) {
  // A token is never empty (FORMAT.md §3.1), so neither is a STR.
  if (token.empty()) {
    return Bad("empty STR token");
  }
  constexpr std::string_view kUpperHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size(); ++i) {
    const auto b = static_cast<uint8_t>(token[i]);
    if (b != '%') {
      if (!IsLiteralStrByte(b)) {
        return Bad("STR byte " + std::to_string(i) +
                   " must be percent-encoded");
      }
      out.push_back(token[i]);
      continue;
    }
    auto bad_escape = [i](std::string_view why) {
      return Bad("STR escape at byte " + std::to_string(i) + std::string(why));
    };
    if (token.size() - i < 3) {
      return bad_escape(" is truncated");
    }
    const size_t hi = kUpperHex.find(token[i + 1]);
    const size_t lo = kUpperHex.find(token[i + 2]);
    if (hi == std::string_view::npos || lo == std::string_view::npos) {
      return bad_escape(" is not two upper-case hex digits");
    }
    const auto decoded = static_cast<uint8_t>((hi << 4) | lo);
    // One spelling per byte string: an escape of a literal byte is refused,
    // so two different manifests never describe the same tree.
    if (IsLiteralStrByte(decoded)) {
      return bad_escape(" encodes a byte that must be literal");
    }
    out.push_back(static_cast<char>(decoded));
    i += 2;
  }
  return out;
}

Status CheckCompatibleName(std::string_view name) {
  constexpr std::string_view kNameChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-";
  if (name.empty() || name.size() > kMaxStringFieldBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "compatible name must be 1.." +
                         std::to_string(kMaxStringFieldBytes) + " bytes");
  }
  if (name.find_first_not_of(kNameChars) != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "compatible name may only contain [A-Za-z0-9._+-]");
  }
  return OkStatus();
}

Status CheckImageVersion(std::string_view version) {
  if (version.empty()) {
    return BadVersion("empty");
  }
  size_t components = 0;
  for (size_t start = 0; start <= version.size();) {
    const size_t end = std::min(version.find('.', start), version.size());
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
    if (part.find_first_not_of(kDigits) != std::string_view::npos) {
      return BadVersion("component is not a decimal number");
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
    const auto b = static_cast<uint8_t>(c);
    if (b < 0x20 || b > 0x7e) {
      return Bad("byte " + std::to_string(b) + " outside printable ASCII");
    }
  }
  if (line.empty()) {
    return Bad("empty line");
  }
  if (line.front() == ' ' || line.back() == ' ') {
    return Bad(line.front() == ' ' ? "leading space" : "trailing space");
  }
  ManifestTokens t;
  for (size_t start = 0; start <= line.size();) {
    const size_t end = std::min(line.find(' ', start), line.size());
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
  const std::string field(name);
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
    const auto digit = static_cast<uint64_t>(c - '0');
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
  if (token.size() != 4 ||
      token.find_first_not_of("01234567") != std::string_view::npos) {
    return Bad("mode must be exactly 4 octal digits");
  }
  uint32_t mode = 0;
  for (char c : token) {
    mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  return mode;
}

Result<Sha256Digest> ParseShaToken(std::string_view token,
                                   std::string_view name) {
  IMAB_ASSIGN_OR_RETURN(std::string bytes, ParseFixedHex(token, 64, name));
  Sha256Digest digest{};
  std::ranges::copy(bytes, digest.begin());
  return digest;
}

Result<uint32_t> ParseKeyIdToken(std::string_view token) {
  // Fixed width, lower case: one spelling per keyid, like the kernel's
  // "id:%08x" lookup string.
  IMAB_ASSIGN_OR_RETURN(std::string bytes, ParseFixedHex(token, 8, "keyid"));
  uint32_t keyid = 0;
  for (char c : bytes) {
    keyid = (keyid << 8) | uint32_t{static_cast<uint8_t>(c)};
  }
  return keyid;
}

Result<std::string> ParseBoundedHexToken(std::string_view token,
                                         size_t max_bytes,
                                         std::string_view what) {
  // Bound before decoding so an oversized token costs no allocation.
  if (token.size() > 2 * max_bytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     std::string(what) + " longer than " +
                         std::to_string(max_bytes) + " bytes");
  }
  Result<std::string> bytes = HexDecode(token);
  if (!bytes.has_value()) {
    return WithContext(std::move(bytes).error(), std::string(what));
  }
  return bytes;
}

Result<std::string> ParseCertificateToken(std::string_view token) {
  if (token == "-") {
    return Bad("certificate is empty");
  }
  return ParseBoundedHexToken(token, kMaxCertificateBytes, "certificate");
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
