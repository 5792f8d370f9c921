#include "common/read/printable.h"

namespace imab {

std::string Printable(std::string_view bytes) {
  constexpr char kHex[] = "0123456789abcdef";
  const bool cut = bytes.size() > kMaxPrintableBytes;
  std::string out;
  for (char c : bytes.substr(0, kMaxPrintableBytes)) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      default:
        break;
    }
    if (byte >= 0x20 && byte <= 0x7e) {
      out += c;
      continue;
    }
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  if (cut) {
    out += "...";
  }
  return out;
}

}  // namespace imab
