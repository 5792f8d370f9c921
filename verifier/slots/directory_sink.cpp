#include "verifier/slots/directory_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/read/atomic_file.h"
#include "common/read/printable.h"

namespace imab::verifier {
namespace {

Error IoError(const std::string& what) {
  // `what` names image paths: escaped, so a name cannot forge a line.
  return MakeError(ErrorCode::kIo,
                   Printable(what) + ": " + std::strerror(errno));
}

bool NeedsPrivilege(const std::string& name) {
  return name.rfind("security.", 0) == 0 || name.rfind("trusted.", 0) == 0;
}

// Order in which xattrs are written: security.ima before security.evm, and
// security.evm last, since the kernel's EVM checks the other values it
// protects when it is set (ima-evm-formats.md §4.5).
int XattrRank(const std::string& name) {
  if (name == "security.evm") {
    return 2;
  }
  if (name == "security.ima") {
    return 1;
  }
  return 0;
}

Status SetTimes(const std::string& path, uint64_t mtime) {
  struct timespec times[2];
  times[0].tv_sec = static_cast<time_t>(mtime);
  times[0].tv_nsec = 0;
  times[1] = times[0];
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return IoError(path);
  }
  return OkStatus();
}

Status SyncFolder(const std::string& path) {
  UniqueFd fd(
      ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return IoError(path + ": fsync");
  }
  return OkStatus();
}

std::string Octal(uint32_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", mode & 07777);
  return text;
}

// What the file system holds after a metadata write must be what the
// manifest says: a write the kernel accepts without effect (chown to
// (uid_t)-1, a setgid bit it drops) would leave a file whose signatures,
// made over the signed metadata, fail on the device.
Status CheckWritten(const Entry& entry, const std::string& path,
                    bool check_mode, bool check_owner) {
  struct stat st {};
  if (::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return IoError(path);
  }
  std::string differs;
  const bool device =
      entry.type == EntryType::kChar || entry.type == EntryType::kBlock;
  if ((st.st_mode & S_IFMT) != EntryTypeBits(entry.type)) {
    differs = "type";
  } else if (device &&
             st.st_rdev != makedev(entry.dev_major, entry.dev_minor)) {
    differs = "device number";
  } else if (check_mode && (st.st_mode & 07777) != entry.mode) {
    differs =
        "mode " + Octal(st.st_mode & 07777) + ", manifest " + Octal(entry.mode);
  } else if (check_owner &&
             (st.st_uid != entry.uid || st.st_gid != entry.gid)) {
    differs = "owner " + std::to_string(st.st_uid) + ":" +
              std::to_string(st.st_gid) + ", manifest " +
              std::to_string(entry.uid) + ":" + std::to_string(entry.gid);
  }
  if (!differs.empty()) {
    return MakeError(
        ErrorCode::kIo,
        path + ": written file differs from the manifest: " + differs);
  }
  return OkStatus();
}

// An installed image without its owners or security.* / trusted.* xattrs
// would not boot (EVM and IMA appraise exactly those), so an install that
// cannot write them stops at the first entry that carries them, before
// anything is activated.
Status CheckWritableUnprivileged(const Entry& entry) {
  std::string needs;
  if (entry.uid != ::geteuid() || entry.gid != ::getegid()) {
    needs =
        "owner " + std::to_string(entry.uid) + ":" + std::to_string(entry.gid);
  }
  for (const Xattr& x : entry.xattrs) {
    if (NeedsPrivilege(x.name)) {
      needs += (needs.empty() ? "" : " and ") + x.name;
      break;
    }
  }
  if (needs.empty()) {
    return OkStatus();
  }
  return MakeError(
      ErrorCode::kInvalidArgument,
      "install must run as root: " +
          (entry.path.empty() ? std::string(".") : Printable(entry.path)) +
          " needs " + needs + ", which euid " + std::to_string(::geteuid()) +
          " cannot set; nothing was installed");
}

}  // namespace

mode_t EntryTypeBits(EntryType type) {
  switch (type) {
    case EntryType::kFile:
    case EntryType::kHardlink:
      return S_IFREG;
    case EntryType::kDir:
      return S_IFDIR;
    case EntryType::kSymlink:
      return S_IFLNK;
    case EntryType::kChar:
      return S_IFCHR;
    case EntryType::kBlock:
      return S_IFBLK;
    case EntryType::kFifo:
      return S_IFIFO;
  }
  return 0;
}

