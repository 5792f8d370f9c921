// TempDir: a fresh folder under $TMPDIR removed (recursively) at scope end.
#pragma once

#include <filesystem>
#include <string>

namespace imab::testing {

class TempDir {
 public:
  TempDir();
  // The same under `base` instead of the system temporary folder.
  explicit TempDir(const std::filesystem::path& base);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string.
  std::string Sub(const std::string& name) const;

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path` (creating or truncating it); aborts the test
// on failure via ADD_FAILURE.
void WriteFile(const std::filesystem::path& path, const std::string& content);
std::string ReadFile(const std::filesystem::path& path);

}  // namespace imab::testing
