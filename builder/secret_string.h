// SecretString: bytes that must not outlive their use (a PIN, a private
// key's PEM), wiped when they die, and read from a file without a copy.
#pragma once

#include <cstddef>
#include <string>

#include "common/read/result.h"

namespace imab::builder {

// A string that reserves `max_bytes` + 1 once, so nothing up to that size
// reallocates (a reallocation would leave an unwiped copy behind), and
// wipes (OPENSSL_cleanse) its whole buffer when it dies. Not copyable or
// movable: a moved-from short string would keep the bytes.
class SecretString {
 public:
  explicit SecretString(size_t max_bytes) : max_bytes_(max_bytes) {
    s_.reserve(max_bytes + 1);
  }
  ~SecretString();
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;

  size_t max_bytes() const { return max_bytes_; }
  std::string& str() { return s_; }
  const std::string& str() const { return s_; }

 private:
  size_t max_bytes_;
  std::string s_;
};

// Reads the regular file `path` whole into `out`, at most out.max_bytes()
// (common/read/input_file.h, straight into out's buffer). Failures as
// ReadInputFile, one line naming the path; `out` is then emptied.
Status ReadSecretFile(const std::string& path, SecretString& out);

}  // namespace imab::builder
