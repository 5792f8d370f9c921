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

// The last part of a '/'-separated path ("lib/libc.so.6" gives
// "libc.so.6"; a name without '/' is itself).
std::string BaseName(std::string_view path);

// `path` without its leading '/'s: "/lib/x" and "lib/x" name the same
// image file.
std::string WithoutLeadingSlashes(std::string_view path);

// As many symlinks as the kernel follows in one lookup (MAXSYMLINKS).
inline constexpr int kMaxSymlinks = 40;

}  // namespace imab
