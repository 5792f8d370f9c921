// Hooks: the device maker's scripts device.conf names (hook-pre-install,
// hook-post-install, hook-on-fallback), run around an install and when a
// fallback is first noticed, with a documented environment
// (manifests/device.conf.md, "Hooks"). Run through RunProgram
// (run_program.h: posix_spawn, no shell, only that environment, stdin from
// /dev/null, bounded output and time); what they print goes to the
// reporter, so a --json report stays clean.
#pragma once

#include <chrono>
#include <string>

#include "common/read/reporter.h"
#include "common/read/result.h"
#include "verifier/device/device_config.h"

namespace imab::verifier {

enum class HookKind { kPreInstall, kPostInstall, kOnFallback };

// "pre-install", "post-install", "on-fallback" (IMAB_HOOK).
const char* HookName(HookKind kind);

// What a hook is told; an empty value is passed as an empty variable.
struct HookEnvironment {
  std::string slot;         // IMAB_SLOT: the slot written / fallen back from
  std::string booted_slot;  // IMAB_BOOTED_SLOT: "" when unknown
  std::string version;      // IMAB_VERSION: the image version concerned
  std::string bundle;       // IMAB_BUNDLE: the bundle file, as given
  std::string result;       // IMAB_RESULT: ok|refused|error (post-install)
};

// Longest a hook may run before it is killed (SIGKILL) and counted failed.
inline constexpr std::chrono::seconds kHookTimeout{120};

// Runs the hook of `kind` when device.conf names one (else OkStatus,
// nothing run): the file resolved beneath ROOT, with the environment
// IMAB_HOOK, IMAB_SLOT, IMAB_BOOTED_SLOT, IMAB_VERSION, IMAB_BUNDLE,
// IMAB_RESULT, IMAB_ROOT (the device's root), PATH and LC_ALL=C; each
// line it printed goes to `reporter` as Info "hook-KIND: LINE". kIo
// "hook-KIND PATH: ..." when it cannot be started, exits non-zero, is
// killed by a signal, prints more than 64 KiB or runs longer than
// `timeout`; what that means is the caller's.
Status RunHook(const DeviceConfig& config, HookKind kind,
               const HookEnvironment& environment, Reporter& reporter,
               std::chrono::seconds timeout = kHookTimeout);

// The path device.conf gives for `kind` ("" for none).
const std::string& HookPath(const DeviceConfig& config, HookKind kind);

}  // namespace imab::verifier
