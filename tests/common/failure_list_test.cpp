#include "common/read/failure_list.h"

#include <gtest/gtest.h>

#include <string>

namespace imab {
namespace {

std::string Name(size_t i) { return "f" + std::to_string(i); }

TEST(FailureListTest, NamesAllUpToTheLimit) {
  EXPECT_EQ(ListFirstFailures(0, Name), "");
  EXPECT_EQ(ListFirstFailures(3, Name, " (see --json)"), "f0; f1; f2");
  EXPECT_EQ(ListFirstFailures(kListedFailures, Name),
            "f0; f1; f2; f3; f4; f5; f6; f7; f8; f9");
}

TEST(FailureListTest, CountsTheRestAndDescribesOnlyTheListed) {
  size_t described = 0;
  auto describe = [&](size_t i) {
    ++described;
    return Name(i);
  };
  EXPECT_EQ(ListFirstFailures(100000, describe, " (see --json)", 2),
            "f0; f1; and 99998 more (see --json)");
  EXPECT_EQ(described, 2u);
  EXPECT_EQ(ListFirstFailures(kListedFailures + 1, Name),
            "f0; f1; f2; f3; f4; f5; f6; f7; f8; f9; and 1 more");
}

}  // namespace
}  // namespace imab
