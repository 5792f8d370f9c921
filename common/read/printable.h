// Printable: untrusted names (image paths, link targets, xattr names) as
// they may appear in a human message: one line, no raw control bytes, so a
// bundle cannot forge log lines or drive the terminal.
#pragma once

#include <string>
#include <string_view>

namespace imab {

// `bytes` with C-style escapes: \n \r \t \\ for those bytes, \xNN (two
// lower-case hex digits) for every other byte outside 0x20..0x7E. The
// result is printable ASCII and distinct inputs give distinct outputs. More
// than kMaxPrintableBytes of input are cut, marked with "...".
inline constexpr size_t kMaxPrintableBytes = 512;
std::string Printable(std::string_view bytes);

}  // namespace imab
