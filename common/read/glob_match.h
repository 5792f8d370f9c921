// Shell-style patterns over image paths, for --ima-exclude.
#pragma once

#include <string_view>

namespace imab {

// Matches `path` (relative, no leading '/') against `pattern`: `*` matches
// any run of characters within one path component, `**` any run including
// '/', `?` one character other than '/'; everything else matches itself.
// A leading '/' in the pattern is ignored, so "/usr/**" means "usr/**".
bool GlobMatch(std::string_view pattern, std::string_view path);

}  // namespace imab
