#include "common/read/path_parts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace imab {
namespace {

using ::testing::ElementsAre;

TEST(SplitOnTest, KeepsEveryPartIncludingEmptyOnes) {
  EXPECT_THAT(SplitOn("usr/lib/x", '/'), ElementsAre("usr", "lib", "x"));
  EXPECT_THAT(SplitOn("/a//b/", '/'), ElementsAre("", "a", "", "b", ""));
  EXPECT_THAT(SplitOn("", '/'), ElementsAre(""));
  EXPECT_THAT(SplitOn("../.", '/'), ElementsAre("..", "."));
}

TEST(SplitOnTest, SplitsOnTheGivenSeparatorOnly) {
  EXPECT_THAT(SplitOn("/lib:/usr/lib::", ':'),
              ElementsAre("/lib", "/usr/lib", "", ""));
}

TEST(JoinPathTest, JoinsWithSingleSlashes) {
  EXPECT_EQ(JoinPath({"usr", "lib"}), "usr/lib");
  EXPECT_EQ(JoinPath({"etc"}), "etc");
  EXPECT_EQ(JoinPath({}), "");
}

}  // namespace
}  // namespace imab