DirectorySink::DirectorySink(std::string target, Reporter& reporter)
    : target_(std::move(target)),
      reporter_(reporter),
      privileged_(::geteuid() == 0) {
  while (target_.size() > 1 && target_.back() == '/') {
    target_.pop_back();
  }
}

DirectorySink::~DirectorySink() { Abort(); }

size_t DirectorySink::PathReserve(const std::string& target) {
  constexpr size_t kRandomSuffix = 6;  // mkdtemp's XXXXXX
  return target.size() + kStagingInfix.size() + kRandomSuffix + 1;
}

Result<std::unique_ptr<DirectorySink>> DirectorySink::Create(
    const std::string& target, Reporter& reporter) {
  std::error_code ec;
  auto status = std::filesystem::symlink_status(target, ec);
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_directory(status) ||
        !std::filesystem::is_empty(target, ec)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       target + ": exists and is not an empty folder");
    }
  }
  return std::unique_ptr<DirectorySink>(new DirectorySink(target, reporter));
}

Result<std::unique_ptr<DirectorySink>> DirectorySink::CreateReplacing(
    const std::string& target, Reporter& reporter,
    std::function<Status()> clear_target) {
  std::unique_ptr<DirectorySink> sink(new DirectorySink(target, reporter));
  sink->clear_target_ = std::move(clear_target);
  sink->require_full_metadata_ = true;
  return sink;
}

Status DirectorySink::Start(const ManifestHeader& header) {
  mtime_ = header.created;
  std::string pattern = target_;
  pattern.append(kStagingInfix).append("XXXXXX");
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return IoError("cannot create a staging folder beside " + target_);
  }
  staging_ = buf.data();
  return OkStatus();
}

std::string DirectorySink::PathOf(const Entry& entry) const {
  // Safe to join: ImageTree proved the path canonical, relative, and that
  // every parent is a folder this sink created itself.
  return staging_ + "/" + entry.path;
}

Status DirectorySink::Begin(const Entry& entry) {
  if (require_full_metadata_ && !privileged_) {
    IMAB_RETURN_IF_ERROR(CheckWritableUnprivileged(entry));
  }
  std::string path = PathOf(entry);
  switch (entry.type) {
    case EntryType::kFile:
      file_.reset(::open(path.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0600));
      if (!file_.valid()) {
        return IoError(path);
      }
      return OkStatus();
    case EntryType::kDir:
      if (::mkdir(path.c_str(), 0700) != 0) {
        return IoError(path);
      }
      return OkStatus();
    case EntryType::kSymlink:
      if (::symlink(entry.link_target.c_str(), path.c_str()) != 0) {
        return IoError(path);
      }
      return OkStatus();
    case EntryType::kHardlink:
      if (::link((staging_ + "/" + entry.link_target).c_str(), path.c_str()) !=
          0) {
        return IoError(path);
      }
      return OkStatus();
    case EntryType::kChar:
    case EntryType::kBlock:
    case EntryType::kFifo: {
      mode_t type = entry.type == EntryType::kChar    ? S_IFCHR
                    : entry.type == EntryType::kBlock ? S_IFBLK
                                                      : S_IFIFO;
      if (::mknod(path.c_str(), type | 0600,
                  makedev(entry.dev_major, entry.dev_minor)) != 0) {
        return IoError(path);
      }
      return OkStatus();
    }
  }
  return MakeError(ErrorCode::kInternal, "unknown entry type");
}

