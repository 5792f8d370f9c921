// KeyCommand: `imab-build key create-ca|create-signing|rotate-signing|
// create-release|show`. Declares each subcommand's flags (the contract in
// builder/key_commands.h and builder/key_show.h), then runs the parsed one:
// one library call, its report printed to stdout.
#pragma once

#include <string>

#include "builder/key_commands.h"
#include "builder/key_show.h"

namespace CLI {
class App;
}

namespace imab::builder::cli {

class KeyCommand {
 public:
  // Adds `key` and its subcommands to `app`. CLI11 writes the parsed values
  // into this object, which therefore must not move and must outlive the
  // parse.
  explicit KeyCommand(CLI::App& app);
  KeyCommand(const KeyCommand&) = delete;
  KeyCommand& operator=(const KeyCommand&) = delete;

  // True when the command line named `key` (valid after the parse).
  bool parsed() const;

  // Runs the parsed subcommand and prints its report to stdout, or the
  // error to stderr. Returns the exit code: 0; 1 when `show` found a rule
  // the certificate fails; 2 on any error.
  int Run();

 private:
  void AddCreateCa(CLI::App& key);
  void AddCreateSigning(CLI::App& key);
  void AddRotateSigning(CLI::App& key);
  void AddCreateRelease(CLI::App& key);
  void AddShow(CLI::App& key);
  int RunShow();

  CreateCaOptions ca_;
  CreateSigningOptions signing_;
  RotateSigningOptions rotate_;
  CreateReleaseOptions release_;
  ShowOptions show_;
  CLI::App* key_ = nullptr;
  CLI::App* create_ca_ = nullptr;
  CLI::App* create_signing_ = nullptr;
  CLI::App* rotate_signing_ = nullptr;
  CLI::App* create_release_ = nullptr;
  CLI::App* show_cmd_ = nullptr;
};

}  // namespace imab::builder::cli
