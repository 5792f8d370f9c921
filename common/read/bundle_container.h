// The outer container of a bundle (FORMAT.md §2): three ustar members,
// manifest, manifest.sig, payload.tar.zst, and nothing else.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/read/byte_source.h"
#include "common/read/result.h"

namespace imab {

// Where each member's data lies in the file.
struct BundleLayout {
  uint64_t manifest_offset = 0;
  uint64_t manifest_size = 0;
  uint64_t signature_offset = 0;
  uint64_t signature_size = 0;
  uint64_t payload_offset = 0;
  uint64_t payload_size = 0;
  uint64_t mtime = 0;  // the members' common mtime (the manifest's created)
};

// Reads and checks the container shape (FORMAT.md §2.3): canonical headers in
// the fixed order, sizes within limits.h, zero padding, the two zero end
// blocks and the exact file size. Reads only headers, padding and the end
// (O(1) memory). On failure: kMalformed or kLimitExceeded with a one-line
// message naming the member ("bundle member 2: expected 'manifest.sig', found
// 'payload.tar.zst'"); kIo when the source fails.
Result<BundleLayout> ReadBundleLayout(ByteSource& source);

}  // namespace imab
