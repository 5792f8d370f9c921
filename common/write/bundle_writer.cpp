// Writes the outer bundle container, FORMAT.md §2.1.
#include "common/write/bundle_writer.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/read/limits.h"
#include "common/read/tar_header.h"

namespace imab {
namespace {

// ---- Writing.

Status WriteAll(int fd, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return MakeError(ErrorCode::kIo,
                       std::string("write failed: ") + std::strerror(errno));
    }
    if (n == 0) {
      return MakeError(ErrorCode::kIo, "write made no progress");
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status WriteZeros(int fd, size_t count) {
  static constexpr std::array<uint8_t, kTarEndBytes> kZeros{};
  while (count > 0) {
    const size_t n = std::min(count, kZeros.size());
    IMAB_RETURN_IF_ERROR(WriteAll(fd, std::span(kZeros.data(), n)));
    count -= n;
  }
  return OkStatus();
}

Status WriteMember(int fd, std::string_view name, std::span<const uint8_t> data,
                   uint64_t mtime) {
  IMAB_RETURN_IF_ERROR(
      WriteAll(fd, EncodeOuterMemberHeader(name, data.size(), mtime)));
  IMAB_RETURN_IF_ERROR(WriteAll(fd, data));
  return WriteZeros(fd, TarPadding(data.size()));
}

Error ShortPayload(uint64_t copied, uint64_t size) {
  return MakeError(ErrorCode::kIo, "payload ended after " +
                                       std::to_string(copied) + " of " +
                                       std::to_string(size) + " bytes");
}

// pread/write copy of [offset, size) in bounded chunks.
Status CopyByReading(int in_fd, int out_fd, uint64_t offset, uint64_t size) {
  std::vector<uint8_t> buf(kStreamChunkBytes);
  while (offset < size) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(size - offset, buf.size()));
    const ssize_t n =
        ::pread(in_fd, buf.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return MakeError(ErrorCode::kIo, std::string("payload read failed: ") +
                                           std::strerror(errno));
    }
    if (n == 0) {
      return ShortPayload(offset, size);
    }
    IMAB_RETURN_IF_ERROR(
        WriteAll(out_fd, std::span(buf.data(), static_cast<size_t>(n))));
    offset += static_cast<uint64_t>(n);
  }
  return OkStatus();
}

// Copies bytes [0, size) of `in_fd` to the current offset of `out_fd`,
// in-kernel where possible.
Status CopyPayload(int in_fd, int out_fd, uint64_t size) {
  constexpr uint64_t kMaxCopyChunk = 1ull << 30;
  loff_t in_offset = 0;
  while (static_cast<uint64_t>(in_offset) < size) {
    const uint64_t left = size - static_cast<uint64_t>(in_offset);
    const ssize_t n = ::copy_file_range(
        in_fd, &in_offset, out_fd, nullptr,
        static_cast<size_t>(std::min(left, kMaxCopyChunk)), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
                  errno == EOPNOTSUPP)) {
      // Not supported for this pair of files: continue where it stopped.
      return CopyByReading(in_fd, out_fd, static_cast<uint64_t>(in_offset),
                           size);
    }
    if (n < 0) {
      return MakeError(ErrorCode::kIo, std::string("payload copy failed: ") +
                                           std::strerror(errno));
    }
    if (n == 0) {
      return ShortPayload(static_cast<uint64_t>(in_offset), size);
    }
  }
  return OkStatus();
}

Status CheckWriteLimits(std::string_view manifest,
                        std::span<const uint8_t> signature,
                        uint64_t payload_size, uint64_t mtime) {
  if (manifest.size() > kMaxManifestBytes) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "manifest exceeds " + std::to_string(kMaxManifestBytes) + " bytes");
  }
  if (signature.size() > kMaxSignatureBytes) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "signature exceeds " + std::to_string(kMaxSignatureBytes) + " bytes");
  }
  // The 11-digit size field caps the payload below kMaxPayloadBytes.
  const uint64_t max_payload = std::min(kMaxPayloadBytes, kTarMaxOctal11);
  if (payload_size > max_payload) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "payload exceeds " + std::to_string(max_payload) + " bytes");
  }
  if (mtime > kTarMaxOctal11) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "mtime " + std::to_string(mtime) + " out of range");
  }
  return OkStatus();
}

}  // namespace

Status WriteBundle(int out_fd, std::string_view manifest,
                   std::span<const uint8_t> signature, int payload_fd,
                   uint64_t payload_size, uint64_t mtime) {
  IMAB_RETURN_IF_ERROR(
      CheckWriteLimits(manifest, signature, payload_size, mtime));
  const std::span<const uint8_t> manifest_bytes(
      reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size());
  IMAB_RETURN_IF_ERROR(WriteMember(out_fd, "manifest", manifest_bytes, mtime));
  IMAB_RETURN_IF_ERROR(WriteMember(out_fd, "manifest.sig", signature, mtime));
  IMAB_RETURN_IF_ERROR(WriteAll(
      out_fd, EncodeOuterMemberHeader("payload.tar.zst", payload_size, mtime)));
  IMAB_RETURN_IF_ERROR(CopyPayload(payload_fd, out_fd, payload_size));
  IMAB_RETURN_IF_ERROR(WriteZeros(out_fd, TarPadding(payload_size)));
  return WriteZeros(out_fd, kTarEndBytes);
}

}  // namespace imab
