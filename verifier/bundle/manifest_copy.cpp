#include "verifier/bundle/manifest_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/read/handles.h"
#include "common/read/limits.h"
#include "common/read/manifest_reader.h"

namespace imab::verifier {
namespace {

Error TempError(const std::string& what) {
  return MakeError(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

// For file systems without O_TMPFILE: the name lives only inside a folder
// no one else may enter, and only until unlink(2) a few lines on.
Result<UniqueFd> NamedThenUnlinked(const std::string& temp_dir) {
  std::string dir_pattern = temp_dir + "/imab-manifest-XXXXXX";
  std::vector<char> dir(dir_pattern.begin(), dir_pattern.end());
  dir.push_back('\0');
  if (::mkdtemp(dir.data()) == nullptr) {
    return TempError(temp_dir + ": cannot make a private folder");
  }
  std::string file_pattern = std::string(dir.data()) + "/copy-XXXXXX";
  std::vector<char> file(file_pattern.begin(), file_pattern.end());
  file.push_back('\0');
  UniqueFd fd(::mkostemp(file.data(), O_CLOEXEC));
  if (!fd.valid()) {
    Error error = TempError(temp_dir + ": cannot make a temporary file");
    ::rmdir(dir.data());
    return error;
  }
  // Both must go, or the copy would stay reachable by name.
  if (::unlink(file.data()) != 0 || ::rmdir(dir.data()) != 0) {
    return TempError(temp_dir + ": cannot unlink the temporary file");
  }
  return fd;
}

Result<UniqueFd> PrivateTemporary(const std::string& temp_dir) {
  UniqueFd fd(::open(temp_dir.c_str(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC,
                     S_IRUSR | S_IWUSR));
  if (fd.valid()) {
    return fd;
  }
  // EOPNOTSUPP: the file system has no O_TMPFILE; EISDIR/EINVAL: the
  // kernel or libc predates it.
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return TempError(temp_dir + ": cannot make a temporary file");
  }
  return NamedThenUnlinked(temp_dir);
}

Status WriteAll(int fd, std::span<const uint8_t> bytes, uint64_t at,
                const std::string& temp_dir) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                         static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return TempError(temp_dir + ": writing the manifest copy");
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace

Result<ManifestCopy> CopyManifest(ByteSource& source, uint64_t offset,
                                  uint64_t size, const std::string& temp_dir) {
  IMAB_RETURN_IF_ERROR(CheckManifestRegion(source, offset, size, "bundle"));
  IMAB_ASSIGN_OR_RETURN(UniqueFd fd, PrivateTemporary(temp_dir));
  IMAB_ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
  std::vector<uint8_t> chunk(kStreamChunkBytes);
  for (uint64_t done = 0; done < size;) {
    size_t want =
        static_cast<size_t>(std::min<uint64_t>(size - done, kStreamChunkBytes));
    std::span<uint8_t> part(chunk.data(), want);
    Status read = source.ReadAt(offset + done, part);
    if (!read.ok()) {
      return WithContext(std::move(read).error(), "manifest");
    }
    IMAB_RETURN_IF_ERROR(WriteAll(fd.get(), part, done, temp_dir));
    hash.Update(part);
    done += want;
  }
  IMAB_ASSIGN_OR_RETURN(auto copy,
                        FileByteSource::Adopt(std::move(fd), "manifest copy"));
  if (copy->size() != size) {
    return MakeError(ErrorCode::kIo, "manifest copy: size changed");
  }
  return ManifestCopy{std::move(copy), hash.Finish()};
}

}  // namespace imab::verifier
