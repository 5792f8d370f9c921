#include "builder/cli/command_support.h"

#include <cstdlib>
#include <iostream>

namespace imab::builder::cli {

int PrintError(const Error& error) {
  std::cerr << "imab-build: error: " << error.message << "\n";
  return 2;
}

std::string DefaultPkcs11Module() {
  const char* module = std::getenv("IMAB_PKCS11_MODULE");
  return module != nullptr && *module != '\0'
             ? module
             : "/usr/lib/softhsm/libsofthsm2.so";
}

}  // namespace imab::builder::cli
