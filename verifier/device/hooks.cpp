#include "verifier/device/hooks.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace imab::verifier {
namespace {

using Clock = std::chrono::steady_clock;

// A posix_spawn_file_actions_t that is always destroyed.
class FileActions {
 public:
  FileActions() { ::posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

std::vector<std::string> Environment(const DeviceConfig& config, HookKind kind,
                                     const HookEnvironment& env) {
  return {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      std::string("IMAB_HOOK=") + HookName(kind),
      "IMAB_SLOT=" + env.slot,
      "IMAB_BOOTED_SLOT=" + env.booted_slot,
      "IMAB_VERSION=" + env.version,
      "IMAB_BUNDLE=" + env.bundle,
      "IMAB_RESULT=" + env.result,
      "IMAB_ROOT=" + config.root,
  };
}

// Waits for `pid` at most `timeout`, then kills it. The exit status, or
// nullopt when it was killed for its time.
std::optional<int> WaitBounded(pid_t pid, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      return status;
    }
    if (done < 0 && errno != EINTR) {
      return -1;  // not a status waitpid(2) can give
    }
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return std::nullopt;
    }
    const timespec pause{0, 5'000'000};  // 5 ms: a hook is a short script
    ::nanosleep(&pause, nullptr);
  }
}

Status Spawn(const std::string& path, const std::string& name,
             const std::vector<std::string>& environment,
             std::chrono::milliseconds timeout) {
  std::vector<char*> envp;
  for (const std::string& item : environment) {
    envp.push_back(const_cast<char*>(item.c_str()));
  }
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
  FileActions actions;
  ::posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY,
                                     0);
  ::posix_spawn_file_actions_adddup2(actions.get(), 2, 1);
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, path.c_str(), actions.get(), nullptr, argv,
                          envp.data());
  const std::string what = name + " " + path + ": ";
  if (err != 0) {
    return MakeError(ErrorCode::kIo,
                     what + "cannot run: " + std::strerror(err));
  }
  std::optional<int> status = WaitBounded(pid, timeout);
  if (!status.has_value()) {
    return MakeError(
        ErrorCode::kIo,
        what + "killed after " + std::to_string(timeout.count() / 1000) + " s");
  }
  if (*status == -1) {
    return MakeError(ErrorCode::kIo,
                     what + "cannot wait: " + std::strerror(errno));
  }
  if (WIFSIGNALED(*status)) {
    return MakeError(ErrorCode::kIo, what + "killed by signal " +
                                         std::to_string(WTERMSIG(*status)));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return MakeError(ErrorCode::kIo, what + "exited with status " +
                                         std::to_string(WEXITSTATUS(*status)));
  }
  return OkStatus();
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
               const HookEnvironment& environment,
               std::chrono::milliseconds timeout) {
  const std::string& relative = HookPath(config, kind);
  if (relative.empty()) {
    return OkStatus();
  }
  const std::string name = std::string("hook-") + HookName(kind);
  Result<std::string> path = DevicePath(config, relative);
  if (!path.has_value()) {
    return MakeError(ErrorCode::kIo, name + " " + path.error().message);
  }
  return Spawn(*path, name, Environment(config, kind, environment), timeout);
}

}  // namespace imab::verifier
