// BuildCommand: `imab-build build`. Declares the subcommand's flags, then
// turns the parsed command line into one BuildBundle call and prints the
// build summary (the flags and the output lines are a contract: scripts and
// the integration tests use them).
#pragma once

#include <string>

#include "builder/bundle_builder.h"

namespace CLI {
class App;
}

namespace imab::builder::cli {

class BuildCommand {
 public:
  // Adds `build` and its options to `app`. CLI11 writes the parsed values
  // into this object, which therefore must not move and must outlive the
  // parse.
  explicit BuildCommand(CLI::App& app);
  BuildCommand(const BuildCommand&) = delete;
  BuildCommand& operator=(const BuildCommand&) = delete;

  // True when the command line named `build` (valid after the parse).
  bool parsed() const;

  // Builds the bundle and prints the summary to stdout, or the error to
  // stderr. Returns the exit code: 0, or 2 on any error.
  int Run();

 private:
  void AddBundleOptions();
  void AddImaOptions();
  void AddBootChainOptions();
  void AddReleaseOptions();
  void AddCaStoreOptions();

  BuildOptions options_;
  std::string ca_store_mode_;  // --ca-store: "regenerate", "keep" or unset
  CLI::App* command_ = nullptr;
};

}  // namespace imab::builder::cli
