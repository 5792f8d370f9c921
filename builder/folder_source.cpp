#include "builder/folder_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

#include "common/read/byte_reader.h"
#include "common/read/handles.h"
#include "common/read/image_tree.h"
#include "common/read/limits.h"
#include "common/write/xattr_order.h"

namespace imab::builder {
namespace {

// Linux caps the name list of one inode at 64 KiB (XATTR_LIST_MAX).
constexpr size_t kXattrListBytes = 65536;
constexpr size_t kDirentBufferBytes = 32768;

// getdents64() fills the buffer with kernel linux_dirent64 records, which
// glibc's struct dirent64 mirrors; the parser below relies on this layout.
constexpr size_t kDirentReclenOffset = 16;
constexpr size_t kDirentNameOffset = 19;
static_assert(offsetof(struct dirent64, d_reclen) == kDirentReclenOffset);
static_assert(offsetof(struct dirent64, d_name) == kDirentNameOffset);

// (uid_t)-1 cannot be set by chown(2) on the device (FORMAT.md §3.4), so
// a file with that owner would install root-owned.
Status CheckOwner(const Entry& e, const std::string& display) {
  if (e.uid > kMaxOwnerId || e.gid > kMaxOwnerId) {
    return MakeError(ErrorCode::kInvalidArgument,
                     display + ": owner " + std::to_string(e.uid) + ":" +
                         std::to_string(e.gid) + " out of range (0.." +
                         std::to_string(kMaxOwnerId) + ")");
  }
  return OkStatus();
}

Error SysError(const std::string& what, int err) {
  return MakeError(ErrorCode::kIo,
                   what + ": " + std::system_category().message(err));
}

Result<uint16_t> ReadNativeU16(ByteReader& r) {
  if constexpr (std::endian::native == std::endian::little) {
    return r.ReadU16Le();
  } else {
    return r.ReadU16Be();
  }
}

// Appends the names of one getdents64() buffer (without "." and "..").
Status ParseDirents(std::span<const uint8_t> data,
                    std::vector<std::string>& names) {
  ByteReader r(data);
  while (!r.empty()) {
    IMAB_RETURN_IF_ERROR(r.Skip(kDirentReclenOffset));
    IMAB_ASSIGN_OR_RETURN(uint16_t reclen, ReadNativeU16(r));
    IMAB_RETURN_IF_ERROR(r.Skip(1));  // d_type: fstatat() is authoritative
    if (reclen < kDirentNameOffset) {
      return MakeError(ErrorCode::kInternal, "getdents64: bad record length");
    }
    IMAB_ASSIGN_OR_RETURN(std::string_view raw,
                          r.ReadString(reclen - kDirentNameOffset));
    std::string_view name = raw.substr(0, raw.find('\0'));
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
  return OkStatus();
}

// Regular-file content read straight from the open descriptor.
class FileContent : public ContentReader {
 public:
  void Open(UniqueFd fd, const std::string& display, uint64_t size) {
    fd_ = std::move(fd);
    display_.assign(display);
    expected_ = size;
    delivered_ = 0;
  }
  void Close() { fd_.reset(); }

  Result<size_t> Read(std::span<uint8_t> out) override {
    if (!fd_.valid() || out.empty()) {
      return size_t{0};
    }
    ssize_t n = 0;
    do {
      n = ::read(fd_.get(), out.data(), out.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      int err = errno;
      Close();
      return SysError(display_, err);
    }
    delivered_ += static_cast<uint64_t>(n);
    // The manifest records the stat size, so a file rewritten during the
    // build would be signed with a size or digest that matches nothing.
    if (delivered_ > expected_ || (n == 0 && delivered_ != expected_)) {
      Close();
      return MakeError(ErrorCode::kIo,
                       display_ + ": changed size while being read");
    }
    if (n == 0) {
      Close();
    }
    return static_cast<size_t>(n);
  }

 private:
  UniqueFd fd_;
  std::string display_;
  uint64_t expected_ = 0;
  uint64_t delivered_ = 0;
};

class FolderSource : public RootfsSource {
 public:
  FolderSource(std::string root, Reporter& reporter)
      : root_(std::move(root)),
        reporter_(reporter),
        dirent_buf_(kDirentBufferBytes),
        list_buf_(kXattrListBytes),
        value_buf_(kMaxXattrValueBytes),
        link_buf_(kMaxPathBytes + 1) {}

  Status Start() {
    UniqueFd fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      int err = errno;
      if (err == ENOTDIR) {
        return MakeError(ErrorCode::kInvalidArgument, root_ + ": not a folder");
      }
      return SysError(root_, err);
    }
    return PushFolder(std::move(fd), std::string());
  }

  Result<std::optional<SourceEntry>> Next() override {
    content_.Close();
    while (!stack_.empty()) {
      Frame& top = stack_.back();
      if (top.next == top.names.size()) {
        stack_.pop_back();
        continue;
      }
      // Copies: Visit() may push a frame and move `top`.
      std::string name = std::move(top.names[top.next++]);
      std::string path = top.path.empty() ? name : top.path + "/" + name;
      int dir_fd = top.fd.get();
      IMAB_ASSIGN_OR_RETURN(std::optional<SourceEntry> out,
                            Visit(dir_fd, name, std::move(path)));
      if (out.has_value()) {
        return out;
      }
    }
    return std::optional<SourceEntry>();
  }

 private:
  struct Frame {
    std::string path;  // relative path of the folder, "" for the root
    UniqueFd fd;
    std::vector<std::string> names;  // sorted by bytes
    size_t next = 0;
  };

  std::string Display(const std::string& path) const {
    return root_.back() == '/' ? root_ + path : root_ + "/" + path;
  }

  Status PushFolder(UniqueFd fd, std::string path) {
    Frame frame{std::move(path), std::move(fd), {}, 0};
    for (;;) {
      ssize_t n =
          ::getdents64(frame.fd.get(), dirent_buf_.data(), dirent_buf_.size());
      if (n < 0) {
        int err = errno;
        return SysError(frame.path.empty() ? root_ : Display(frame.path), err);
      }
      if (n == 0) {
        break;
      }
      IMAB_RETURN_IF_ERROR(ParseDirents(
          std::span<const uint8_t>(dirent_buf_.data(), static_cast<size_t>(n)),
          frame.names));
    }
    // std::string compares as unsigned bytes: the canonical entry order.
    std::sort(frame.names.begin(), frame.names.end());
    stack_.push_back(std::move(frame));
    return OkStatus();
  }

  // Returns nullopt for objects that are skipped (sockets).
  Result<std::optional<SourceEntry>> Visit(int dir_fd, const std::string& name,
                                           std::string path) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      int err = errno;
      return SysError(Display(path), err);
    }
    Status canonical = CheckCanonicalPath(path);
    if (!canonical.ok()) {
      return WithContext(std::move(canonical).error(), root_);
    }
    SourceEntry out;
    Entry& e = out.entry;
    e.path = std::move(path);
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    IMAB_RETURN_IF_ERROR(CheckOwner(e, Display(e.path)));
    if (S_ISREG(st.st_mode)) {
      IMAB_RETURN_IF_ERROR(VisitFile(dir_fd, name, st, out));
      return std::optional<SourceEntry>(std::move(out));
    }
    if (S_ISDIR(st.st_mode)) {
      IMAB_RETURN_IF_ERROR(VisitFolder(dir_fd, name, e));
      return std::optional<SourceEntry>(std::move(out));
    }
    if (S_ISLNK(st.st_mode)) {
      IMAB_RETURN_IF_ERROR(ReadSymlink(dir_fd, name, e));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      e.type = S_ISCHR(st.st_mode) ? EntryType::kChar : EntryType::kBlock;
      e.dev_major = major(st.st_rdev);
      e.dev_minor = minor(st.st_rdev);
    } else if (S_ISFIFO(st.st_mode)) {
      e.type = EntryType::kFifo;
    } else if (S_ISSOCK(st.st_mode)) {
      // A socket only exists while a process listens on it; nothing to ship.
      reporter_.Warn(Display(e.path) + ": socket skipped");
      return std::optional<SourceEntry>();
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       Display(e.path) + ": unsupported file type");
    }
    IMAB_RETURN_IF_ERROR(ReadXattrs(-1, e));
    return std::optional<SourceEntry>(std::move(out));
  }

