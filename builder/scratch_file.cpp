#include "builder/scratch_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace imab::builder {

Result<UniqueFd> CreateScratchFile(const std::string& folder) {
  UniqueFd fd(::open(folder.c_str(), O_RDWR | O_TMPFILE | O_CLOEXEC, 0600));
  if (fd.valid()) {
    return fd;
  }
  // Some file systems lack O_TMPFILE.
  std::string pattern = folder + "/.imab-scratch-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  fd.reset(::mkostemp(buf.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return MakeError(ErrorCode::kIo, "cannot create a scratch file in " +
                                         folder + ": " + std::strerror(errno));
  }
  ::unlink(buf.data());
  return fd;
}

}  // namespace imab::builder
