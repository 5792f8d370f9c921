// JSON text for reports: one place that turns arbitrary bytes into a valid
// JSON string literal, shared by the builder's and the verifier's --json.
#pragma once

#include <string>
#include <string_view>

namespace imab {

// A JSON string literal with quotes, escaping '"', '\\', control bytes and
// every byte >= 0x7f as \u00XX, so arbitrary bytes (paths, subjects) stay
// valid JSON whatever their encoding.
std::string JsonString(std::string_view text);

}  // namespace imab
