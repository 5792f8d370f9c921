#include "common/read/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace imab {
namespace {

// How much a file that grows past its st_size gets at a time.
constexpr size_t kGrowBytes = 16384;

const char* KindOf(mode_t mode) {
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISCHR(mode)) {
    return "a character device";
  }
  if (S_ISBLK(mode)) {
    return "a block device";
  }
  if (S_ISDIR(mode)) {
    return "a directory";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  return "not a plain file";
}

Error TooLarge(const std::string& path, size_t max_bytes) {
  return MakeError(
      ErrorCode::kLimitExceeded,
      path + ": larger than " + std::to_string(max_bytes) + " bytes");
}

}  // namespace

Result<InputFile> OpenInputFile(const std::string& path, Symlinks symlinks) {
  int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC |
              (symlinks == Symlinks::kRefuse ? O_NOFOLLOW : 0);
  UniqueFd fd(::open(path.c_str(), flags));
  if (!fd.valid()) {
    int saved = errno;
    Error error = MakeError(ErrorCode::kIo,
                            path + ": cannot open: " + std::strerror(saved));
    errno = saved;
    return error;
  }
  return AdoptInputFile(std::move(fd), path);
}

Result<InputFile> AdoptInputFile(UniqueFd fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return MakeError(ErrorCode::kIo, path + ": " + std::strerror(errno));
  }
  // A FIFO, socket or device has no fixed content: reading it could block
  // forever or never end.
  if (!S_ISREG(st.st_mode)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        path + ": not a regular file (" + KindOf(st.st_mode) + ")");
  }
  return InputFile{std::move(fd), static_cast<uint64_t>(st.st_size)};
}

Status ReadOpenInputFile(const InputFile& file, const std::string& path,
                         size_t max_bytes, std::string& out) {
  out.clear();
  if (file.size > max_bytes) {
    return TooLarge(path, max_bytes);
  }
  // One byte beyond st_size, so that the end of file is seen without
  // growing (and copying) the buffer.
  out.reserve(static_cast<size_t>(file.size) + 1);
  for (;;) {
    if (out.size() == out.capacity()) {
      out.reserve(
          std::min(std::max(2 * out.capacity(), kGrowBytes), max_bytes + 1));
    }
    const size_t done = out.size();
    const size_t room = std::min(out.capacity(), max_bytes + 1) - done;
    out.resize(done + room);
    ssize_t n = ::read(file.fd.get(), out.data() + done, room);
    const int error = errno;
    out.resize(done + (n > 0 ? static_cast<size_t>(n) : 0));
    if (n < 0 && error == EINTR) {
      continue;
    }
    if (n < 0) {
      return MakeError(ErrorCode::kIo,
                       path + ": read failed: " + std::strerror(error));
    }
    if (n == 0) {
      return OkStatus();
    }
    // A file that grows while read (or lies in st_size) stays capped.
    if (out.size() > max_bytes) {
      return TooLarge(path, max_bytes);
    }
  }
}

Result<std::string> ReadInputFile(const std::string& path, size_t max_bytes,
                                  Symlinks symlinks) {
  IMAB_ASSIGN_OR_RETURN(InputFile file, OpenInputFile(path, symlinks));
  std::string bytes;
  IMAB_RETURN_IF_ERROR(ReadOpenInputFile(file, path, max_bytes, bytes));
  return bytes;
}

Result<std::optional<std::string>> ReadInputFileIfExists(
    const std::string& path, size_t max_bytes, Symlinks symlinks) {
  Result<InputFile> file = OpenInputFile(path, symlinks);
  if (!file.has_value() && errno == ENOENT &&
      file.error().code == ErrorCode::kIo) {
    return std::optional<std::string>();
  }
  if (!file.has_value()) {
    return file.error();
  }
  std::string bytes;
  IMAB_RETURN_IF_ERROR(ReadOpenInputFile(*file, path, max_bytes, bytes));
  return std::optional<std::string>(std::move(bytes));
}

}  // namespace imab
