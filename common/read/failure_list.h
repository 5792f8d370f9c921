// The one way a message lists many failures: the first few in full, then
// how many more ("a; b; and 3 more"), so a line stays readable however
// many files fail.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace imab {

// How many failures a one-line message names in full.
inline constexpr size_t kListedFailures = 10;

// The descriptions of failures 0 .. min(count, listed) - 1 (`describe(i)`,
// called only for those), joined by "; ", then, when count > listed,
// "; and N more" followed by `more_note` (" (see --json)", say). Empty
// when count is 0.
std::string ListFirstFailures(
    size_t count, const std::function<std::string(size_t)>& describe,
    std::string_view more_note = "", size_t listed = kListedFailures);

}  // namespace imab
