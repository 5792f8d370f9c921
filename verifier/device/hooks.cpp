#include "verifier/device/hooks.h"

#include <vector>

#include "common/read/printable.h"
#include "verifier/device/run_program.h"

namespace imab::verifier {
namespace {

std::vector<std::string> Environment(const DeviceConfig& config, HookKind kind,
                                     const HookEnvironment& env) {
  std::vector<std::string> out = kDefaultProgramEnvironment;
  out.insert(out.end(), {
                            std::string("IMAB_HOOK=") + HookName(kind),
                            "IMAB_SLOT=" + env.slot,
                            "IMAB_BOOTED_SLOT=" + env.booted_slot,
                            "IMAB_VERSION=" + env.version,
                            "IMAB_BUNDLE=" + env.bundle,
                            "IMAB_RESULT=" + env.result,
                            "IMAB_ROOT=" + config.root,
                        });
  return out;
}

// What the hook printed, one reporter line each, escaped: the device
// maker's words, shown in ours.
void Forward(const std::string& name, const std::string& text,
             Reporter& reporter) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    reporter.Info(name + ": " +
                  Printable(std::string_view(text).substr(start, end - start)));
    start = end + 1;
  }
}

}  // namespace

const char* HookName(HookKind kind) {
  switch (kind) {
    case HookKind::kPreInstall:
      return "pre-install";
    case HookKind::kPostInstall:
      return "post-install";
    case HookKind::kOnFallback:
      return "on-fallback";
  }
  return "?";
}

const std::string& HookPath(const DeviceConfig& config, HookKind kind) {
  switch (kind) {
    case HookKind::kPreInstall:
      return config.boot.hook_pre_install;
    case HookKind::kPostInstall:
      return config.boot.hook_post_install;
    case HookKind::kOnFallback:
      break;
  }
  return config.boot.hook_on_fallback;
}

Status RunHook(const DeviceConfig& config, HookKind kind,
               const HookEnvironment& environment, Reporter& reporter,
               std::chrono::seconds timeout) {
  const std::string& relative = HookPath(config, kind);
  if (relative.empty()) {
    return OkStatus();
  }
  const std::string name = std::string("hook-") + HookName(kind);
  Result<std::string> path = DevicePath(config, relative);
  if (!path.has_value()) {
    return MakeError(ErrorCode::kIo, name + " " + path.error().message);
  }
  ProgramRun run;
  run.argv = {*path};
  run.environment = Environment(config, kind, environment);
  run.timeout_seconds = static_cast<int>(timeout.count());
  Result<ProgramResult> result = RunProgram(run);
  if (!result.has_value()) {
    return MakeError(ErrorCode::kIo, name + ": " + result.error().message);
  }
  Forward(name, result->out, reporter);
  Forward(name, result->err, reporter);
  if (result->exit_code != 0) {
    return MakeError(ErrorCode::kIo,
                     name + " " + *path + ": " + DescribeFailure(*result));
  }
  return OkStatus();
}

}  // namespace imab::verifier
