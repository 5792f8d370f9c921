// Streaming zstd for the payload (FORMAT.md §4.1): a multi-threaded writer
// for the builder and a bounded, hashing reader for the verifier.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/byte_source.h"
#include "common/digest.h"
#include "common/handles.h"
#include "common/result.h"

namespace imab {

// Compresses everything written into one zstd frame (checksum flag on) and
// appends it to `fd`, hashing the compressed bytes as they are written.
class ZstdFileWriter {
 public:
  // `fd` is borrowed and must stay open until Finish(). `workers` > 0 runs
  // compression on that many zstd worker threads while the caller keeps
  // feeding input. kInternal if zstd refuses a parameter.
  static Result<std::unique_ptr<ZstdFileWriter>> Create(int fd, int level,
                                                        int workers);

  // Compresses `data`. kIo naming errno if the file write fails.
  Status Write(std::span<const uint8_t> data);
  // Ends the frame and flushes. No Write() after this.
  Status Finish();

  uint64_t compressed_size() const { return compressed_size_; }
  // Valid after Finish().
  const Sha256Digest& compressed_sha256() const { return digest_; }

 private:
  ZstdFileWriter(int fd, Ptr<ZSTD_CCtx> cctx, Sha256 hash);
  Status Drain(std::span<const uint8_t> data, ZSTD_EndDirective mode);
  Status WriteOut(size_t n);

  int fd_;
  Ptr<ZSTD_CCtx> cctx_;
  Sha256 hash_;
  std::vector<uint8_t> out_;
  uint64_t compressed_size_ = 0;
  Sha256Digest digest_{};
};

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
