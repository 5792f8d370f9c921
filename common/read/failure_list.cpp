#include "common/read/failure_list.h"

namespace imab {

std::string ListFirstFailures(
    size_t count, const std::function<std::string(size_t)>& describe,
    std::string_view more_note, size_t listed) {
  std::string out;
  for (size_t i = 0; i < count && i < listed; ++i) {
    out += (i == 0 ? "" : "; ") + describe(i);
  }
  if (count > listed) {
    out += "; and " + std::to_string(count - listed) + " more";
    out += more_note;
  }
  return out;
}

}  // namespace imab
