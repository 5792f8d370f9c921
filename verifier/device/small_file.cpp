#include "verifier/device/small_file.h"

#include "common/read/input_file.h"

namespace imab::verifier {

Result<std::optional<std::string>> ReadSmallFile(const std::string& path,
                                                 size_t max_bytes) {
  // Device files are never symlinks, FIFOs or devices: any of those was
  // put there to redirect or hang the install.
  Result<std::optional<std::string>> read =
      ReadInputFileIfExists(path, max_bytes, Symlinks::kRefuse);
  if (!read.has_value()) {
    return MakeError(ErrorCode::kIo, read.error().message);
  }
  return read;
}

}  // namespace imab::verifier
