// AtomicFile: a file that appears at its final path complete or not at all,
// and durably (temporary in the same folder, fsync, rename(2), fsync of the
// folder). The one way the project replaces a file: the builder's bundles
// and trust roots, the device's slot states, pointer and last result. It is
// on the read side because the device writes its own state with it.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab {

// Temporaries are named PATH + kTemporaryInfix + a unique suffix, so that a
// cleanup after a crash can recognise and remove them.
inline constexpr std::string_view kTemporaryInfix = ".imab-tmp-";

class AtomicFile {
 public:
  // Opens the folder of `path` (so that Commit can fsync it) and creates
  // the temporary beside `path` with mode `mode`. Nothing is visible under
  // `path` until Commit. kIo naming the folder or the path when it cannot.
  static Result<AtomicFile> Create(const std::string& path,
                                   unsigned mode = 0644);
  AtomicFile(AtomicFile&& other) noexcept
      : fd_(std::move(other.fd_)),
        folder_(std::move(other.folder_)),
        temp_path_(std::exchange(other.temp_path_, {})),
        final_path_(std::move(other.final_path_)) {}
  AtomicFile& operator=(AtomicFile&&) = delete;
  // Removes the temporary unless Commit() renamed it.
  ~AtomicFile();

  // The temporary's descriptor, for callers that stream into it; valid
  // until Commit.
  int fd() const { return fd_.get(); }

  // Appends all of `bytes` to the temporary. kIo naming it on failure.
  Status Write(std::string_view bytes);

  // fsyncs the temporary (its content must be on disk before the name
  // points at it), renames it over the final path and fsyncs the folder.
  // On failure before the rename the final path is unchanged and the
  // temporary is removed when this object dies; kIo naming the step.
  Status Commit();

 private:
  AtomicFile(UniqueFd fd, UniqueFd folder, std::string temp_path,
             std::string final_path)
      : fd_(std::move(fd)),
        folder_(std::move(folder)),
        temp_path_(std::move(temp_path)),
        final_path_(std::move(final_path)) {}
  UniqueFd fd_;
  UniqueFd folder_;        // O_RDONLY | O_DIRECTORY, for fsync
  std::string temp_path_;  // empty once committed or moved from
  std::string final_path_;
};

// Replaces (or creates) the file `path` with `bytes` and mode `mode`
// through an AtomicFile. A crash at any moment leaves either the old or the
// new file, plus at most one temporary.
Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           unsigned mode = 0644);

// Makes `path` a symlink to `target`, replacing whatever symlink or file is
// there in one rename(2), then fsyncs the folder. Same guarantees as
// WriteFileAtomically.
Status ReplaceSymlinkAtomically(const std::string& path,
                                const std::string& target);

// The folder part of the file-system path `path`: "." when it has none, "/"
// for a name in the root. The folder to sync after a rename to `path`.
std::string FolderOf(const std::string& path);

// fsyncs the folder `dir`, making renames and unlinks in it durable. kIo on
// failure.
Status SyncDirectory(const std::string& dir);

}  // namespace imab
