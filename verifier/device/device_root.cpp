#include "verifier/device/device_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <vector>

#include "common/read/path_parts.h"

namespace imab::verifier {
namespace {

std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> out;
  for (std::string& part : SplitOn(path, '/')) {
    if (!part.empty()) {
      out.push_back(std::move(part));
    }
  }
  return out;
}

// The target of the symlink `name` in `dir`; "" when it cannot be read
// (a symlink target is never empty).
std::string ReadLinkAt(int dir, const std::string& name) {
  std::vector<char> buffer(PATH_MAX + 1);
  ssize_t n = ::readlinkat(dir, name.c_str(), buffer.data(), buffer.size());
  if (n < 0 || static_cast<size_t>(n) >= buffer.size()) {
    return "";
  }
  return std::string(buffer.data(), static_cast<size_t>(n));
}

// The walk openat2(RESOLVE_IN_ROOT) does, in user space, for kernels
// without openat2 (before 5.6): one component at a time, never letting
// the kernel follow a symlink; a symlink's text is spliced into the rest
// of the path, an absolute one restarting at ROOT, ".." stopping at ROOT.
// Returns the opened O_PATH fd (or -1 with errno set).
int WalkBeneath(int root, const std::string& relative, bool folder) {
  std::vector<UniqueFd> stack;  // the folders entered, ROOT excluded
  auto current = [&] { return stack.empty() ? root : stack.back().get(); };
  std::deque<std::string> rest;
  for (std::string& part : Components(relative)) {
    rest.push_back(std::move(part));
  }
  int links = 0;
  UniqueFd last;
  while (!rest.empty()) {
    std::string part = std::move(rest.front());
    rest.pop_front();
    last.reset();
    if (part == ".") {
      continue;
    }
    if (part == "..") {
      if (!stack.empty()) {
        stack.pop_back();
      }
      continue;
    }
    UniqueFd next(
        ::openat(current(), part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!next.valid() || ::fstat(next.get(), &st) != 0) {
      return -1;
    }
    if (S_ISLNK(st.st_mode)) {
      const std::string target = ReadLinkAt(current(), part);
      if (target.empty() || ++links > kMaxSymlinks) {
        errno = ELOOP;
        return -1;
      }
      std::vector<std::string> parts = Components(target);
      rest.insert(rest.begin(), parts.begin(), parts.end());
      if (target.front() == '/') {
        stack.clear();
      }
      continue;
    }
    if (!S_ISDIR(st.st_mode) && (!rest.empty() || folder)) {
      errno = ENOTDIR;
      return -1;
    }
    if (S_ISDIR(st.st_mode)) {
      stack.push_back(std::move(next));
    } else {
      last = std::move(next);
    }
  }
  if (last.valid()) {
    return last.release();
  }
  return stack.empty() ? ::fcntl(root, F_DUPFD_CLOEXEC, 0)
                       : stack.back().release();
}

int OpenAt2(int root, const std::string& relative, bool folder) {
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_CLOEXEC | (folder ? O_DIRECTORY : 0);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* path = relative.empty() ? "." : relative.c_str();
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, root, path, &how, sizeof how);
    // EAGAIN: a rename raced the lookup; the kernel asks for a retry.
    if (fd < 0 && errno == EAGAIN && attempt < 8) {
      continue;
    }
    return static_cast<int>(fd);
  }
}

}  // namespace

Result<DeviceRoot> DeviceRoot::Open(const std::string& root, Lookup lookup) {
  const std::string given = root.empty() ? "/" : root;
  UniqueFd fd(::open(given.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--root " + given + ": " + std::strerror(errno));
  }
  char* real = ::realpath(given.c_str(), nullptr);
  if (real == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--root " + given + ": " + std::strerror(errno));
  }
  std::string path = real;
  ::free(real);
  std::string shown = given;
  while (shown.size() > 1 && shown.back() == '/') {
    shown.pop_back();
  }
  return DeviceRoot(std::move(fd), std::move(path), std::move(shown), lookup);
}

std::string DeviceRoot::Display(const std::string& relative) const {
  std::string rel = WithoutLeadingSlashes(relative);
  if (rel.empty()) {
    return shown_;
  }
  return shown_ == "/" ? "/" + rel : shown_ + "/" + rel;
}

UniqueFd DeviceRoot::OpenBeneath(const std::string& relative, bool folder,
                                 int& error_number) const {
  const std::string rel = WithoutLeadingSlashes(relative);
  int fd = -1;
  errno = ENOSYS;
  if (lookup_ == Lookup::kKernel) {
    fd = OpenAt2(fd_.get(), rel, folder);
  }
  if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
    // No openat2 (Linux < 5.6), or a seccomp filter that refuses it.
    fd = WalkBeneath(fd_.get(), rel, folder);
  }
  error_number = fd < 0 ? errno : 0;
  return UniqueFd(fd);
}

