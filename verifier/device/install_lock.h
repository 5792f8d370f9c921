// InstallLock: at most one install at a time on a device, through an
// advisory flock(2) on SLOTS/lock that the kernel drops when the holder
// exits, crashes or is killed.
#pragma once

#include <string>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab::verifier {

class InstallLock {
 public:
  // Takes the lock on `path` (created 0600 if missing) without waiting. On
  // success the lock is held until the returned object is destroyed. kIo
  // "another install is running (lock held on PATH)" when another process
  // holds it; kIo naming the path when the file cannot be opened.
  static Result<InstallLock> Acquire(const std::string& path);

  // True when some process holds the lock on `path` now (false when the
  // file does not exist). For status reports; racy by nature.
  static bool IsHeld(const std::string& path);

 private:
  explicit InstallLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace imab::verifier
