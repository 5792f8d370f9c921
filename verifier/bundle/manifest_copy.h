// ManifestCopy: the one private copy of a bundle's manifest (FORMAT.md §6).
// The bundle's manifest bytes are read exactly once, into an unlinked
// temporary file; every later check reads that copy, so a bundle file
// changed in place during a run cannot show two checks two manifests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/read/byte_source.h"
#include "common/read/digest.h"
#include "common/read/result.h"

namespace imab::verifier {

struct ManifestCopy {
  // The copy as a source of exactly the manifest's bytes (offset 0).
  std::unique_ptr<FileByteSource> source;
  Sha256Digest sha256{};  // of the bytes written to the copy
};

// Copies [offset, offset+size) of `source` in kStreamChunkBytes chunks into
// a private temporary file in the folder `temp_dir`, hashing each chunk as
// it is written. The file has no name from the start (O_TMPFILE with
// O_EXCL: it can never be linked into the file system) where the file
// system supports it; elsewhere it is made in a fresh 0700 folder with
// mkstemp and unlinked, and the folder removed, before any byte is written.
// Memory stays at one chunk. On failure: kLimitExceeded above
// kMaxManifestBytes, kMalformed for a region outside `source`, the
// source's read error, kIo naming `temp_dir` when no temporary can be made
// or written.
Result<ManifestCopy> CopyManifest(ByteSource& source, uint64_t offset,
                                  uint64_t size, const std::string& temp_dir);

}  // namespace imab::verifier
