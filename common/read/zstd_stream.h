// Streaming zstd for the payload (FORMAT.md §4.1): the bounded, hashing
// reader of the verifier (the builder's writer:
// common/write/zstd_file_writer.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab {

// Decompresses one zstd frame from a region of a ByteSource in bounded
// memory. A producer thread reads, hashes and decompresses ahead into a small
// ring of chunks while the caller consumes, so the two halves of
// verification run on two cores. Memory: the zstd window (at most
// 2^kMaxZstdWindowLog) plus kRingChunks * kRingChunkBytes.
class ZstdRegionReader {
 public:
  static constexpr size_t kRingChunks = 4;
  static constexpr size_t kRingChunkBytes = 256u << 10;

  // `source` is borrowed and must outlive the reader.
  static Result<std::unique_ptr<ZstdRegionReader>> Open(ByteSource& source,
                                                        uint64_t offset,
                                                        uint64_t size);
  ~ZstdRegionReader();

  // Up to `max` next decompressed bytes (at least 1), valid until the next
  // call. kMalformed "payload ends early" at the end of the stream; the
  // producer's error (corrupt frame, window too large, read failure) once it
  // is reached.
  Result<std::span<const uint8_t>> ReadSome(size_t max);
  // Exactly out.size() bytes into `out`.
  Status ReadExact(std::span<uint8_t> out);

  // Checks that the decompressed stream ends here, that the frame ended at
  // exactly the region's last byte with no further frame, and returns the
  // SHA-256 of the compressed region. kMalformed otherwise.
  Result<Sha256Digest> Finish();

 private:
  struct Shared;
  explicit ZstdRegionReader(std::unique_ptr<Shared> shared);
  // Waits for the next chunk; false at end of stream.
  Result<bool> NextChunk();

  std::unique_ptr<Shared> shared_;
  std::span<const uint8_t> current_;
};

}  // namespace imab
