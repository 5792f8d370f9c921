// Writes a zstd frame to a file while hashing what it wrote (the payload).
#include "common/write/zstd_file_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace imab {
namespace {

Error ZstdError(ErrorCode code, const char* what, size_t rc) {
  return MakeError(code, std::string(what) + ": " + ZSTD_getErrorName(rc));
}

}  // namespace

ZstdFileWriter::ZstdFileWriter(int fd, Ptr<ZSTD_CCtx> cctx, Sha256 hash)
    : fd_(fd),
      cctx_(std::move(cctx)),
      hash_(std::move(hash)),
      out_(ZSTD_CStreamOutSize()) {}

Result<std::unique_ptr<ZstdFileWriter>> ZstdFileWriter::Create(int fd,
                                                               int level,
                                                               int workers) {
  // Levels 20+ ("ultra") use windows larger than a verifier may allocate.
  if (level < 1 || level > 19) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "zstd level must be between 1 and 19");
  }
  Ptr<ZSTD_CCtx> cctx(ZSTD_createCCtx());
  if (cctx == nullptr) {
    return MakeError(ErrorCode::kInternal, "zstd: cannot create context");
  }
  size_t rc =
      ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(rc)) {
    rc = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  }
  if (!ZSTD_isError(rc) && workers > 0) {
    // Fails only on a libzstd built without threads; then compress inline.
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_nbWorkers, workers);
  }
  if (ZSTD_isError(rc)) {
    return ZstdError(ErrorCode::kInternal, "zstd parameter", rc);
  }
  IMAB_ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
  return std::unique_ptr<ZstdFileWriter>(
      new ZstdFileWriter(fd, std::move(cctx), std::move(hash)));
}

Status ZstdFileWriter::WriteOut(size_t n) {
  hash_.Update(std::span<const uint8_t>(out_.data(), n));
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(fd_, out_.data() + done, n - done);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w < 0) {
      return MakeError(ErrorCode::kIo,
                       std::string("writing payload: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(w);
  }
  compressed_size_ += n;
  return OkStatus();
}

Status ZstdFileWriter::Drain(std::span<const uint8_t> data,
                             ZSTD_EndDirective mode) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (true) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t remaining = ZSTD_compressStream2(cctx_.get(), &out, &in, mode);
    if (ZSTD_isError(remaining)) {
      return ZstdError(ErrorCode::kInternal, "zstd compression", remaining);
    }
    if (out.pos > 0) {
      IMAB_RETURN_IF_ERROR(WriteOut(out.pos));
    }
    bool input_done = in.pos == in.size;
    if (mode == ZSTD_e_continue ? input_done : remaining == 0) {
      return OkStatus();
    }
  }
}

Status ZstdFileWriter::Write(std::span<const uint8_t> data) {
  return Drain(data, ZSTD_e_continue);
}

Status ZstdFileWriter::Finish() {
  IMAB_RETURN_IF_ERROR(Drain({}, ZSTD_e_end));
  digest_ = hash_.Finish();
  return OkStatus();
}

}  // namespace imab
