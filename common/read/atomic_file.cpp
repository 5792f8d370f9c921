#include "common/read/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace imab {
namespace {

Error IoError(const std::string& what) {
  return MakeError(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

Result<UniqueFd> OpenFolder(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return IoError(dir);
  }
  return fd;
}

Status Sync(int fd, const std::string& what) {
  if (::fsync(fd) != 0) {
    return IoError(what + ": fsync");
  }
  return OkStatus();
}

}  // namespace

Result<AtomicFile> AtomicFile::Create(const std::string& path, unsigned mode) {
  // Opened first: a folder that cannot be synced fails before any byte is
  // written, not after the rename.
  IMAB_ASSIGN_OR_RETURN(UniqueFd folder, OpenFolder(FolderOf(path)));
  std::string pattern = path + std::string(kTemporaryInfix) + "XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return IoError(path + ": cannot create a temporary file");
  }
  AtomicFile file(std::move(fd), std::move(folder), name.data(), path);
  // mkostemp creates 0600; the umask could only remove bits.
  if (::fchmod(file.fd(), static_cast<mode_t>(mode)) != 0) {
    return IoError(file.temp_path_ + ": chmod");
  }
  return file;
}

AtomicFile::~AtomicFile() {
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
  }
}

Status AtomicFile::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return IoError(temp_path_ + ": write");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status AtomicFile::Commit() {
  // The content must be on disk before the name points at it, or a power
  // cut could leave the new name on an empty file.
  IMAB_RETURN_IF_ERROR(Sync(fd_.get(), temp_path_));
  fd_.reset();
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return IoError(final_path_ + ": rename");
  }
  temp_path_.clear();
  return Sync(folder_.get(), FolderOf(final_path_));
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           unsigned mode) {
  IMAB_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path, mode));
  IMAB_RETURN_IF_ERROR(file.Write(bytes));
  return file.Commit();
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
  return SyncDirectory(FolderOf(path));
}

std::string FolderOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status SyncDirectory(const std::string& dir) {
  IMAB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFolder(dir));
  return Sync(fd.get(), dir);
}

}  // namespace imab
