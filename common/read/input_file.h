// Named input files (bundles, device files, policies, certificates, trust
// roots, keys): opened so that nothing but a regular file gets in, and read
// with a cap, so a FIFO cannot hang a run and /dev/zero cannot fill memory.
// This is the one whole-file reader of the project; every file read whole
// goes through ReadOpenInputFile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab {

enum class Symlinks { kFollow, kRefuse };

struct InputFile {
  UniqueFd fd;
  uint64_t size = 0;  // st_size when opened
};

// Opens `path` read-only with O_NONBLOCK (opening or reading a FIFO or a
// device then never waits for a writer) and O_CLOEXEC, plus O_NOFOLLOW
// with Symlinks::kRefuse, and requires fstat to show a regular file. On
// failure one line naming the path: kIo with the system's reason (errno
// is preserved, so a caller may treat ENOENT specially), kInvalidArgument
// "PATH: not a regular file (a FIFO)" for anything else.
Result<InputFile> OpenInputFile(const std::string& path,
                                Symlinks symlinks = Symlinks::kFollow);

// The same checks for a descriptor the caller opened itself (openat2
// beneath a device root, say; opened read-only with O_NONBLOCK so a FIFO
// cannot block): fstat must show a regular file. Takes `fd`; `path` names
// it in messages.
Result<InputFile> AdoptInputFile(UniqueFd fd, const std::string& path);

// Reads the rest of the opened `file` into `out`, replacing its content, at
// most `max_bytes`. The bytes go straight into out's buffer and nowhere
// else, so a caller reading a secret (a private key, a PIN) that reserved
// max_bytes + 1 in a buffer it wipes leaves no copy behind. `path` names the
// file in messages. On failure `out` holds what was read so far and the
// error is one line naming the path: kLimitExceeded "PATH: larger than N
// bytes" (by st_size before reading, or when it grows past the cap while
// read), kIo "PATH: read failed: REASON".
Status ReadOpenInputFile(const InputFile& file, const std::string& path,
                         size_t max_bytes, std::string& out);

// The whole content of the regular file `path` (opened as OpenInputFile
// does), at most `max_bytes`: kLimitExceeded "PATH: larger than N bytes"
// when its size says so before anything is read, or when it grows past the
// cap while being read. Other failures as OpenInputFile.
Result<std::string> ReadInputFile(const std::string& path, size_t max_bytes,
                                  Symlinks symlinks = Symlinks::kFollow);

// As ReadInputFile, but nullopt when `path` does not exist (ENOENT).
Result<std::optional<std::string>> ReadInputFileIfExists(
    const std::string& path, size_t max_bytes,
    Symlinks symlinks = Symlinks::kFollow);

}  // namespace imab
