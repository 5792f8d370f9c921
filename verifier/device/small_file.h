// Small device files (slot states, pointer, last result): bounded reads and
// durable all-or-nothing replacement, the writes an install depends on to
// survive a crash or power cut (temporary in the same folder, fsync,
// rename(2), fsync of the folder).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/read/result.h"

namespace imab::verifier {

// Temporaries are named PATH + kTemporaryInfix + a unique suffix, so that
// a cleanup after a crash can recognise and remove them.
inline constexpr std::string_view kTemporaryInfix = ".imab-tmp-";

// Replaces (or creates) the file `path` with `bytes` and mode `mode`. On
// success the new content is on disk and visible under `path`; on failure
// (kIo naming the path and the step) `path` is unchanged and the temporary
// removed. A crash at any moment leaves either the old or the new file,
// plus at most one temporary.
Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           unsigned mode = 0644);

// Makes `path` a symlink to `target`, replacing whatever symlink or file is
// there in one rename(2), then fsyncs the folder. Same guarantees as
// WriteFileAtomically.
Status ReplaceSymlinkAtomically(const std::string& path,
                                const std::string& target);

// fsyncs the folder `dir`, making renames and unlinks in it durable. kIo on
// failure.
Status SyncDirectory(const std::string& dir);

// The whole content of `path`, or nullopt when it does not exist. kIo
// naming the path when it cannot be read, is larger than `max_bytes`, or is
// a symlink, FIFO, device or anything but a regular file (opened with
// O_NONBLOCK, so such a file never blocks the read).
Result<std::optional<std::string>> ReadSmallFile(const std::string& path,
                                                 size_t max_bytes);

// The folder part of `path` ("." when it has none).
std::string ParentOf(const std::string& path);

}  // namespace imab::verifier
