// DeviceRoot: the folder that plays the device's "/" (--root). Every path
// the verifier reads or writes under it is resolved here by the kernel as
// if ROOT were "/" (openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
// ".." stops at ROOT and a symlink's absolute target starts at ROOT, so a
// symlink such as ROOT/var/lib -> /elsewhere means ROOT/elsewhere, and
// nothing the folder holds can send a read or a write outside it
// (manifests/device.conf.md, "Paths under the root").
#pragma once

#include <optional>
#include <string>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab::verifier {

class DeviceRoot {
 public:
  // How paths are resolved: by the kernel (openat2, Linux 5.6+), falling
  // back to the walk when openat2 is missing; or always by the walk, a
  // user-space copy of RESOLVE_IN_ROOT (component by component, O_NOFOLLOW,
  // symlink text spliced in, ".." stopping at ROOT), for tests.
  enum class Lookup { kKernel, kWalk };

  // Opens the folder `root` (the user's --root; symlinks in it are
  // followed, it is the caller's choice). kInvalidArgument when it is not
  // a folder.
  static Result<DeviceRoot> Open(const std::string& root,
                                 Lookup lookup = Lookup::kKernel);

  // The root's real location (absolute, symlink-free).
  const std::string& path() const { return path_; }
  // ROOT/relative as the user would write it, for messages.
  std::string Display(const std::string& relative) const;

  // The real location of `relative` (a path below ROOT, leading '/'
  // allowed): absolute, symlink-free, below path(). nullopt when it does
  // not exist (a dangling symlink counts as missing); kInvalidArgument
  // naming the path for anything else (a symlink loop, a magic link, not a
  // folder when `folder` is set).
  Result<std::optional<std::string>> Find(const std::string& relative,
                                          bool folder = false) const;

  // Find(), with a missing path an error ("ROOT/...: does not exist").
  Result<std::string> Resolve(const std::string& relative,
                              bool folder = false) const;

  // Where a file `relative` is to be created or replaced by rename(2): its
  // folder resolved as Resolve() does (it must exist), plus its last name,
  // which is not followed (a symlink there is replaced, never written
  // through).
  Result<std::string> ResolveForCreate(const std::string& relative) const;

  // Makes the folder `relative` and each missing parent (mode 0755), each
  // step resolved beneath ROOT, and returns its real location.
  // kInvalidArgument when a step is a symlink to nothing (it would be made
  // wherever the symlink points) or not a folder; kIo when mkdir fails.
  Result<std::string> MakeDirectories(const std::string& relative) const;

 private:
  DeviceRoot(UniqueFd fd, std::string path, std::string shown, Lookup lookup)
      : fd_(std::move(fd)),
        path_(std::move(path)),
        shown_(std::move(shown)),
        lookup_(lookup) {}
  // The O_PATH fd of `relative`; invalid with `error_number` set on failure.
  UniqueFd OpenBeneath(const std::string& relative, bool folder,
                       int& error_number) const;
  Error LookupError(const std::string& relative, int error_number) const;
  Result<std::string> RealPath(const UniqueFd& fd,
                               const std::string& relative) const;

  UniqueFd fd_;        // O_PATH | O_DIRECTORY
  std::string path_;   // real location
  std::string shown_;  // as given, for messages
  Lookup lookup_;
};

}  // namespace imab::verifier
