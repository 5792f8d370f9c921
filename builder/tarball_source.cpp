#include "builder/tarball_source.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/read/handles.h"
#include "common/read/image_tree.h"
#include "common/read/limits.h"
#include "common/write/archive_handles.h"
#include "common/write/xattr_order.h"

namespace imab::builder {
namespace {

// libarchive's ARCHIVE_ERRNO_FILE_FORMAT (only in its private headers): the
// errno it reports for content it cannot recognise, as opposed to I/O errors.
constexpr int kArchiveFormatErrno = EILSEQ;

std::string ArchiveMessage(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

// "./usr/" -> "usr". Nothing else is rewritten, so a name that is still not
// canonical afterwards is refused rather than silently reinterpreted.
std::string NormaliseName(std::string_view raw) {
  if (raw.starts_with("./")) {
    raw.remove_prefix(2);
  }
  if (raw.ends_with('/')) {
    raw.remove_suffix(1);
  }
  return std::string(raw);
}

// An owner the device can set (FORMAT.md §3.4): 2^32-1 would be taken as
// "unchanged" by chown(2) and leave the installed file root-owned.
Result<uint32_t> CheckedOwnerId(int64_t value, const std::string& what) {
  if (value < 0 || value > int64_t{kMaxOwnerId}) {
    return MakeError(ErrorCode::kInvalidArgument,
                     what + " out of range: " + std::to_string(value) +
                         " (owners are 0.." + std::to_string(kMaxOwnerId) +
                         ")");
  }
  return static_cast<uint32_t>(value);
}

// The current regular file's data, straight from libarchive.
class TarContent : public ContentReader {
 public:
  explicit TarContent(struct archive* a) : archive_(a) {}

  void Start(std::string display, uint64_t size) {
    display_ = std::move(display);
    expected_ = size;
    delivered_ = 0;
    done_ = false;
  }
  void Stop() { done_ = true; }

  Result<size_t> Read(std::span<uint8_t> out) override {
    if (done_ || out.empty()) {
      return size_t{0};
    }
    la_ssize_t n = archive_read_data(archive_, out.data(), out.size());
    if (n < 0) {
      done_ = true;
      return MakeError(ErrorCode::kIo,
                       display_ + ": " + ArchiveMessage(archive_));
    }
    delivered_ += static_cast<uint64_t>(n);
    // The manifest records the header size; data of another length would
    // make the record and the payload disagree.
    if (delivered_ > expected_ || (n == 0 && delivered_ != expected_)) {
      done_ = true;
      return MakeError(ErrorCode::kIo,
                       display_ + ": content size differs from header size " +
                           std::to_string(expected_));
    }
    if (n == 0) {
      done_ = true;
    }
    return static_cast<size_t>(n);
  }

 private:
  struct archive* archive_;
  std::string display_;
  uint64_t expected_ = 0;
  uint64_t delivered_ = 0;
  bool done_ = true;
};

class TarballSource : public RootfsSource {
 public:
  TarballSource(std::string path, Reporter& reporter, ArchiveReadPtr archive)
      : path_(std::move(path)),
        reporter_(reporter),
        archive_(std::move(archive)),
        content_(archive_.get()) {}

  Result<std::optional<SourceEntry>> Next() override {
    if (!pending_.empty()) {
      SourceEntry out = std::move(pending_.front());
      pending_.pop_front();
      return std::optional<SourceEntry>(std::move(out));
    }
    for (;;) {
      content_.Stop();
      struct archive_entry* ae = nullptr;
      int r = archive_read_next_header(archive_.get(), &ae);
      if (r == ARCHIVE_EOF) {
        return std::optional<SourceEntry>();
      }
      if (r == ARCHIVE_WARN) {
        reporter_.Warn(path_ + ": " + ArchiveMessage(archive_.get()));
      } else if (r != ARCHIVE_OK) {
        return HeaderError();
      }
      ++headers_read_;
      IMAB_ASSIGN_OR_RETURN(std::optional<SourceEntry> out, Convert(ae));
      if (!out.has_value()) {
        continue;  // the root folder
      }
      IMAB_RETURN_IF_ERROR(Admit(*out));
      if (pending_.empty()) {
        return out;
      }
      pending_.push_back(std::move(*out));
      SourceEntry first = std::move(pending_.front());
      pending_.pop_front();
      return std::optional<SourceEntry>(std::move(first));
    }
  }

 private:
  enum class Seen { kEntry, kSynthesised };

  Error HeaderError() {
    if (headers_read_ == 0) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          path_ + ": not a tarball: " + ArchiveMessage(archive_.get()));
    }
    return MakeError(ErrorCode::kIo, path_ + ": after entry " +
                                         std::to_string(headers_read_) + ": " +
                                         ArchiveMessage(archive_.get()));
  }

