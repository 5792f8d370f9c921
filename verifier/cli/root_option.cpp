#include "verifier/cli/root_option.h"

#include <CLI/CLI.hpp>

namespace imab::verifier::cli {

CLI::Option* AddRootOption(CLI::App* command, std::string& root) {
  root = kSystemRoot;
  return command->add_option(
      "--root", root,
      "The device's root folder, holding etc/imabundle/ (default: /, the "
      "running system)");
}

}  // namespace imab::verifier::cli
