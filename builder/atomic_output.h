// AtomicOutput: a file that appears at its final path complete or not at
// all (temporary file in the same folder, fsync, rename).
#pragma once

#include <string>
#include <utility>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab::builder {

class AtomicOutput {
 public:
  // Creates "<path>.tmp-XXXXXX" beside `path`, mode 0644. kIo naming the
  // folder when it cannot.
  static Result<AtomicOutput> Create(const std::string& path);
  AtomicOutput(AtomicOutput&& other) noexcept
      : fd_(std::move(other.fd_)),
        temp_path_(std::exchange(other.temp_path_, {})),
        final_path_(std::move(other.final_path_)) {}
  AtomicOutput& operator=(AtomicOutput&&) = delete;
  // Removes the temporary file unless Commit() succeeded.
  ~AtomicOutput();

  int fd() const { return fd_.get(); }

  // fsyncs the file, renames it over `path` and fsyncs the folder.
  Status Commit();

 private:
  AtomicOutput(UniqueFd fd, std::string temp_path, std::string final_path)
      : fd_(std::move(fd)),
        temp_path_(std::move(temp_path)),
        final_path_(std::move(final_path)) {}
  UniqueFd fd_;
  std::string temp_path_;   // empty once committed or moved from
  std::string final_path_;
};

// An anonymous scratch file in `folder` (O_TMPFILE, or a created and
// immediately unlinked file), gone when the descriptor closes.
Result<UniqueFd> CreateScratchFile(const std::string& folder);

}  // namespace imab::builder
