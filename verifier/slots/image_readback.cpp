#include "verifier/slots/image_readback.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/printable.h"
#include "verifier/slots/directory_sink.h"

namespace imab::verifier {
namespace {

std::string SysError(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// The xattrs of `path` as the file system returns them, sorted by name.
Result<std::vector<Xattr>> ReadXattrs(const std::string& path) {
  ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
  if (size < 0) {
    return MakeError(ErrorCode::kIo, SysError("listing xattrs"));
  }
  std::string names(static_cast<size_t>(size), '\0');
  size = ::llistxattr(path.c_str(), names.data(), names.size());
  if (size < 0) {
    return MakeError(ErrorCode::kIo, SysError("listing xattrs"));
  }
  names.resize(static_cast<size_t>(size));
  std::vector<Xattr> xattrs;
  for (size_t at = 0; at < names.size();) {
    std::string name(names.c_str() + at);
    at += name.size() + 1;
    ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    std::string value(n > 0 ? static_cast<size_t>(n) : 0, '\0');
    if (n < 0 || ::lgetxattr(path.c_str(), name.c_str(), value.data(),
                             value.size()) != n) {
      return MakeError(ErrorCode::kIo, SysError("reading " + name));
    }
    xattrs.push_back(Xattr{std::move(name), std::move(value)});
  }
  std::sort(xattrs.begin(), xattrs.end(),
            [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return xattrs;
}

// "" when the xattrs are those of the entry, else what differs.
std::string CompareXattrs(const std::vector<Xattr>& found,
                          const std::vector<Xattr>& wanted) {
  for (const Xattr& want : wanted) {
    auto it = std::find_if(found.begin(), found.end(),
                           [&](const Xattr& x) { return x.name == want.name; });
    if (it == found.end()) {
      return Printable(want.name) + " is missing";
    }
    if (it->value != want.value) {
      return Printable(want.name) + " differs";
    }
  }
  for (const Xattr& have : found) {
    if (std::none_of(wanted.begin(), wanted.end(),
                     [&](const Xattr& x) { return x.name == have.name; })) {
      return Printable(have.name) + " is not in the manifest";
    }
  }
  return "";
}

// "" when the content of the regular file `path` is the entry's.
std::string CompareContent(const std::string& path, const Entry& entry) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    return SysError("open");
  }
  Result<Sha256> hash = Sha256::Create();
  if (!hash.has_value()) {
    return hash.error().message;
  }
  std::vector<uint8_t> buf(1u << 20);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return SysError("read");
    }
    if (n == 0) {
      break;
    }
    total += static_cast<uint64_t>(n);
    hash->Update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
  }
  if (total != entry.size) {
    return "size " + std::to_string(total) + ", manifest " +
           std::to_string(entry.size);
  }
  return DigestEquals(hash->Finish(), entry.sha256) ? "" : "content differs";
}

std::string CompareSymlink(const std::string& path, const Entry& entry) {
  std::vector<char> buf(entry.link_target.size() + 2);
  ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0) {
    return SysError("readlink");
  }
  if (std::string(buf.data(), static_cast<size_t>(n)) != entry.link_target) {
    return "symlink target differs";
  }
  return "";
}

// Walks the image, checking one entry after the other.
class ReadBack {
 public:
  ReadBack(const std::string& root, const std::vector<Entry>& entries)
      : root_(root), entries_(entries) {}

  void CheckEntries() {
    for (const Entry& entry : entries_) {
      std::string difference = CheckEntry(entry);
      if (!difference.empty()) {
        Note(entry.path, difference);
      }
    }
  }

  // Every path below the root must be an entry.
  void CheckNoExtras() {
    std::unordered_map<std::string_view, bool> known;
    for (const Entry& entry : entries_) {
      known.emplace(entry.path, true);
    }
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(root_, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      // Lexical: relative() would resolve a symlink to its target.
      std::string rel = it->path().lexically_relative(root_).string();
      if (known.count(rel) == 0) {
        Note(rel, "not in the manifest");
      }
    }
    if (ec) {
      Note("", "walking the image: " + ec.message());
    }
  }

  Status Outcome(const std::string& what) const {
    if (differences_ == 0) {
      return OkStatus();
    }
    return MakeError(
        ErrorCode::kIo,
        "read-back of " + what + ": " + first_ +
            (differences_ > 1 ? " (and " + std::to_string(differences_ - 1) +
                                    " more differences)"
                              : ""));
  }

 private:
  void Note(const std::string& path, const std::string& difference) {
    if (differences_++ == 0) {
      first_ = (path.empty() ? std::string(".") : Printable(path)) + ": " +
               difference;
    }
  }

  std::string CheckEntry(const Entry& entry);
  std::string CheckMetadata(const Entry& entry, const std::string& path,
                            const struct stat& st);

  const std::string& root_;
  const std::vector<Entry>& entries_;
  std::unordered_map<std::string, ino_t> inodes_;  // files, for hardlinks
  size_t differences_ = 0;
  std::string first_;
};

std::string ReadBack::CheckEntry(const Entry& entry) {
  const std::string path = root_ + "/" + entry.path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? "missing" : SysError("stat");
  }
  if ((st.st_mode & S_IFMT) != EntryTypeBits(entry.type)) {
    return "type differs";
  }
  if (entry.type == EntryType::kHardlink) {
    auto target = inodes_.find(entry.link_target);
    return target != inodes_.end() && target->second == st.st_ino
               ? ""
               : "not a hardlink of " + Printable(entry.link_target);
  }
  if (entry.type == EntryType::kFile) {
    inodes_[entry.path] = st.st_ino;
  }
  return CheckMetadata(entry, path, st);
}

std::string ReadBack::CheckMetadata(const Entry& entry, const std::string& path,
                                    const struct stat& st) {
  if (entry.type != EntryType::kSymlink && (st.st_mode & 07777) != entry.mode) {
    return "mode differs";
  }
  if (st.st_uid != entry.uid || st.st_gid != entry.gid) {
    return "owner " + std::to_string(st.st_uid) + ":" +
           std::to_string(st.st_gid) + ", manifest " +
           std::to_string(entry.uid) + ":" + std::to_string(entry.gid);
  }
  if ((entry.type == EntryType::kChar || entry.type == EntryType::kBlock) &&
      st.st_rdev != makedev(entry.dev_major, entry.dev_minor)) {
    return "device number differs";
  }
  Result<std::vector<Xattr>> xattrs = ReadXattrs(path);
  if (!xattrs.has_value()) {
    return xattrs.error().message;
  }
  std::string difference = CompareXattrs(*xattrs, entry.xattrs);
  if (!difference.empty()) {
    return difference;
  }
  if (entry.type == EntryType::kSymlink) {
    return CompareSymlink(path, entry);
  }
  return entry.type == EntryType::kFile ? CompareContent(path, entry) : "";
}

}  // namespace

Status ReadBackImage(const std::string& root, const std::vector<Entry>& entries,
                     const std::string& what) {
  ReadBack check(root, entries);
  check.CheckEntries();
  check.CheckNoExtras();
  return check.Outcome(what);
}

}  // namespace imab::verifier
