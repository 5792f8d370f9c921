// Canonical tar headers (FORMAT.md §2.2, §4.2): the exact bytes the builder
// writes and the verifier expects. The verifier never parses a tar header; it
// regenerates the expected one from signed data and compares.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/read/entry.h"

namespace imab {

inline constexpr size_t kTarBlockBytes = 512;
inline constexpr size_t kTarEndBytes = 1024;  // two zero blocks
// Largest value the 11-digit size and mtime fields can hold.
inline constexpr uint64_t kTarMaxOctal11 = 077777777777ull;

using TarBlock = std::array<uint8_t, kTarBlockBytes>;

// Zero bytes needed after `size` data bytes to reach a block boundary.
inline size_t TarPadding(uint64_t size) {
  return static_cast<size_t>((kTarBlockBytes - size % kTarBlockBytes) %
                             kTarBlockBytes);
}

// Header of an outer member (FORMAT.md §2.2): name, mode 0644, owner 0,
// typeflag '0'. Preconditions: name.size() <= 100, size and mtime <=
// kTarMaxOctal11.
TarBlock EncodeOuterMemberHeader(std::string_view name, uint64_t size,
                                 uint64_t mtime);

// Everything that precedes an entry's content in the payload (FORMAT.md
// §4.2): the pax 'x' header block, its records padded to 512, then the ustar
// header. The length is always a multiple of 512.
// For a kHardlink, `entry` must already carry its target's mode, uid and
// gid (the manifest stores none; the caller copies them from the target).
// Preconditions: the entry passed ImageTree::Admit and the manifest limits;
// mtime <= kTarMaxOctal11.
std::string EncodeEntryHeader(const Entry& entry, uint64_t mtime);

// Names the first field where `actual` differs from `expected`, both being
// what EncodeEntryHeader() produces (or bytes read in its place): "path",
// "mode", "uid", "gid", "size", "mtime", "type", "link target",
// "device numbers", "xattr NAME", "header length" or "header". Used only
// to word an error message; the decision is the byte comparison.
std::string DescribeHeaderDifference(std::string_view expected,
                                     std::string_view actual);

}  // namespace imab