  Error Bad(std::string_view name, const std::string& why) const {
    return MakeError(ErrorCode::kInvalidArgument,
                     path_ + ": entry '" + std::string(name) + "': " + why);
  }

  Result<std::string> CanonicalName(const char* raw, const char* raw_utf8) {
    const char* chosen = raw != nullptr ? raw : raw_utf8;
    if (chosen == nullptr) {
      return Bad("#" + std::to_string(headers_read_), "unreadable name");
    }
    std::string name = NormaliseName(chosen);
    Status canonical = CheckCanonicalPath(name);
    if (!canonical.ok()) {
      // Absolute names and ".." would let the image write outside its root.
      return Bad(chosen, canonical.error().message);
    }
    return name;
  }

  // Builds the entry for one header; nullopt for the root folder.
  Result<std::optional<SourceEntry>> Convert(struct archive_entry* ae) {
    const char* raw = archive_entry_pathname(ae);
    const char* raw_utf8 = archive_entry_pathname_utf8(ae);
    std::string_view raw_view =
        raw != nullptr ? raw : (raw_utf8 != nullptr ? raw_utf8 : "");
    if (raw_view == "." || raw_view == "./") {
      return std::optional<SourceEntry>();
    }
    SourceEntry out;
    Entry& e = out.entry;
    IMAB_ASSIGN_OR_RETURN(e.path, CanonicalName(raw, raw_utf8));
    const char* hardlink = archive_entry_hardlink(ae);
    if (hardlink != nullptr) {
      e.type = EntryType::kHardlink;
      IMAB_ASSIGN_OR_RETURN(
          e.link_target,
          CanonicalName(hardlink, archive_entry_hardlink_utf8(ae)));
      return std::optional<SourceEntry>(std::move(out));
    }
    e.mode = archive_entry_perm(ae) & 07777;
    IMAB_ASSIGN_OR_RETURN(
        e.uid,
        CheckedOwnerId(archive_entry_uid(ae), path_ + ": " + e.path + ": uid"));
    IMAB_ASSIGN_OR_RETURN(
        e.gid,
        CheckedOwnerId(archive_entry_gid(ae), path_ + ": " + e.path + ": gid"));
    IMAB_RETURN_IF_ERROR(SetType(ae, out));
    IMAB_RETURN_IF_ERROR(ReadXattrs(ae, e));
    return std::optional<SourceEntry>(std::move(out));
  }

  Status SetType(struct archive_entry* ae, SourceEntry& out) {
    Entry& e = out.entry;
    switch (archive_entry_filetype(ae)) {
      case AE_IFREG: {
        e.type = EntryType::kFile;
        int64_t size = archive_entry_size(ae);
        if (size < 0) {
          return Bad(e.path, "negative size");
        }
        e.size = static_cast<uint64_t>(size);
        content_.Start(path_ + ": " + e.path, e.size);
        out.content = &content_;
        return OkStatus();
      }
      case AE_IFDIR:
        e.type = EntryType::kDir;
        return OkStatus();
      case AE_IFLNK: {
        e.type = EntryType::kSymlink;
        const char* target = archive_entry_symlink(ae);
        if (target == nullptr) {
          target = archive_entry_symlink_utf8(ae);
        }
        if (target == nullptr) {
          return Bad(e.path, "symlink without a readable target");
        }
        e.link_target = target;
        return OkStatus();
      }
      case AE_IFCHR:
      case AE_IFBLK: {
        e.type = archive_entry_filetype(ae) == AE_IFCHR ? EntryType::kChar
                                                        : EntryType::kBlock;
        dev_t major = archive_entry_rdevmajor(ae);
        dev_t minor = archive_entry_rdevminor(ae);
        if (major > std::numeric_limits<uint32_t>::max() ||
            minor > std::numeric_limits<uint32_t>::max()) {
          return Bad(e.path, "device number out of range");
        }
        e.dev_major = static_cast<uint32_t>(major);
        e.dev_minor = static_cast<uint32_t>(minor);
        return OkStatus();
      }
      case AE_IFIFO:
        e.type = EntryType::kFifo;
        return OkStatus();
      case AE_IFSOCK:
        return Bad(e.path, "is a socket, which a rootfs image cannot hold");
      default:
        return Bad(e.path, "unsupported entry type");
    }
  }