Error DeviceRoot::LookupError(const std::string& relative,
                              int error_number) const {
  return MakeError(ErrorCode::kInvalidArgument,
                   Display(relative) + ": " + std::strerror(error_number));
}

Result<std::string> DeviceRoot::RealPath(const UniqueFd& fd,
                                         const std::string& relative) const {
  // The kernel's own name of what it opened: symlink-free by construction.
  const std::string real =
      ReadLinkAt(AT_FDCWD, "/proc/self/fd/" + std::to_string(fd.get()));
  if (real.empty() || real.front() != '/') {
    return MakeError(ErrorCode::kIo,
                     Display(relative) +
                         ": cannot name the resolved path (is /proc mounted?)");
  }
  // Defence in depth: a name outside ROOT means the lookup went wrong.
  const bool inside =
      real == path_ || path_ == "/" ||
      (real.size() > path_.size() &&
       real.compare(0, path_.size(), path_) == 0 && real[path_.size()] == '/');
  if (!inside) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        Display(relative) + ": resolves to " + real + ", outside the root");
  }
  return real;
}

Result<std::optional<std::string>> DeviceRoot::Find(const std::string& relative,
                                                    bool folder) const {
  int error_number = 0;
  UniqueFd fd = OpenBeneath(relative, folder, error_number);
  if (!fd.valid()) {
    if (error_number == ENOENT) {
      return std::optional<std::string>();
    }
    return LookupError(relative, error_number);
  }
  IMAB_ASSIGN_OR_RETURN(std::string real, RealPath(fd, relative));
  return std::optional<std::string>(std::move(real));
}

Result<std::string> DeviceRoot::Resolve(const std::string& relative,
                                        bool folder) const {
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> found,
                        Find(relative, folder));
  if (!found.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     Display(relative) + ": does not exist");
  }
  return std::move(*found);
}

Result<std::string> DeviceRoot::ResolveForCreate(
    const std::string& relative) const {
  const std::string rel = WithoutLeadingSlashes(relative);
  size_t slash = rel.find_last_of('/');
  const std::string name =
      slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return MakeError(ErrorCode::kInvalidArgument,
                     Display(rel) + ": not a file name");
  }
  const std::string folder =
      slash == std::string::npos ? "" : rel.substr(0, slash);
  Result<std::string> real = Resolve(folder, true);
  if (!real.has_value()) {
    return real;
  }
  real->append(real->size() == 1 ? "" : "/").append(name);
  return real;
}

Result<std::string> DeviceRoot::MakeDirectories(
    const std::string& relative) const {
  std::string done;  // the steps made or found so far, relative to ROOT
  for (const std::string& part : Components(WithoutLeadingSlashes(relative))) {
    const std::string step = done.empty() ? part : done + "/" + part;
    IMAB_ASSIGN_OR_RETURN(std::optional<std::string> found, Find(step, true));
    if (!found.has_value()) {
      int error_number = 0;
      UniqueFd parent = OpenBeneath(done, true, error_number);
      if (!parent.valid()) {
        return LookupError(done, error_number);
      }
      if (::mkdirat(parent.get(), part.c_str(), 0755) != 0) {
        // EEXIST: the name is there but leads nowhere (a dangling
        // symlink); making its target would write where it points.
        if (errno == EEXIST) {
          return MakeError(ErrorCode::kInvalidArgument,
                           Display(step) + ": a symlink to a missing folder");
        }
        return MakeError(ErrorCode::kIo,
                         Display(step) + ": " + std::strerror(errno));
      }
    }
    done = step;
  }
  return Resolve(done, true);
}

}  // namespace imab::verifier
