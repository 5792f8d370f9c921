// imab-build: command-line entry point. Declares the command groups
// (builder/cli/: build, key, trust-root), parses the arguments and hands
// the parsed command to its group; no other logic lives here.
#include <CLI/CLI.hpp>
#include <iostream>
#include <new>

#include "builder/cli/build_command.h"
#include "builder/cli/key_command.h"
#include "builder/cli/trust_root_command.h"

int main(int argc, char** argv) {
  CLI::App app{"imab-build: build signed full-image update bundles"};
  app.require_subcommand(1);
  // Declared in the order --help lists them.
  imab::builder::cli::BuildCommand build(app);
  imab::builder::cli::KeyCommand keys(app);
  imab::builder::cli::TrustRootCommand roots(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "imab-build: usage error: " << e.what() << "\n";
    return 2;
  }
  try {
    if (build.parsed()) {
      return build.Run();
    }
    if (keys.parsed()) {
      return keys.Run();
    }
    if (roots.parsed()) {
      return roots.Run();
    }
    // Unreachable: the application requires exactly one subcommand.
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "imab-build: error: out of memory\n";
    return 2;
  }
}