  Status ReadXattrs(struct archive_entry* ae, Entry& e) {
    archive_entry_xattr_reset(ae);
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
      if (name == nullptr) {
        return Bad(e.path, "xattr without a name");
      }
      std::string bytes;
      if (value != nullptr) {
        bytes.assign(static_cast<const char*>(value), size);
      }
      e.xattrs.push_back(Xattr{name, std::move(bytes)});
    }
    SortXattrs(e.xattrs);
    auto dup = std::adjacent_find(
        e.xattrs.begin(), e.xattrs.end(),
        [](const Xattr& a, const Xattr& b) { return a.name == b.name; });
    if (dup != e.xattrs.end()) {
      // Two values for one name: which one the device would see is unclear.
      return Bad(e.path, "duplicate xattr '" + dup->name + "'");
    }
    return OkStatus();
  }

  // Records `out`'s path, refusing duplicates, and queues a folder entry for
  // each ancestor the tarball has not named yet.
  Status Admit(const SourceEntry& out) {
    const Entry& e = out.entry;
    auto it = seen_.find(e.path);
    if (it != seen_.end()) {
      if (it->second == Seen::kSynthesised && e.type == EntryType::kDir) {
        return Bad(e.path,
                   "folder entry after its contents (re-pack the tarball with "
                   "folders first, e.g. tar --sort=name)");
      }
      return Bad(e.path, "duplicate entry");
    }
    std::vector<std::string> missing;
    for (std::string_view parent = ParentPath(e.path); !parent.empty();
         parent = ParentPath(parent)) {
      std::string key(parent);
      if (seen_.count(key) != 0) {
        break;
      }
      missing.push_back(std::move(key));
    }
    std::string list;
    for (auto m = missing.rbegin(); m != missing.rend(); ++m) {
      list += (list.empty() ? "'" : ", '") + *m + "'";
      SourceEntry folder;
      folder.entry.path = *m;
      folder.entry.type = EntryType::kDir;
      folder.entry.mode = 0755;
      seen_.emplace(*m, Seen::kSynthesised);
      pending_.push_back(std::move(folder));
    }
    if (!missing.empty()) {
      reporter_.Warn(path_ + ": entry '" + e.path +
                     "' comes before its folder; created " + list +
                     " as 0755 0:0");
    }
    seen_.emplace(e.path, Seen::kEntry);
    return OkStatus();
  }

  std::string path_;
  Reporter& reporter_;
  ArchiveReadPtr archive_;
  TarContent content_;
  uint64_t headers_read_ = 0;
  // Every path yielded so far, real or synthesised.
  std::unordered_map<std::string, Seen> seen_;
  // Synthesised folders and the entry that needed them, yielded in order.
  std::deque<SourceEntry> pending_;
};

}  // namespace

Result<std::unique_ptr<RootfsSource>> OpenTarballSource(const std::string& path,
                                                        Reporter& reporter) {
  ArchiveReadPtr a(archive_read_new());
  if (a == nullptr) {
    return MakeError(ErrorCode::kInternal, "archive_read_new failed");
  }
  // Tar formats only (ustar, pax, GNU) behind the usual compressors; the
  // support calls return ARCHIVE_WARN when an external program is used.
  for (int r : {archive_read_support_format_tar(a.get()),
                archive_read_support_filter_gzip(a.get()),
                archive_read_support_filter_bzip2(a.get()),
                archive_read_support_filter_xz(a.get()),
                archive_read_support_filter_lzma(a.get()),
                archive_read_support_filter_zstd(a.get())}) {
    if (r < ARCHIVE_WARN) {
      return MakeError(ErrorCode::kInternal,
                       "libarchive setup: " + ArchiveMessage(a.get()));
    }
  }
  // Opening already reads the first block to pick the compressor and the
  // format, so unknown content is reported here.
  if (archive_read_open_filename(a.get(), path.c_str(), kStreamChunkBytes) !=
      ARCHIVE_OK) {
    if (archive_errno(a.get()) == kArchiveFormatErrno) {
      return MakeError(ErrorCode::kInvalidArgument,
                       path + ": not a tarball: " + ArchiveMessage(a.get()));
    }
    return MakeError(ErrorCode::kIo, path + ": " + ArchiveMessage(a.get()));
  }
  return std::unique_ptr<RootfsSource>(
      std::make_unique<TarballSource>(path, reporter, std::move(a)));
}

}  // namespace imab::builder
