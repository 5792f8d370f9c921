// TrustRootCommand: `imab-build trust-root create|sign|show`. Declares each
// subcommand's flags (the contract in builder/trust_root_commands.h), then
// runs the parsed one: one library call, its report printed to stdout.
#pragma once

#include "builder/trust_root_commands.h"

namespace CLI {
class App;
}

namespace imab::builder::cli {

class TrustRootCommand {
 public:
  // Adds `trust-root` and its subcommands to `app`. CLI11 writes the parsed
  // values into this object, which therefore must not move and must
  // outlive the parse.
  explicit TrustRootCommand(CLI::App& app);
  TrustRootCommand(const TrustRootCommand&) = delete;
  TrustRootCommand& operator=(const TrustRootCommand&) = delete;

  // True when the command line named `trust-root` (valid after the parse).
  bool parsed() const;

  // Runs the parsed subcommand and prints its report to stdout, or the
  // error to stderr. Returns the exit code: 0; 1 when `show` found a check
  // that fails; 2 on any error.
  int Run();

 private:
  void AddCreate(CLI::App& root);
  void AddSign(CLI::App& root);
  void AddShow(CLI::App& root);
  int RunShow();

  TrustRootCreateOptions create_;
  TrustRootSignOptions sign_;
  TrustRootShowOptions show_;
  CLI::App* root_ = nullptr;
  CLI::App* create_cmd_ = nullptr;
  CLI::App* sign_cmd_ = nullptr;
  CLI::App* show_cmd_ = nullptr;
};

}  // namespace imab::builder::cli
