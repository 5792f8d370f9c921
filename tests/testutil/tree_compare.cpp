#include "tests/testutil/tree_compare.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "tests/testutil/temp_dir.h"

namespace imab::testing {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> Xattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
  if (n <= 0) {
    return out;
  }
  std::string names(static_cast<size_t>(n), '\0');
  n = ::llistxattr(path.c_str(), names.data(), names.size());
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    ssize_t len = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    std::string value(len > 0 ? static_cast<size_t>(len) : 0, '\0');
    if (len > 0) {
      ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    }
    out[name] = value;
  }
  return out;
}

std::set<std::string> List(const std::string& root) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root);
       it != fs::recursive_directory_iterator(); ++it) {
    // lexically: fs::relative would resolve symlinks (an absolute link
    // target would turn into a path outside the tree).
    out.insert(it->path().lexically_relative(root).string());
  }
  return out;
}

void CompareOne(const std::string& rel, const std::string& a,
                const std::string& b, std::vector<std::string>& diffs) {
  struct stat sa {
  }, sb{};
  ::lstat(a.c_str(), &sa);
  ::lstat(b.c_str(), &sb);
  auto note = [&](const std::string& what) {
    diffs.push_back(rel + ": " + what);
  };
  if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
    note("type differs");
    return;
  }
  if ((sa.st_mode & 07777) != (sb.st_mode & 07777) && !S_ISLNK(sa.st_mode)) {
    note("mode " + std::to_string(sa.st_mode & 07777) + " vs " +
         std::to_string(sb.st_mode & 07777));
  }
  if (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid) {
    note("owner differs");
  }
  if (S_ISREG(sa.st_mode) && ReadFile(a) != ReadFile(b)) {
    note("content differs");
  }
  if (S_ISLNK(sa.st_mode) && fs::read_symlink(a) != fs::read_symlink(b)) {
    note("link target differs");
  }
  if ((S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode)) &&
      sa.st_rdev != sb.st_rdev) {
    note("device numbers differ");
  }
  if (S_ISREG(sa.st_mode) && (sa.st_nlink > 1) != (sb.st_nlink > 1)) {
    note("hardlink count differs");
  }
  if (Xattrs(a) != Xattrs(b)) {
    note("xattrs differ");
  }
}

}  // namespace

std::vector<std::string> CompareTrees(const std::string& a,
                                      const std::string& b) {
  std::vector<std::string> diffs;
  std::set<std::string> la = List(a);
  std::set<std::string> lb = List(b);
  for (const std::string& p : la) {
    if (lb.count(p) == 0) {
      diffs.push_back(p + ": missing from " + b);
    }
  }
  for (const std::string& p : lb) {
    if (la.count(p) == 0) {
      diffs.push_back(p + ": missing from " + a);
    }
  }
  for (const std::string& p : la) {
    if (lb.count(p) != 0) {
      CompareOne(p, a + "/" + p, b + "/" + p, diffs);
    }
  }
  return diffs;
}

void ExpectSameTrees(const std::string& a, const std::string& b) {
  std::vector<std::string> diffs = CompareTrees(a, b);
  EXPECT_TRUE(diffs.empty()) << ::testing::PrintToString(diffs);
}

}  // namespace imab::testing
