// ScratchSystem: a scratch tree that plays "/" for commands run in it, so
// that system-mode commands (no --root: "/", /etc/imabundle/device.conf)
// can be tested without touching the host's "/". Each Run() starts a
// private mount namespace (`unshare -m --propagation private`), binds into
// the tree the host's /usr (read-only; /bin, /lib... follow as the host
// has them: symlinks into usr, or read-only binds), /proc, /dev and the
// folders given to ShareReadOnly(), then chroots into the tree. The mounts
// exist only in that namespace and vanish with it: the host never sees
// them, so removing the tree afterwards cannot reach through a bind.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tests/testutil/run.h"

namespace imab::testing {

class ScratchSystem {
 public:
  // Lays out `tree` (created if missing): etc/ (with the host's
  // ld.so.cache), var/lib/, tmp/, the mount points and the top-level
  // symlinks of a merged-/usr host.
  explicit ScratchSystem(std::string tree);

  // Why commands cannot run this way here, "" when they can (root, the
  // unshare and chroot tools, a kernel that allows mount namespaces).
  static std::string Unavailable();

  // Binds the host folder `host` read-only at `inside` (absolute, as seen
  // in the tree) for every later Run().
  void ShareReadOnly(const std::string& host, const std::string& inside);

  // Runs `command` (sh syntax) chrooted into the tree, in its own mount
  // namespace; exit code 125 when the namespace could not be set up.
  CommandResult Run(const std::string& command) const;

  // Where `inside` (absolute, as seen in the tree) is on the host.
  std::string HostPath(const std::string& inside) const;
  const std::string& tree() const { return tree_; }

 private:
  std::string MountScript() const;

  std::string tree_;
  std::vector<std::string> system_binds_;  // host folders bound at same path
  std::vector<std::pair<std::string, std::string>> shared_;  // host, inside
};

}  // namespace imab::testing
