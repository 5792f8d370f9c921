#include "verifier/boot/uboot_env.h"

#include <array>
#include <set>

namespace imab::verifier {

namespace {

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    table[n] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

size_t DataOffset(bool redundant) { return redundant ? 5 : 4; }

}  // namespace

uint32_t UbootEnvCrc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) {
    crc = kCrcTable[(crc ^ static_cast<uint8_t>(c)) & 0xFF] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

UbootEnvHeader ReadUbootEnvHeader(std::string_view copy, bool redundant) {
  uint32_t stored = 0;
  for (int i = 3; i >= 0; --i) {  // little-endian, as the boards store it
    stored = (stored << 8) | static_cast<uint8_t>(copy[static_cast<size_t>(i)]);
  }
  UbootEnvHeader header;
  header.crc_ok = stored == UbootEnvCrc32(copy.substr(DataOffset(redundant)));
  header.flags = redundant ? static_cast<uint8_t>(copy[4]) : 0;
  return header;
}

size_t ChooseUbootEnvCopy(const UbootEnvHeader headers[2],
                          UbootFlagScheme scheme) {
  if (headers[0].crc_ok != headers[1].crc_ok) {
    return headers[0].crc_ok ? 0 : 1;
  }
  const uint8_t f0 = headers[0].flags;
  const uint8_t f1 = headers[1].flags;
  size_t current = f1 > f0 ? 1 : 0;
  switch (scheme) {
    case UbootFlagScheme::kBoolean:
      if (f1 == 0xFF) {
        current = 1;
      } else if (f0 == 0xFF) {
        current = 0;
      }
      break;
    case UbootFlagScheme::kIncremental:
      if (f0 == 0xFF && f1 == 0) {
        current = 1;
      } else if (f1 == 0xFF && f0 == 0) {
        current = 0;
      }
      break;
  }
  return current;
}

Result<UbootVariables> ParseUbootEnvVariables(std::string_view copy,
                                              bool redundant,
                                              const std::string& where) {
  auto damaged = [&](size_t at, const std::string& what) {
    return MakeError(ErrorCode::kMalformed,
                     where + ": byte " + std::to_string(at) + ": " + what);
  };
  UbootVariables variables;
  std::set<std::string, std::less<>> names;
  size_t pos = DataOffset(redundant);
  while (true) {
    size_t end = copy.find('\0', pos);
    // Both tools stop at the NUL; a string running off the copy would be
    // read into whatever follows it.
    if (end == std::string_view::npos) {
      return damaged(pos, "a variable without its NUL");
    }
    if (end == pos) {
      return variables;  // the empty string ending the list
    }
    std::string_view entry = copy.substr(pos, end - pos);
    size_t equals = entry.find('=');
    if (equals == std::string_view::npos) {
      return damaged(pos, "a string without '='");
    }
    if (equals == 0) {
      return damaged(pos, "a variable without a name");
    }
    std::string name(entry.substr(0, equals));
    if (!names.insert(name).second) {
      return damaged(pos, "the variable " + name + " twice");
    }
    variables.emplace_back(std::move(name),
                           std::string(entry.substr(equals + 1)));
    pos = end + 1;
  }
}

Result<UbootVariables> DecodeUbootEnv(const std::vector<std::string>& copies,
                                      UbootFlagScheme scheme,
                                      const std::string& where) {
  const bool redundant = copies.size() == 2;
  if (copies.empty() || copies.size() > 2 || copies[0].size() < 6 ||
      (redundant && copies[1].size() != copies[0].size())) {
    return MakeError(ErrorCode::kInternal,
                     where + ": DecodeUbootEnv needs 1 or 2 copies alike");
  }
  UbootEnvHeader headers[2] = {ReadUbootEnvHeader(copies[0], redundant), {}};
  size_t current = 0;
  if (redundant) {
    headers[1] = ReadUbootEnvHeader(copies[1], redundant);
    current = ChooseUbootEnvCopy(headers, scheme);
  }
  if (!headers[current].crc_ok) {
    return MakeError(ErrorCode::kMalformed,
                     where + (redundant ? ": neither copy has a good CRC"
                                        : ": the CRC does not match"));
  }
  const std::string at =
      redundant ? where + " (copy " + std::to_string(current + 1) + ")" : where;
  return ParseUbootEnvVariables(copies[current], redundant, at);
}

const std::string* FindUbootVariable(const UbootVariables& variables,
                                     std::string_view name) {
  for (const auto& [key, value] : variables) {
    if (key == name) {
      return &value;
    }
  }
  return nullptr;
}

}  // namespace imab::verifier
