#include "tests/testutil/digest_of.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace imab::testing {

std::vector<uint8_t> DigestOf(HashAlgo algo, std::string_view message) {
  std::vector<uint8_t> out(HashAlgoDigestSize(algo));
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(message.data(), message.size(), out.data(), &len,
                       HashAlgoMd(algo), nullptr),
            1);
  return out;
}

}  // namespace imab::testing
