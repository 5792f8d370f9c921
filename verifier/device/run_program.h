// RunProgram: starts a device tool or script (a boot loader's script,
// fw_setenv, a hook) with posix_spawn, never through a shell, and collects
// its exit status and a bounded amount of what it printed.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/read/result.h"

namespace imab::verifier {

struct ProgramRun {
  // argv[0] is the program: an absolute path, run as is (no PATH search).
  std::vector<std::string> argv;
  // The whole environment, "NAME=value" each; the caller's own is never
  // passed on. Empty: kDefaultProgramEnvironment.
  std::vector<std::string> environment;
  // What the program may print on stdout and on stderr, each; more kills it.
  size_t max_output_bytes = 64u << 10;
  // What it reads on stdin (at most kMaxProgramInputBytes); empty:
  // /dev/null.
  std::string input;
  // How long it may run before it is killed (SIGKILL); 0 for no limit.
  int timeout_seconds = 60;
};

// Fits a pipe's buffer, so that it is written whole before the start.
inline constexpr size_t kMaxProgramInputBytes = 4096;

// PATH of the standard folders and LC_ALL=C, so that a script's tools and
// their messages do not depend on who started the verifier.
extern const std::vector<std::string> kDefaultProgramEnvironment;

struct ProgramResult {
  int exit_code = -1;  // -1 when a signal ended it (or it was not reaped)
  int signal = 0;      // the signal that ended it; 0 when none did
  std::string out;     // stdout
  std::string err;     // stderr
};

// The first executable `name` in the folders of kDefaultProgramEnvironment's
// PATH; kInvalidArgument naming it when there is none.
Result<std::string> FindProgram(const std::string& name);

// Runs `run` to its end. A non-zero exit is a
// result, not an error: the caller decides. kIo naming argv[0] when it
// cannot be started, prints more than the bound, or outlives the timeout
// (it is then killed and reaped).
Result<ProgramResult> RunProgram(const ProgramRun& run);

// "exit status N" (or "killed by signal KILL (9)", "not reaped") and the
// first line of
// `result.err`, escaped (Printable), for a one-line message.
std::string DescribeFailure(const ProgramResult& result);

}  // namespace imab::verifier
