// What every imab-build subcommand shares: how an error is printed and
// mapped to an exit code, and the PKCS#11 module "pkcs11:" keys default to.
#pragma once

#include <string>

#include "common/read/result.h"

namespace imab::builder::cli {

// Prints "imab-build: error: MESSAGE" to stderr and returns exit code 2
// (usage, I/O or internal error, style.md).
int PrintError(const Error& error);

// The module for "pkcs11:" key URIs without module-path:
// $IMAB_PKCS11_MODULE when set and not empty, else SoftHSM2's.
std::string DefaultPkcs11Module();

}  // namespace imab::builder::cli