Status DirectorySink::Content(std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(file_.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return IoError("writing extracted file");
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status DirectorySink::SetXattrs(const Entry& entry, const std::string& path) {
  std::vector<const Xattr*> ordered;
  for (const Xattr& x : entry.xattrs) {
    ordered.push_back(&x);
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Xattr* a, const Xattr* b) {
                     return XattrRank(a->name) < XattrRank(b->name);
                   });
  for (const Xattr* x : ordered) {
    if (!privileged_ && NeedsPrivilege(x->name)) {
      continue;
    }
    if (::lsetxattr(path.c_str(), x->name.c_str(), x->value.data(),
                    x->value.size(), 0) != 0) {
      return IoError(path + ": setting " + x->name);
    }
  }
  return OkStatus();
}

// Called once the entry's content is complete (a folder's once its
// children are all made, from Commit()).
Status DirectorySink::ApplyMetadata(const Entry& entry,
                                    const std::string& path) {
  const bool has_mode = entry.type != EntryType::kSymlink;
  if (privileged_) {
    // Owner, then mode (chown clears setuid bits), then the xattrs,
    // security.ima and security.evm last (SetXattrs): a kernel that
    // appraises with EVM checks the owner, mode and xattrs the signature
    // covers when security.evm is set (ima-evm-formats.md §4.5).
    if (::lchown(path.c_str(), entry.uid, entry.gid) != 0) {
      return IoError(path);
    }
    if (has_mode && ::chmod(path.c_str(), entry.mode) != 0) {
      return IoError(path);
    }
    IMAB_RETURN_IF_ERROR(SetXattrs(entry, path));
  } else {
    // No security.* xattr is written, so EVM plays no part; user.* xattrs
    // need write permission, which a read-only mode would take away.
    IMAB_RETURN_IF_ERROR(SetXattrs(entry, path));
    if (has_mode && ::chmod(path.c_str(), entry.mode) != 0) {
      return IoError(path);
    }
  }
  IMAB_RETURN_IF_ERROR(CheckWritten(entry, path, has_mode, privileged_));
  return SetTimes(path, mtime_);
}

Status DirectorySink::End(const Entry& entry) {
  if (!privileged_ && !warned_unprivileged_) {
    warned_unprivileged_ = true;
    reporter_.Warn(
        "not running as root: owners and security.*/trusted.* xattrs are "
        "not restored");
  }
  std::string path = PathOf(entry);
  if (entry.type == EntryType::kFile) {
    // Not fsynced here: Commit() syncs the whole file system once, before
    // anything becomes visible (one journal commit instead of one per
    // file, the largest cost of an install; bench/README.md).
    file_.reset();
  }
  if (entry.type == EntryType::kHardlink) {
    return OkStatus();  // shares the target's inode, already complete
  }
  if (entry.type == EntryType::kDir) {
    // All of a folder's metadata waits for Commit(): it must stay writable
    // while its children are made, creating them changes its mtime, and
    // its mode must come before its xattrs as for any entry.
    dirs_.push_back({path, entry.mode, entry.uid, entry.gid, entry.xattrs});
    return OkStatus();
  }
  return ApplyMetadata(entry, path);
}

Status DirectorySink::Commit() {
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    Entry dir;
    dir.type = EntryType::kDir;
    dir.mode = it->mode;
    dir.uid = it->uid;
    dir.gid = it->gid;
    dir.xattrs = std::move(it->xattrs);
    IMAB_RETURN_IF_ERROR(ApplyMetadata(dir, it->path));
  }
  if (::chmod(staging_.c_str(), 0755) != 0) {
    return IoError(staging_);
  }
  // Everything written must be on disk before the tree becomes visible:
  // syncfs writes back and waits for every file, folder, symlink, device
  // node, owner and xattr of the file system the staging folder is on (the
  // guarantee an fsync of each would give, in one journal commit), and
  // reports a write-back error any of them met (Linux 5.8+; the block
  // slots read everything back from a fresh mount as well).
  UniqueFd staging_fd(
      ::open(staging_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!staging_fd.valid() || ::syncfs(staging_fd.get()) != 0) {
    return IoError(staging_ + ": syncfs");
  }
  if (clear_target_) {
    IMAB_RETURN_IF_ERROR(clear_target_());
  }
  if (::rename(staging_.c_str(), target_.c_str()) != 0) {
    return IoError("cannot move the extracted tree to " + target_);
  }
  staging_.clear();
  // The rename itself is durable only once the parent folder is synced.
  return SyncFolder(FolderOf(target_));
}

void DirectorySink::Abort() {
  file_.reset();
  if (staging_.empty()) {
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(staging_, ec);
  staging_.clear();
}

}  // namespace imab::verifier
