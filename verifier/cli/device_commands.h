// DeviceCommands: `imab-verify install`, `status` and `device init`.
// Declares their flags, then runs the parsed one and prints its outcome.
#pragma once

#include <optional>
#include <string>

#include "common/read/result.h"
#include "verifier/cli/install_flow.h"
#include "verifier/device/device_init.h"

namespace CLI {
class App;
}

namespace imab::verifier::cli {

class DeviceCommands {
 public:
  // Adds the subcommands and their options to `app`. CLI11 writes the
  // parsed values into this object, which therefore must not move and
  // must outlive the parse.
  explicit DeviceCommands(CLI::App& app);
  DeviceCommands(const DeviceCommands&) = delete;
  DeviceCommands& operator=(const DeviceCommands&) = delete;

  // True when the command line named one of them (valid after the parse).
  bool parsed() const;

  // Runs the parsed command; returns the exit code (0 done, 1 rejected,
  // 2 usage or I/O error; `status` 2 for an inconsistent device).
  int Run();

 private:
  void AddInstall(CLI::App& app);
  void AddInit(CLI::App& app);
  void AddInitInputs(CLI::App* cmd);
  void AddInitBoot(CLI::App* cmd);
  int RunInstall();
  int RunStatus();
  int RunInit();
  // Prints the outcome of `install` or `device init --from-bundle`.
  int ReportInstall(const InstallReport& report,
                    const Result<VerifiedBundle>& installed) const;

  InstallRequest install_;
  std::string status_root_;
  InitOptions init_;
  bool json_ = false;
  bool no_time_check_ = false;
  CLI::App* install_command_ = nullptr;
  CLI::App* status_command_ = nullptr;
  CLI::App* init_command_ = nullptr;
};

}  // namespace imab::verifier::cli
