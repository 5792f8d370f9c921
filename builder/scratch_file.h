// Scratch files: anonymous files the builder spools data through, gone
// when their descriptor closes. (Files that must appear complete or not at
// all go through common/read/atomic_file.h.)
#pragma once

#include <string>

#include "common/read/handles.h"
#include "common/read/result.h"

namespace imab::builder {

// An anonymous scratch file in `folder` (O_TMPFILE, or a created and
// immediately unlinked file), gone when the descriptor closes.
Result<UniqueFd> CreateScratchFile(const std::string& folder);

}  // namespace imab::builder
