#include "tests/testutil/run.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

#include "tests/testutil/temp_dir.h"

namespace imab::testing {

std::string ShellQuote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

CommandResult RunShell(const std::string& command) {
  TempDir dir;
  std::string out_path = dir.Sub("out");
  std::string err_path = dir.Sub("err");
  std::string full = "(" + command + ") >" + ShellQuote(out_path) + " 2>" +
                     ShellQuote(err_path) + " </dev/null";
  int status = std::system(full.c_str());
  CommandResult result;
  if (status != -1 && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

namespace {

std::string FromEnv(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

std::string BuildBin() {
  return FromEnv("IMAB_BUILD_BIN", IMAB_DEFAULT_BUILD_BIN);
}
std::string VerifyBin() {
  return FromEnv("IMAB_VERIFY_BIN", IMAB_DEFAULT_VERIFY_BIN);
}
std::string SourceDir() {
  return FromEnv("IMAB_SOURCE_DIR", IMAB_DEFAULT_SOURCE_DIR);
}

bool HaveTool(const std::string& tool) {
  return RunShell("command -v " + ShellQuote(tool)).exit_code == 0;
}

}  // namespace imab::testing
