// Lower-case hexadecimal, as used for digests and xattr values in manifests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/result.h"

namespace imab {

std::string HexEncode(std::span<const uint8_t> data);
std::string HexEncode(std::string_view data);

// Accepts only lower-case digits and an even length (the canonical form);
// anything else is kMalformed.
Result<std::string> HexDecode(std::string_view hex);

}  // namespace imab
