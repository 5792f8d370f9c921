#include "verifier/device/small_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/read/handles.h"
#include "common/read/input_file.h"

namespace imab::verifier {
namespace {

Error IoError(const std::string& what) {
  return MakeError(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return IoError(path + ": write");
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace

Result<std::optional<std::string>> ReadSmallFile(const std::string& path,
                                                 size_t max_bytes) {
  // Device files are never symlinks, FIFOs or devices: any of those was
  // put there to redirect or hang the install.
  Result<std::optional<std::string>> read =
      ReadInputFileIfExists(path, max_bytes, Symlinks::kRefuse);
  if (!read.has_value()) {
    return MakeError(ErrorCode::kIo, read.error().message);
  }
  return read;
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status SyncDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return IoError(dir);
  }
  if (::fsync(fd.get()) != 0) {
    return IoError(dir + ": fsync");
  }
  return OkStatus();
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           unsigned mode) {
  std::string pattern = path + std::string(kTemporaryInfix) + "XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return IoError(path + ": cannot create a temporary file");
  }
  const std::string temp = name.data();
  Status written = WriteAll(fd.get(), bytes, temp);
  if (written.ok() && ::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    written = IoError(temp + ": chmod");
  }
  // The content must be on disk before the name points at it, or a power
  // cut could leave the new name on an empty file.
  if (written.ok() && ::fsync(fd.get()) != 0) {
    written = IoError(temp + ": fsync");
  }
  fd.reset();
  if (written.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    written = IoError(path + ": rename");
  }
  if (!written.ok()) {
    ::unlink(temp.c_str());
    return written;
  }
  return SyncDirectory(ParentOf(path));
}

Status ReplaceSymlinkAtomically(const std::string& path,
                                const std::string& target) {
  // symlink(2) has no mkstemp; the pid makes the name unique among
  // installers, and the install lock among concurrent ones.
  const std::string temp =
      path + std::string(kTemporaryInfix) + std::to_string(::getpid());
  ::unlink(temp.c_str());
  if (::symlink(target.c_str(), temp.c_str()) != 0) {
    return IoError(temp + ": symlink");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Error error = IoError(path + ": rename");
    ::unlink(temp.c_str());
    return error;
  }
  return SyncDirectory(ParentOf(path));
}

}  // namespace imab::verifier
