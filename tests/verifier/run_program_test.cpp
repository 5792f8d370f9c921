// RunProgram: posix_spawn without a shell, a fixed environment, bounded
// output and time.
#include "verifier/device/run_program.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/status_matchers.h"

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;
using testing::HasValue;
using testing::StatusIs;

ProgramRun Shell(const std::string& script) {
  ProgramRun run;
  run.argv = {"/bin/sh", "-c", script};
  return run;
}

TEST(RunProgramTest, CollectsExitStatusAndBothOutputs) {
  auto result = RunProgram(Shell("echo out; echo err >&2; exit 7"));
  ASSERT_THAT(result, HasValue());
  EXPECT_EQ(result->exit_code, 7);
  EXPECT_EQ(result->out, "out\n");
  EXPECT_EQ(result->err, "err\n");
  EXPECT_EQ(DescribeFailure(*result), "exit status 7: err");
}

TEST(RunProgramTest, ASignalIsNamed) {
  auto result = RunProgram(Shell("echo dying >&2; kill -TERM $$"));
  ASSERT_THAT(result, HasValue());
  EXPECT_EQ(result->exit_code, -1);
  EXPECT_EQ(result->signal, 15);
  EXPECT_EQ(DescribeFailure(*result), "killed by signal TERM (15): dying");
}

TEST(RunProgramTest, ArgumentsReachTheProgramAsTheyAre) {
  ProgramRun run = Shell("printf '%s|' \"$@\"");
  run.argv.insert(run.argv.end(), {"sh", "a b", "$HOME", ";ls"});
  auto result = RunProgram(run);
  ASSERT_THAT(result, HasValue());
  EXPECT_EQ(result->out, "a b|$HOME|;ls|");
}

TEST(RunProgramTest, InputAndEnvironmentAreOnlyWhatTheCallerGives) {
  ProgramRun run = Shell("cat; echo \"[$HOME][$PATH]\"");
  run.input = "line one\n";
  auto result = RunProgram(run);
  ASSERT_THAT(result, HasValue());
  EXPECT_EQ(
      result->out,
      "line one\n[][" + kDefaultProgramEnvironment.front().substr(5) + "]\n");
  auto empty = RunProgram(Shell("cat"));
  ASSERT_THAT(empty, HasValue());
  EXPECT_EQ(empty->out, "");  // stdin is /dev/null
}

TEST(RunProgramTest, TooMuchOutputOrTimeKillsIt) {
  ProgramRun loud = Shell("while :; do echo xxxxxxxxxxxxxxxx; done");
  loud.max_output_bytes = 1000;
  EXPECT_THAT(RunProgram(loud),
              StatusIs(ErrorCode::kIo, HasSubstr("printed more than 1000")));
  ProgramRun slow = Shell("sleep 30");
  slow.timeout_seconds = 1;
  EXPECT_THAT(RunProgram(slow),
              StatusIs(ErrorCode::kIo, HasSubstr("still running after 1 s")));
}

TEST(RunProgramTest, AMissingProgramIsAnError) {
  ProgramRun run;
  run.argv = {"/nonexistent/tool", "x"};
  auto result = RunProgram(run);
  // posix_spawn reports the exec failure either way, as an error or as
  // exit status 127.
  if (result.has_value()) {
    EXPECT_EQ(result->exit_code, 127);
  } else {
    EXPECT_THAT(result, StatusIs(ErrorCode::kIo, HasSubstr("/nonexistent")));
  }
  EXPECT_THAT(FindProgram("sh"), HasValue());
  EXPECT_THAT(FindProgram("no-such-tool-imab"),
              StatusIs(ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace imab::verifier
