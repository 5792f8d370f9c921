// The --root option of every device command (install, status, device init,
// mark-*): the folder that plays the device's "/". Without it a command
// works on the running system ("system mode"): "/" and
// /etc/imabundle/device.conf (manifests/device.conf.md, "System mode").
#pragma once

#include <string>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace imab::verifier::cli {

// The root a device command uses when --root is not given.
inline constexpr const char* kSystemRoot = "/";

// Adds --root to `command`, writing into `root`, which is set to
// kSystemRoot first so that leaving the option out means the running
// system.
CLI::Option* AddRootOption(CLI::App* command, std::string& root);

}  // namespace imab::verifier::cli
