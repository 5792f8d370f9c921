// DirectorySink: extracts checked entries into a staging folder beside the
// target and renames it into place only on Commit() (`imab-verify extract`,
// and the image writer of the directory A/B slots).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/handles.h"
#include "common/read/reporter.h"
#include "common/read/result.h"
#include "verifier/bundle/entry_sink.h"

namespace imab::verifier {

// The staging folder of TARGET is TARGET + kStagingInfix + 6 random
// characters, so that a cleanup after a crash can find it.
inline constexpr std::string_view kStagingInfix = ".imab-staging-";

// The file-type bits (S_IFREG, S_IFDIR, ...) an entry of `type` is
// written as; a hard link is a regular file.
mode_t EntryTypeBits(EntryType type);

class DirectorySink : public EntrySink {
 public:
  // `target` must not exist, or be an empty folder (kInvalidArgument
  // otherwise). Nothing is created until Start(), which makes
  // "<target>.imab-staging-XXXXXX" (mode 0700) beside it (kIo if it
  // cannot). Durability: Commit() syncs the file system (syncfs: every
  // file, folder and their metadata) before the rename, and fsyncs the
  // parent folder after it, so a committed tree survives a power cut and
  // an uncommitted one never appears under `target`. When not running as root,
  // owners and security.* / trusted.* xattrs cannot be restored: they are
  // skipped and one warning goes to `reporter` (borrowed). An entry's
  // metadata is written once its content is complete (a folder's at
  // Commit(), children first), as root in the order a kernel appraising
  // with EVM needs: owner, mode, the other xattrs, security.ima, and
  // security.evm last. Every entry gets the manifest's `created` as its
  // mtime. After its metadata is written, each
  // entry is stat'ed (not following symlinks): type, mode and (as root)
  // owner must equal its record, else kIo "PATH: written file differs from
  // the manifest: ..." and nothing is committed.
  static Result<std::unique_ptr<DirectorySink>> Create(
      const std::string& target, Reporter& reporter);
  // As Create(), for a `target` that may hold an older tree: it stays
  // untouched until Commit() has synced the new tree, then
  // `clear_target` runs (it must leave `target` missing or an empty
  // folder) just before the rename. A refused or aborted write therefore
  // leaves the older tree as it was. Used by install: when not running as
  // root, Begin() refuses (kInvalidArgument "install must run as root: PATH
  // needs owner 0:0 and security.ima ...") the first entry whose owner is
  // not the caller's or that carries a security.* / trusted.* xattr, rather
  // than installing an image that would not boot.
  static Result<std::unique_ptr<DirectorySink>> CreateReplacing(
      const std::string& target, Reporter& reporter,
      std::function<Status()> clear_target);
  ~DirectorySink() override;
  // Bytes this sink puts before each image path when writing below
  // `target`: the staging folder's path and '/' (writable_entries.h).
  static size_t PathReserve(const std::string& target);

  Status Start(const ManifestHeader& header) override;
  Status Begin(const Entry& entry) override;
  Status Content(std::span<const uint8_t> data) override;
  Status End(const Entry& entry) override;
  Status Commit() override;
  void Abort() override;

  const std::string& staging_path() const { return staging_; }

 private:
  DirectorySink(std::string target, Reporter& reporter);
  std::string PathOf(const Entry& entry) const;
  Status ApplyMetadata(const Entry& entry, const std::string& path);
  Status SetXattrs(const Entry& entry, const std::string& path);

  std::string target_;
  std::function<Status()> clear_target_;  // CreateReplacing() only
  std::string staging_;                   // empty before Start() and once done
  uint64_t mtime_ = 0;
  Reporter& reporter_;
  bool privileged_;
  bool warned_unprivileged_ = false;
  bool require_full_metadata_ = false;  // CreateReplacing() only
  UniqueFd file_;                       // the kFile being written
  struct DirMeta {
    std::string path;
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    std::vector<Xattr> xattrs;
  };
  std::vector<DirMeta> dirs_;  // metadata applied at Commit()
};

}  // namespace imab::verifier
