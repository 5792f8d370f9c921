#include "common/read/result.h"

#include <gtest/gtest.h>

namespace imab {
namespace {

// A policy refusal is a verdict (exit 1, like a revoked key), reported
// under its own name so a report no longer says "key-revoked" for a
// development bundle or a missing required CA.
TEST(ResultTest, PolicyRefusalIsAVerdictWithItsOwnName) {
  EXPECT_TRUE(IsVerificationFailure(ErrorCode::kPolicyRefused));
  EXPECT_TRUE(IsVerificationFailure(ErrorCode::kKeyRevoked));
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kPolicyRefused), "policy-refused");
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kKeyRevoked), "key-revoked");
  EXPECT_FALSE(IsVerificationFailure(ErrorCode::kIo));
}

}  // namespace
}  // namespace imab
