// Turns OpenSSL's thread-local error queue into one message line.
#pragma once

#include <string>

#include "common/read/result.h"

namespace imab {

// Drains the whole OpenSSL error queue (so no stale entry reaches the next
// call) and returns its entries joined by "; ", or "no detail" when empty.
std::string DrainOpenSslErrors();

// Error{code, what + ": " + drained queue}.
Error OpenSslError(ErrorCode code, const std::string& what);

}  // namespace imab
