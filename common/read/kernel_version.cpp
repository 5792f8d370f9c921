#include "common/read/kernel_version.h"

#include <charconv>

#include "common/read/printable.h"

namespace imab {
namespace {

// Reads a decimal number of at most 3 digits at `text`'s start.
bool ReadNumber(std::string_view& text, uint32_t& out) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0 || digits > 3) {
    return false;
  }
  std::from_chars(text.data(), text.data() + digits, out);
  text.remove_prefix(digits);
  return true;
}

}  // namespace

Result<KernelVersion> ParseKernelVersion(std::string_view text) {
  KernelVersion version;
  std::string_view rest = text;
  const bool ok = ReadNumber(rest, version.major) && !rest.empty() &&
                  rest.front() == '.' &&
                  (rest.remove_prefix(1), ReadNumber(rest, version.minor)) &&
                  (rest.empty() || rest.front() == '.' || rest.front() == '-' ||
                   rest.front() == '+' || rest.front() == '~') &&
                  version.major >= 2;
  if (!ok) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kernel version \"" + Printable(text) +
                         "\": expected MAJOR.MINOR, e.g. 6.1");
  }
  return version;
}

std::string KernelVersionName(KernelVersion version) {
  return std::to_string(version.major) + "." + std::to_string(version.minor);
}

}  // namespace imab
