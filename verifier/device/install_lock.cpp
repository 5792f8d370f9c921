#include "verifier/device/install_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

namespace imab::verifier {

Result<InstallLock> InstallLock::Acquire(const std::string& path) {
  UniqueFd fd(
      ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    return MakeError(ErrorCode::kIo, path + ": " + std::strerror(errno));
  }
  // Never wait: a second installer queued behind the first would install
  // over a state it has not seen.
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) {
      continue;
    }
    if (errno == EWOULDBLOCK) {
      return MakeError(
          ErrorCode::kIo,
          "another install is running (lock held on " + path + ")");
    }
    return MakeError(ErrorCode::kIo, path + ": flock: " + std::strerror(errno));
  }
  return InstallLock(std::move(fd));
}

bool InstallLock::IsHeld(const std::string& path) {
  // O_NONBLOCK: a FIFO in place of the lock must not hang `status`.
  UniqueFd fd(
      ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    return false;
  }
  return ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

}  // namespace imab::verifier
