// Splitting and joining '/'-separated image paths (and other lists with
// one separator character), the one way every path walker here does it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace imab {

// Every part of `text` between `separator`s, empty ones included, so that
// "a//b/" gives {"a", "", "b", ""} and "" gives {""}. Callers that walk a
// path decide themselves what an empty part, "." or ".." means.
std::vector<std::string> SplitOn(std::string_view text, char separator);

// The parts joined with '/', without a leading or trailing one:
// {"usr", "lib"} gives "usr/lib", {} gives "".
std::string JoinPath(const std::vector<std::string>& parts);

}  // namespace imab
