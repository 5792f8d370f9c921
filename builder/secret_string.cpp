#include "builder/secret_string.h"

#include <openssl/crypto.h>

#include "common/read/input_file.h"

namespace imab::builder {

SecretString::~SecretString() { OPENSSL_cleanse(s_.data(), s_.capacity()); }

Status ReadSecretFile(const std::string& path, SecretString& out) {
  IMAB_ASSIGN_OR_RETURN(InputFile file, OpenInputFile(path));
  Status read = ReadOpenInputFile(file, path, out.max_bytes(), out.str());
  if (!read.ok()) {
    // Within the reserved capacity: clear() keeps the buffer, which the
    // destructor wipes.
    out.str().clear();
  }
  return read;
}

}  // namespace imab::builder
