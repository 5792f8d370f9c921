#include "verifier/slots/private_mounts.h"

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace imab::verifier {
namespace {

Error MountError(const std::string& what) {
  return MakeError(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

}  // namespace

Status EnterPrivateMountNamespace() {
  thread_local bool entered = false;
  if (entered) {
    return OkStatus();
  }
  if (::unshare(CLONE_NEWNS) != 0) {
    return MountError(
        "cannot enter a private mount namespace (block slots need "
        "CAP_SYS_ADMIN)");
  }
  // A new namespace inherits shared propagation from systemd's "/": made
  // private, nothing mounted here shows up outside.
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return MountError("cannot make the mounts of the installer private");
  }
  entered = true;
  return OkStatus();
}

Status MountExt4(const std::string& device, const std::string& dir,
                 bool read_only) {
  unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOATIME;
  if (read_only) {
    flags |= MS_RDONLY | MS_NOEXEC;
  }
  for (int attempt = 0;; ++attempt) {
    if (::mount(device.c_str(), dir.c_str(), "ext4", flags, nullptr) == 0) {
      return OkStatus();
    }
    // EBUSY: the super block of a lazily unmounted mount is still going.
    if (errno != EBUSY || attempt == 50) {
      return MountError("mount " + device + " on " + dir);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status Unmount(const std::string& dir, bool detach) {
  if (::umount2(dir.c_str(), detach ? MNT_DETACH : 0) != 0) {
    return MountError("umount " + dir);
  }
  return OkStatus();
}

}  // namespace imab::verifier
