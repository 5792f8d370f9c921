// Running the project's executables and other tools from tests.
#pragma once

#include <string>

namespace imab::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs `command` with /bin/sh -c, capturing stdout and stderr.
CommandResult RunShell(const std::string& command);

// Quotes `arg` for the shell.
std::string ShellQuote(const std::string& arg);

// Paths of the built executables (from the environment ctest sets, else
// next to the test binary's build tree).
std::string BuildBin();
std::string VerifyBin();
// The source tree root (scripts, manifests).
std::string SourceDir();

// A shell prefix for commands run under strace: LeakSanitizer cannot run
// under ptrace and aborts the traced process at exit, so the ASan build
// keeps its other checks only.
inline constexpr const char* kUnderPtrace =
    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 ";

// True when `tool` is on PATH.
bool HaveTool(const std::string& tool);

}  // namespace imab::testing
