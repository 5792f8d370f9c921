// The `--json` rendering of a verification report.
#pragma once

#include <optional>
#include <string>

#include "common/read/json_text.h"
#include "common/read/result.h"
#include "verifier/bundle/bundle_verifier.h"

namespace imab::verifier {

// One JSON object: {"result": "accepted"|"rejected"|"error", "error": ...,
// "checks": [{"name", "passed", "detail"}...], "manifest": {...}}.
// `extra` (", \"key\": value" members) is added to the top-level object.
std::string RenderReportJson(const VerifyReport& report,
                             const std::optional<Error>& failure,
                             std::string_view extra = "");

}  // namespace imab::verifier
