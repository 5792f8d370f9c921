// Writes the outer container of a bundle (FORMAT.md §2): the release
// pipeline's side of common/read/bundle_container.h.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/read/result.h"

namespace imab {

// Writes a complete bundle to `out_fd` (positioned at offset 0 of an empty
// file): headers, the manifest and signature bytes, then `payload_size`
// bytes copied from `payload_fd` starting at its offset 0 (copy_file_range
// where the kernel supports it, else read/write), padding and the end
// blocks. Does not fsync or close either descriptor. On failure: kIo or
// kInvalidArgument (a size over a limit), and the file content is
// unspecified (the caller writes to a temporary file and removes it).
Status WriteBundle(int out_fd, std::string_view manifest,
                   std::span<const uint8_t> signature, int payload_fd,
                   uint64_t payload_size, uint64_t mtime);

}  // namespace imab
