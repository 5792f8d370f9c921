#include "builder/atomic_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace imab::builder {
namespace {

Error IoError(const std::string& what) {
  return MakeError(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

std::string FolderOf(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

Result<AtomicOutput> AtomicOutput::Create(const std::string& path) {
  std::string pattern = path + ".tmp-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  UniqueFd fd(::mkostemp(buf.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return IoError("cannot create a file in " + FolderOf(path));
  }
  // mkostemp creates 0600; a bundle is public data.
  if (::fchmod(fd.get(), 0644) != 0) {
    ::unlink(buf.data());
    return IoError(std::string(buf.data()));
  }
  return AtomicOutput(std::move(fd), std::string(buf.data()), path);
}

AtomicOutput::~AtomicOutput() {
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
  }
}

Status AtomicOutput::Commit() {
  if (::fsync(fd_.get()) != 0) {
    return IoError(final_path_);
  }
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return IoError("cannot rename into " + final_path_);
  }
  temp_path_.clear();
  UniqueFd dir(::open(FolderOf(final_path_).c_str(),
                      O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid() && ::fsync(dir.get()) != 0) {
    return IoError(FolderOf(final_path_));
  }
  return OkStatus();
}

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
    return IoError("cannot create a scratch file in " + folder);
  }
  ::unlink(buf.data());
  return fd;
}

}  // namespace imab::builder
