// FolderSource: walks a rootfs folder depth first, children sorted by name
// bytes, never following symlinks (xattrs via f*xattr() on the descriptor of
// an opened file or folder, l*xattr() for everything else).
#pragma once

#include <memory>
#include <string>

#include "builder/rootfs_source.h"

namespace imab::builder {

// A second path to an inode already yielded (st_nlink > 1) becomes a
// kHardlink to the first path. Sockets are skipped with a warning. A file
// whose size changes while it is read is an error naming it.
Result<std::unique_ptr<RootfsSource>> OpenFolderSource(const std::string& root,
                                                       Reporter& reporter);

}  // namespace imab::builder
