// BootCommands: `imab-verify mark-good`, `mark-bad` and `mark-active a|b`,
// the boot-confirmation commands (manifests/device.conf.md, "Boot
// confirmation"). Declares their flags, then runs the parsed one under
// the install lock and prints what it did.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace imab::verifier::cli {

class BootCommands {
 public:
  // Adds the subcommands to `app`; CLI11 writes into this object, which
  // must not move and must outlive the parse.
  explicit BootCommands(CLI::App& app);
  BootCommands(const BootCommands&) = delete;
  BootCommands& operator=(const BootCommands&) = delete;

  // True when the command line named one of them (valid after the parse).
  bool parsed() const;

  // Runs the parsed command; 0 done, 2 usage, device or I/O trouble.
  int Run();

 private:
  CLI::App* Add(CLI::App& app, const char* name, const char* what);

  std::string root_ = "/";
  std::string slot_;  // mark-active
  bool json_ = false;
  CLI::App* good_ = nullptr;
  CLI::App* bad_ = nullptr;
  CLI::App* active_ = nullptr;
};

}  // namespace imab::verifier::cli
