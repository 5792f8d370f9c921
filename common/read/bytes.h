// AsBytes: a string's bytes as the span every digest, codec and writer takes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace imab {

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace imab
