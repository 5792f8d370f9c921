// AsBytes: a string's bytes as the span every digest, codec and writer takes;
// AllZero: the test for padding and end-of-archive blocks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>

namespace imab {

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](uint8_t b) { return b == 0; });
}

}  // namespace imab
