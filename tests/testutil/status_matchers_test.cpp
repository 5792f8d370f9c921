// The Status/Result matchers match what they say, and their failures print
// the error's code name and message.
#include "tests/testutil/status_matchers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace imab::testing {
namespace {

using ::testing::DescribeMatcher;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Status Malformed() { return MakeError(ErrorCode::kMalformed, "entry 3: bad"); }
Result<int> Seven() { return 7; }
Result<int> NotSeven() { return MakeError(ErrorCode::kIo, "read failed"); }

// What a matcher adds to gtest's "Actual: <value>" line when `value` does
// not match.
template <class M, class V>
std::string Explain(const M& matcher, const V& value) {
  ::testing::StringMatchResultListener listener;
  const ::testing::Matcher<const V&> m = matcher;
  EXPECT_FALSE(m.MatchAndExplain(value, &listener));
  return listener.str();
}

TEST(StatusMatchersTest, IsOkMatchesOnlySuccess) {
  EXPECT_THAT(OkStatus(), IsOk());
  EXPECT_THAT(Seven(), IsOk());
  EXPECT_THAT(Malformed(), Not(IsOk()));
  EXPECT_THAT(NotSeven(), Not(IsOk()));
  EXPECT_EQ(Explain(IsOk(), Malformed()), "");
}

TEST(StatusMatchersTest, HasValueMatchesTheValue) {
  EXPECT_THAT(Seven(), HasValue());
  EXPECT_THAT(Seven(), HasValue(Eq(7)));
  EXPECT_THAT(Seven(), Not(HasValue(Eq(8))));
  EXPECT_THAT(NotSeven(), Not(HasValue()));
  EXPECT_EQ(Explain(HasValue(), NotSeven()), "");
  EXPECT_EQ(DescribeMatcher<const Result<int>&>(HasValue(Eq(8))),
            "has a value that is equal to 8");
}

TEST(StatusMatchersTest, StatusIsMatchesCodeAndMessage) {
  EXPECT_THAT(Malformed(), StatusIs(ErrorCode::kMalformed));
  EXPECT_THAT(Malformed(), StatusIs(ErrorCode::kMalformed, "entry 3: bad"));
  EXPECT_THAT(Malformed(),
              StatusIs(ErrorCode::kMalformed, HasSubstr("entry 3")));
  EXPECT_THAT(Malformed(), Not(StatusIs(ErrorCode::kIo)));
  EXPECT_THAT(Malformed(),
              Not(StatusIs(ErrorCode::kMalformed, HasSubstr("entry 4"))));
  EXPECT_THAT(NotSeven(), StatusIs(ErrorCode::kIo, StartsWith("read")));
  EXPECT_THAT(OkStatus(), Not(StatusIs(ErrorCode::kInternal)));
  EXPECT_THAT(Seven(), Not(StatusIs(ErrorCode::kInternal)));
}

TEST(StatusMatchersTest, StatusIsFailureSaysWhichHalfDiffers) {
  EXPECT_EQ(Explain(StatusIs(ErrorCode::kIo), Malformed()),
            "whose code is not io");
  EXPECT_EQ(
      Explain(StatusIs(ErrorCode::kMalformed, HasSubstr("x")), Malformed()),
      "whose message does not match");
  EXPECT_EQ(Explain(StatusIs(ErrorCode::kIo), OkStatus()), "");
  EXPECT_EQ(DescribeMatcher<const Status&>(
                StatusIs(ErrorCode::kMalformed, HasSubstr("entry"))),
            "is error malformed with a message that has substring \"entry\"");
}

TEST(StatusMatchersTest, GtestPrintsCodeNameAndMessage) {
  EXPECT_EQ(::testing::PrintToString(Malformed()),
            "error malformed: \"entry 3: bad\"");
  EXPECT_EQ(::testing::PrintToString(OkStatus()), "ok");
  EXPECT_EQ(::testing::PrintToString(Seven()), "a value: 7");
}

}  // namespace
}  // namespace imab::testing
