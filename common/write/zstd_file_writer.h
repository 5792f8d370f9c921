// ZstdFileWriter: the payload compressor of the release pipeline (the
// device side only decompresses: common/read/zstd_stream.h).
#pragma once

#include <zstd.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/result.h"

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

}  // namespace imab
