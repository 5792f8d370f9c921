// Bytes from strings and back, as tests build parser inputs from literals.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace imab::testing {

// The bytes of `s`, viewed in place (valid as long as `s` is).
inline std::span<const uint8_t> ByteSpan(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A copy of the bytes of `s`.
inline std::vector<uint8_t> ToBytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// The bytes of `b` as a string.
inline std::string ToString(std::span<const uint8_t> b) {
  return std::string(b.begin(), b.end());
}

}  // namespace imab::testing
