// The order in which the directory sink writes an entry's metadata, seen
// from outside by strace on the real `imab-verify extract`: content, then
// owner, then mode, then the other xattrs, then security.ima, and
// security.evm last (an EVM-appraising kernel checks the metadata the
// signature covers when security.evm is set). Folders included: theirs is
// written at Commit(), once their children exist.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

enum Step { kContent, kOwner, kMode, kOtherXattr, kImaXattr, kEvmXattr };

const char* StepName(Step step) {
  static const char* const kNames[] = {"content",      "owner",
                                       "mode",         "other xattr",
                                       "security.ima", "security.evm"};
  return kNames[step];
}

struct TracedCall {
  std::string path;
  Step step;
};

// One line of `strace -f -y` naming a call of interest, else nullopt.
std::optional<TracedCall> ParseLine(const std::string& line) {
  // write(5</path>, ...), fchown(5</path>, ...), or a call taking a path.
  static const std::regex kByFd(
      R"(^\d+ +(write|pwrite64|fchown|fchmod|fsetxattr)\(\d+<([^>]*)>(.*))");
  static const std::regex kByPath(
      R"re(^\d+ +(chown|lchown|chmod|setxattr|lsetxattr|fchownat|fchmodat)\((?:AT_FDCWD, )?"([^"]*)"(.*))re");
  std::smatch m;
  if (!std::regex_search(line, m, kByFd) &&
      !std::regex_search(line, m, kByPath)) {
    return std::nullopt;
  }
  const std::string call = m[1];
  TracedCall out{m[2], kContent};
  if (call.find("own") != std::string::npos) {
    out.step = kOwner;
  } else if (call.find("chmod") != std::string::npos) {
    out.step = kMode;
  } else if (call.find("xattr") != std::string::npos) {
    const std::string rest = m[3];
    out.step = rest.rfind(", \"security.evm\"", 0) == 0   ? kEvmXattr
               : rest.rfind(", \"security.ima\"", 0) == 0 ? kImaXattr
                                                          : kOtherXattr;
  }
  return out;
}

class MetadataOrderTest : public DeviceTest {};

TEST_F(MetadataOrderTest, OwnerModeXattrsThenImaThenEvmLast) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root: owners and security.* xattrs are written "
                    "only then";
  }
  if (!HaveTool("strace")) {
    GTEST_SKIP() << "needs strace";
  }
  SampleTreeOptions small;
  small.big_file_bytes = 1u << 16;
  MakeSampleTree(rootfs_, small);
  const std::string bundle = dir_.Sub("v1.imab");
  BuildVersion(rootfs_, bundle, *keys_, "1.0", device_->ImaBuildFlags());
  const std::string log = dir_.Sub("strace.log");
  CommandResult extract = RunShell(
      std::string(kUnderPtrace) + "strace -f -qq -y -s 32 -o " +
      ShellQuote(log) +
      " -e trace=write,pwrite64,chown,lchown,fchown,fchownat,chmod,fchmod,"
      "fchmodat,setxattr,lsetxattr,fsetxattr " +
      ShellQuote(VerifyBin()) + " extract " + ShellQuote(bundle) +
      " --release-ca " + ShellQuote(keys_->ca().cert_path) + " --to " +
      ShellQuote(dir_.Sub("out")));
  ASSERT_EQ(extract.exit_code, 0) << extract.err;

  std::map<std::string, std::vector<Step>> steps;  // by path, staging only
  std::istringstream lines(ReadFile(log));
  std::vector<std::string> out_of_order;
  for (std::string line; std::getline(lines, line);) {
    std::optional<TracedCall> call = ParseLine(line);
    if (!call || call->path.find(".imab-staging-") == std::string::npos) {
      continue;
    }
    std::vector<Step>& seen = steps[call->path];
    if (!seen.empty() && call->step < seen.back()) {
      out_of_order.push_back(call->path + ": " + StepName(call->step) +
                             " after " + StepName(seen.back()));
    }
    if (seen.empty() || seen.back() != call->step) {
      seen.push_back(call->step);
    }
  }
  EXPECT_THAT(out_of_order, IsEmpty());
  auto of = [&](const std::string& image_path) {
    for (const auto& [path, seen] : steps) {
      if (path.size() > image_path.size() &&
          path.compare(path.size() - image_path.size(), image_path.size(),
                       image_path) == 0) {
        return seen;
      }
    }
    return std::vector<Step>{};
  };
  // A signed file with a capability, and a folder with a user.* xattr.
  EXPECT_THAT(
      of("/usr/bin/tool"),
      ElementsAre(kContent, kOwner, kMode, kOtherXattr, kImaXattr, kEvmXattr));
  EXPECT_THAT(of("/etc"), ElementsAre(kOwner, kMode, kOtherXattr));
}

}  // namespace
}  // namespace imab::testing
