// A digest computed straight with OpenSSL, as an oracle for the code under
// test (which has its own hashing in common/read/digest.h).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/read/hash_algo.h"

namespace imab::testing {

// The `algo` digest of `message` (EVP_Digest); a failure fails the test.
std::vector<uint8_t> DigestOf(HashAlgo algo, std::string_view message);

}  // namespace imab::testing
