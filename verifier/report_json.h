// The `--json` rendering of a verification report.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "verifier/bundle_verifier.h"

namespace imab::verifier {

// One JSON object: {"result": "accepted"|"rejected"|"error", "error": ...,
// "checks": [{"name", "passed", "detail"}...], "manifest": {...}}.
// `extra` (", \"key\": value" members) is added to the top-level object.
std::string RenderReportJson(const VerifyReport& report,
                             const std::optional<Error>& failure,
                             std::string_view extra = "");

// A JSON string literal with quotes, escaping control and non-ASCII bytes
// as \u00XX so arbitrary path bytes stay valid JSON.
std::string JsonString(std::string_view text);

}  // namespace imab::verifier
