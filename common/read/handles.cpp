#include "common/read/handles.h"

#include <unistd.h>

namespace imab {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) {
    // close() errors on a read-only or already-synced descriptor carry no
    // information we could act on; writers fsync and check before closing.
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace imab
