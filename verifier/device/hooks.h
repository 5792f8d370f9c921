// Hooks: the device maker's scripts device.conf names (hook-pre-install,
// hook-post-install, hook-on-fallback), run around an install and when a
// fallback is first noticed, with a documented environment
// (manifests/device.conf.md, "Hooks"). Run with posix_spawn, no shell, a
// fixed environment, stdin from /dev/null, stdout joined to stderr (so a
// --json report stays clean), and a bounded time.
#pragma once

#include <chrono>
#include <string>

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
inline constexpr std::chrono::milliseconds kHookTimeout{120'000};

// Runs the hook of `kind` when device.conf names one (else OkStatus,
// nothing run): the file resolved beneath ROOT, with the environment
// IMAB_HOOK, IMAB_SLOT, IMAB_BOOTED_SLOT, IMAB_VERSION, IMAB_BUNDLE,
// IMAB_RESULT, IMAB_ROOT (the device's root) and PATH. kIo "hook-KIND
// PATH: ..." when it cannot be started, exits non-zero, is killed by a
// signal or runs longer than `timeout`; what that means is the caller's.
Status RunHook(const DeviceConfig& config, HookKind kind,
               const HookEnvironment& environment,
               std::chrono::milliseconds timeout = kHookTimeout);

// The path device.conf gives for `kind` ("" for none).
const std::string& HookPath(const DeviceConfig& config, HookKind kind);

}  // namespace imab::verifier
