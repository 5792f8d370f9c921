#include "common/read/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/read/input_file.h"

namespace imab {

Status CheckReadRange(uint64_t offset, size_t length, uint64_t size) {
  // Written to avoid overflow in offset + length.
  if (offset > size || length > size - offset) {
    return MakeError(ErrorCode::kMalformed,
                     "truncated: read of " + std::to_string(length) +
                         " bytes at offset " + std::to_string(offset) +
                         " past end " + std::to_string(size));
  }
  return OkStatus();
}

Result<std::unique_ptr<FileByteSource>> FileByteSource::Open(
    const std::string& path) {
  IMAB_ASSIGN_OR_RETURN(InputFile file, OpenInputFile(path));
  return std::unique_ptr<FileByteSource>(
      new FileByteSource(std::move(file.fd), file.size, path));
}

Result<std::unique_ptr<FileByteSource>> FileByteSource::Adopt(
    UniqueFd fd, const std::string& name) {
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kInternal, name + ": not an open file");
  }
  return std::unique_ptr<FileByteSource>(new FileByteSource(
      std::move(fd), static_cast<uint64_t>(st.st_size), name));
}

Status FileByteSource::ReadAt(uint64_t offset, std::span<uint8_t> out) {
  IMAB_RETURN_IF_ERROR(CheckReadRange(offset, out.size(), size_));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return MakeError(ErrorCode::kIo,
                       path_ + ": read failed: " + std::strerror(errno));
    }
    if (n == 0) {
      // The file shrank after it was opened.
      return MakeError(ErrorCode::kMalformed,
                       path_ + ": truncated while reading");
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace imab
