// Runs the procedures of docs/key-rotation.md, exactly as written, against a
// generated image: v1 -> v2 (IMA key) -> v3 (release key, trust root v2) ->
// v4 (kernel CA) -> v5 (revocation), each checked by the verifier.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/run.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/temp_dir.h"

namespace imab::testing {
namespace {

namespace fs = std::filesystem;

TEST(KeyRotationDocTest, ProceduresRunEndToEnd) {
  TempDir dir;
  std::string rootfs = dir.Sub("rootfs");
  SampleTreeOptions small;
  small.big_file_bytes = 10000;
  MakeSampleTree(rootfs, small);
  std::string bin_dirs = fs::path(BuildBin()).parent_path().string() + ":" +
                         fs::path(VerifyBin()).parent_path().string();
  CommandResult run =
      RunShell("PATH=" + ShellQuote(bin_dirs) +
               ":\"$PATH\" ROOTFS=" + ShellQuote(rootfs) + " bash " +
               ShellQuote(SourceDir() + "/scripts/run-doc-blocks.sh") + " " +
               ShellQuote(SourceDir() + "/docs/key-rotation.md") + " " +
               ShellQuote(dir.path().string()));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  for (const char* bundle :
       {"v1.imab", "v2.imab", "v3.imab", "v4.imab", "v5.imab"}) {
    EXPECT_TRUE(fs::exists(dir.Sub(bundle))) << bundle;
  }
  EXPECT_FALSE(fs::exists(dir.Sub("refused.imab")));
}

}  // namespace
}  // namespace imab::testing
