// Field-by-field comparison of two directory trees (type, mode, owner,
// content, link targets, device numbers, xattrs), for round-trip tests.
#pragma once

#include <string>
#include <vector>

namespace imab::testing {

// Every difference found, one line each ("usr/bin/ls: mode 0755 vs 0700");
// empty when the trees are equal. Hardlinked files compare by content; the
// link relation itself is checked as "same inode" on both sides.
std::vector<std::string> CompareTrees(const std::string& a,
                                      const std::string& b);

// Fails the test (non-fatally), listing the differences, unless the trees
// are equal.
void ExpectSameTrees(const std::string& a, const std::string& b);

}  // namespace imab::testing
