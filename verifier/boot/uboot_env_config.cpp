#include "verifier/boot/uboot_env_config.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace imab::verifier {

namespace {

// `text` read whole by strtoull in `base` (0: C's prefixes, 16: hex with an
// optional 0x, as scanf's %x).
bool ParseNumber(const std::string& text, int base, uint64_t& out) {
  if (text.empty() || text[0] == '-' || text[0] == '+') {
    return false;
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, base);
  if (errno != 0 || end == text.c_str() || *end != '\0') {
    return false;
  }
  out = value;
  return true;
}

Result<UbootEnvCopy> ParseCopy(const std::vector<std::string>& fields,
                               const std::string& where) {
  auto bad = [&](const std::string& what) {
    return MakeError(ErrorCode::kMalformed, where + ": " + what);
  };
  if (fields.size() < 3 || fields.size() > 5) {
    return bad("expected DEVICE OFFSET SIZE [SECTOR-SIZE [SECTORS]]");
  }
  UbootEnvCopy copy;
  copy.device = fields[0];
  if (copy.device.front() != '/') {
    return bad("device " + copy.device + ": not an absolute path");
  }
  if (copy.device.find(':') != std::string::npos) {
    return bad("device " + copy.device + ": UBI volumes are not supported");
  }
  if (!fields[1].empty() && fields[1][0] == '-') {
    return bad("offset " + fields[1] +
               ": offsets from the device's end are not supported");
  }
  if (!ParseNumber(fields[1], 0, copy.offset)) {
    return bad("offset " + fields[1] + ": not a number");
  }
  if (!ParseNumber(fields[2], 16, copy.size)) {
    return bad("size " + fields[2] + ": not a hex number");
  }
  if (copy.size <= 5 || copy.size > kMaxUbootEnvBytes) {
    return bad("size " + fields[2] + ": not between 6 and " +
               std::to_string(kMaxUbootEnvBytes) + " bytes");
  }
  uint64_t* optional[2] = {&copy.sector_size, &copy.sectors};
  for (size_t i = 3; i < fields.size(); ++i) {
    if (!ParseNumber(fields[i], 16, *optional[i - 3])) {
      return bad(fields[i] + ": not a hex number");
    }
  }
  return copy;
}

}  // namespace

Result<UbootEnvConfig> ParseUbootEnvConfig(std::string_view text,
                                           const std::string& where) {
  UbootEnvConfig config;
  std::istringstream lines{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line[0] == '#') {
      continue;
    }
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string word; words >> word;) {
      fields.push_back(word);
    }
    if (fields.empty()) {
      continue;
    }
    const std::string at = where + ":" + std::to_string(number);
    IMAB_ASSIGN_OR_RETURN(UbootEnvCopy copy, ParseCopy(fields, at));
    if (config.copies.size() == 2) {
      return MakeError(ErrorCode::kMalformed,
                       at + ": a third copy (at most two: redundant)");
    }
    if (!config.copies.empty() && config.copies[0].size != copy.size) {
      return MakeError(ErrorCode::kMalformed,
                       at + ": the two copies differ in size");
    }
    config.copies.push_back(std::move(copy));
  }
  if (config.copies.empty()) {
    return MakeError(ErrorCode::kMalformed, where + ": no environment device");
  }
  return config;
}

}  // namespace imab::verifier
