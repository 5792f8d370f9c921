#include "builder/rootfs_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <system_error>

#include "builder/folder_source.h"
#include "builder/tarball_source.h"

namespace imab::builder {

Result<std::unique_ptr<RootfsSource>> OpenRootfs(const std::string& path,
                                                 Reporter& reporter) {
  struct stat st {};
  // Follows a symlink given as the root on purpose: the user named it.
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    return MakeError(ErrorCode::kIo,
                     path + ": " + std::system_category().message(err));
  }
  if (S_ISDIR(st.st_mode)) {
    return OpenFolderSource(path, reporter);
  }
  if (S_ISREG(st.st_mode)) {
    return OpenTarballSource(path, reporter);
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   path + ": not a folder or a tarball");
}

}  // namespace imab::builder