  // Opens the folder `name` of `dir_fd` and pushes its frame: its entries
  // come next.
  Status VisitFolder(int dir_fd, const std::string& name, Entry& e) {
    e.type = EntryType::kDir;
    UniqueFd fd(::openat(dir_fd, name.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      int err = errno;
      return SysError(Display(e.path), err);
    }
    IMAB_RETURN_IF_ERROR(ReadXattrs(fd.get(), e));
    return PushFolder(std::move(fd), e.path);
  }

  Status ReadSymlink(int dir_fd, const std::string& name, Entry& e) {
    e.type = EntryType::kSymlink;
    ssize_t n =
        ::readlinkat(dir_fd, name.c_str(), link_buf_.data(), link_buf_.size());
    if (n < 0) {
      int err = errno;
      return SysError(Display(e.path), err);
    }
    if (static_cast<size_t>(n) >= link_buf_.size()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       Display(e.path) + ": symlink target longer than " +
                           std::to_string(kMaxPathBytes) + " bytes");
    }
    e.link_target.assign(link_buf_.data(), static_cast<size_t>(n));
    return OkStatus();
  }

  Status VisitFile(int dir_fd, const std::string& name, const struct stat& st,
                   SourceEntry& out) {
    Entry& e = out.entry;
    if (st.st_nlink > 1) {
      auto [it, inserted] = first_links_.try_emplace(
          std::make_pair(st.st_dev, st.st_ino), e.path);
      if (!inserted) {
        e.type = EntryType::kHardlink;
        e.link_target = it->second;
        e.mode = 0;
        e.uid = 0;
        e.gid = 0;
        return OkStatus();
      }
    }
    e.type = EntryType::kFile;
    if (st.st_size < 0) {
      return MakeError(ErrorCode::kIo, Display(e.path) + ": negative size");
    }
    e.size = static_cast<uint64_t>(st.st_size);
    // O_NONBLOCK: if the file was swapped for a FIFO, fail instead of hang.
    UniqueFd fd(
        ::openat(dir_fd, name.c_str(),
                 O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
      int err = errno;
      return SysError(Display(e.path), err);
    }
    // Read-ahead only helps files larger than one read; the hint's failure
    // changes nothing we rely on.
    if (e.size > kStreamChunkBytes) {
      (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    IMAB_RETURN_IF_ERROR(ReadXattrs(fd.get(), e));
    content_.Open(std::move(fd), Display(e.path), e.size);
    out.content = &content_;
    return OkStatus();
  }

  // Reads every xattr of `e` through `fd` when one is open (cheaper than a
  // path walk), else through the full path without following a symlink.
  Status ReadXattrs(int fd, Entry& e) {
    std::string full;
    if (fd < 0) {
      full = Display(e.path);
    }
    ssize_t n = fd >= 0 ? ::flistxattr(fd, list_buf_.data(), list_buf_.size())
                        : ::llistxattr(full.c_str(), list_buf_.data(),
                                       list_buf_.size());
    if (n < 0) {
      int err = errno;
      if (err == ENOTSUP) {
        return OkStatus();
      }
      return SysError(Display(e.path) + ": listing xattrs", err);
    }
    std::string_view list(list_buf_.data(), static_cast<size_t>(n));
    while (!list.empty()) {
      size_t end = list.find('\0');
      std::string_view name_view = list.substr(0, end);
      list.remove_prefix(end == std::string_view::npos ? list.size() : end + 1);
      if (name_view.empty()) {
        continue;
      }
      std::string name(name_view);
      ssize_t v = fd >= 0 ? ::fgetxattr(fd, name.c_str(), value_buf_.data(),
                                        value_buf_.size())
                          : ::lgetxattr(full.c_str(), name.c_str(),
                                        value_buf_.data(), value_buf_.size());
      if (v < 0) {
        int err = errno;
        if (err == ENODATA) {
          continue;  // removed since the listing: it is not there any more
        }
        return SysError(Display(e.path) + ": xattr " + name, err);
      }
      e.xattrs.push_back(
          Xattr{std::move(name),
                std::string(value_buf_.data(), static_cast<size_t>(v))});
    }
    SortXattrs(e.xattrs);
    return OkStatus();
  }

  std::string root_;
  Reporter& reporter_;
  std::vector<Frame> stack_;
  // First path of every multiply-linked regular file, by inode.
  std::map<std::pair<dev_t, ino_t>, std::string> first_links_;
  FileContent content_;
  // Scratch buffers reused for every entry, so the walk does not allocate
  // per system call.
  std::vector<uint8_t> dirent_buf_;
  std::vector<char> list_buf_;
  std::vector<char> value_buf_;
  std::vector<char> link_buf_;
};

}  // namespace

Result<std::unique_ptr<RootfsSource>> OpenFolderSource(const std::string& root,
                                                       Reporter& reporter) {
  std::string trimmed = root;
  while (trimmed.size() > 1 && trimmed.back() == '/') {
    trimmed.pop_back();
  }
  auto source = std::make_unique<FolderSource>(std::move(trimmed), reporter);
  IMAB_RETURN_IF_ERROR(source->Start());
  return std::unique_ptr<RootfsSource>(std::move(source));
}

}  // namespace imab::builder
