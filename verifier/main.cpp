// imab-verify: command-line entry point. Each command group declares its
// flags and runs in verifier/cli/; main parses, dispatches, and maps what
// escapes to an exit code: 0 accepted, 1 rejected, 2 usage or I/O error.
#include <CLI/CLI.hpp>
#include <iostream>
#include <new>

#include "verifier/cli/boot_commands.h"
#include "verifier/cli/bundle_commands.h"
#include "verifier/cli/device_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"imab-verify: verify and install imabundle updates"};
  app.require_subcommand(1);
  imab::verifier::cli::BundleCommands bundle_commands(app);
  imab::verifier::cli::DeviceCommands device_commands(app);
  imab::verifier::cli::BootCommands boot_commands(app);
  bundle_commands.AddInspect(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "imab-verify: usage error: " << e.what() << "\n";
    return 2;
  }
  try {
    if (device_commands.parsed()) {
      return device_commands.Run();
    }
    if (boot_commands.parsed()) {
      return boot_commands.Run();
    }
    return bundle_commands.Run();
  } catch (const std::bad_alloc&) {
    std::cerr << "imab-verify: error: out of memory\n";
    return 2;
  }
}
