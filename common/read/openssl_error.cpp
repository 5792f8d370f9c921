#include "common/read/openssl_error.h"

#include <openssl/err.h>

namespace imab {

std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long err = 0;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out.empty() ? "no detail" : out;
}

Error OpenSslError(ErrorCode code, const std::string& what) {
  return MakeError(code, what + ": " + DrainOpenSslErrors());
}

}  // namespace imab
