#include "common/read/glob_match.h"

#include <gtest/gtest.h>

namespace imab {
namespace {

struct Case {
  const char* pattern;
  const char* path;
  bool match;
};

class GlobMatchTest : public ::testing::TestWithParam<Case> {};

TEST_P(GlobMatchTest, Matches) {
  const Case& c = GetParam();
  EXPECT_EQ(GlobMatch(c.pattern, c.path), c.match)
      << c.pattern << " vs " << c.path;
}

INSTANTIATE_TEST_SUITE_P(
    Table, GlobMatchTest,
    ::testing::Values(
        Case{"usr/bin/ls", "usr/bin/ls", true},
        Case{"usr/bin/ls", "usr/bin/lsx", false},
        Case{"/usr/bin/ls", "usr/bin/ls", true},  // leading '/' ignored
        Case{"usr/bin/*", "usr/bin/ls", true},
        Case{"usr/bin/*", "usr/bin/sub/ls", false},  // '*' stays in a folder
        Case{"usr/**", "usr/bin/sub/ls", true},
        Case{"usr/**/ls", "usr/bin/sub/ls", true},
        Case{"usr/**/ls", "usr/ls", false},
        Case{"**/*.py", "usr/lib/python3/x.py", true},
        Case{"**/*.py", "x.py", false}, Case{"**", "anything/at/all", true},
        Case{"*", "a/b", false}, Case{"var/lib/?", "var/lib/a", true},
        Case{"var/lib/?", "var/lib/ab", false},
        Case{"a?b", "a/b", false},            // '?' never matches '/'
        Case{"**/a*/c", "x/ab/z/a/c", true},  // needs '**' to absorb more
        Case{"*.so*", "libc.so.6", true}, Case{"", "", true},
        Case{"", "a", false}, Case{"a*", "", false}));

}  // namespace
}  // namespace imab
