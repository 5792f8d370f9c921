#include "verifier/device/run_program.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "common/read/handles.h"
#include "common/read/printable.h"

namespace imab::verifier {

const std::vector<std::string> kDefaultProgramEnvironment = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL=C"};

namespace {

Error RunError(const ProgramRun& run, const std::string& what) {
  return MakeError(ErrorCode::kIo, run.argv.front() + ": " + what);
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> MakePipe(const ProgramRun& run) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return RunError(run, std::string("pipe: ") + std::strerror(errno));
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// The child gets /dev/null, the two pipes, nothing else of ours (no
// descriptor of the verifier's leaks into a device script), an empty
// signal mask and default handlers.
void PrepareChild(SpawnSetup& setup, const Pipe* in, const Pipe& out,
                  const Pipe& err) {
  if (in != nullptr) {
    posix_spawn_file_actions_adddup2(&setup.actions, in->read.get(), 0);
  } else {
    posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY,
                                     0);
  }
  posix_spawn_file_actions_adddup2(&setup.actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&setup.actions, err.write.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&setup.attributes, &signals);
  sigfillset(&signals);
  sigdelset(&signals, SIGKILL);
  sigdelset(&signals, SIGSTOP);
  posix_spawnattr_setsigdefault(&setup.attributes, &signals);
  posix_spawnattr_setflags(&setup.attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) {
    out.push_back(const_cast<char*>(s.c_str()));  // posix_spawn's signature
  }
  out.push_back(nullptr);
  return out;
}

// The whole input goes into the pipe before the child starts (it fits
// the pipe's buffer), so that no write can block on a child that does
// not read.
Status FillInput(const ProgramRun& run, Pipe& in) {
  if (run.input.size() > kMaxProgramInputBytes) {
    return MakeError(ErrorCode::kInternal,
                     run.argv.front() + ": input larger than a pipe holds");
  }
  if (!run.input.empty() &&
      write(in.write.get(), run.input.data(), run.input.size()) !=
          static_cast<ssize_t>(run.input.size())) {
    return RunError(run,
                    std::string("write to stdin: ") + std::strerror(errno));
  }
  in.write.reset();
  return OkStatus();
}

// The exit status into `result`; -1 for a signal (named in
// result.signal), and for a child we could not reap (SIGCHLD ignored by
// the caller reaps it unseen): never taken for 0.
void WaitFor(pid_t pid, ProgramResult& result) {
  int status = 0;
  pid_t reaped = -1;
  do {
    reaped = waitpid(pid, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  result.exit_code = -1;
  if (reaped != pid) {
    return;
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
}

// "killed by signal KILL (9)"; "not reaped" for a status never seen.
std::string DescribeEnd(const ProgramResult& result) {
  if (result.exit_code >= 0) {
    return "exit status " + std::to_string(result.exit_code);
  }
  if (result.signal == 0) {
    return "ended unseen (not reaped)";
  }
  const char* name = sigabbrev_np(result.signal);
  return std::string("killed by signal ") + (name != nullptr ? name : "?") +
         " (" + std::to_string(result.signal) + ")";
}

// Reads both pipes until both reach end of file; false with `why` set when
// the output bound or the deadline is passed.
bool Collect(const ProgramRun& run, UniqueFd& out_fd, UniqueFd& err_fd,
             ProgramResult& result, std::string& why) {
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::seconds(run.timeout_seconds);
  UniqueFd* fds[2] = {&out_fd, &err_fd};
  std::string* sinks[2] = {&result.out, &result.err};
  while (out_fd.valid() || err_fd.valid()) {
    pollfd polled[2] = {{out_fd.get(), POLLIN, 0}, {err_fd.get(), POLLIN, 0}};
    int wait_ms = -1;
    if (run.timeout_seconds > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - Clock::now());
      if (left.count() <= 0) {
        why = "still running after " + std::to_string(run.timeout_seconds) +
              " s, killed";
        return false;
      }
      wait_ms = static_cast<int>(left.count());
    }
    if (poll(polled, 2, wait_ms) < 0 && errno != EINTR) {
      why = std::string("poll: ") + std::strerror(errno);
      return false;
    }
    for (int i = 0; i < 2; ++i) {
      if (!fds[i]->valid() || polled[i].revents == 0) {
        continue;
      }
      char buffer[4096];
      ssize_t got = read(fds[i]->get(), buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        fds[i]->reset();
        continue;
      }
      if (sinks[i]->size() + static_cast<size_t>(got) > run.max_output_bytes) {
        why = "printed more than " + std::to_string(run.max_output_bytes) +
              " bytes, killed";
        return false;
      }
      sinks[i]->append(buffer, static_cast<size_t>(got));
    }
  }
  return true;
}

}  // namespace

Result<std::string> FindProgram(const std::string& name) {
  std::string_view path = kDefaultProgramEnvironment.front();
  path.remove_prefix(std::string_view("PATH=").size());
  while (!path.empty()) {
    std::string_view folder = path.substr(0, path.find(':'));
    path.remove_prefix(std::min(path.size(), folder.size() + 1));
    std::string candidate = std::string(folder) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return MakeError(
      ErrorCode::kInvalidArgument,
      name + ": not found in " + kDefaultProgramEnvironment.front().substr(5));
}

Result<ProgramResult> RunProgram(const ProgramRun& run) {
  if (run.argv.empty()) {
    return MakeError(ErrorCode::kInternal, "RunProgram: no program");
  }
  IMAB_ASSIGN_OR_RETURN(Pipe in, MakePipe(run));
  IMAB_ASSIGN_OR_RETURN(Pipe out, MakePipe(run));
  IMAB_ASSIGN_OR_RETURN(Pipe err, MakePipe(run));
  IMAB_RETURN_IF_ERROR(FillInput(run, in));
  SpawnSetup setup;
  PrepareChild(setup, run.input.empty() ? nullptr : &in, out, err);
  std::vector<char*> argv = CStrings(run.argv);
  std::vector<char*> envp = CStrings(
      run.environment.empty() ? kDefaultProgramEnvironment : run.environment);
  pid_t pid = 0;
  int failed = posix_spawn(&pid, argv.front(), &setup.actions,
                           &setup.attributes, argv.data(), envp.data());
  if (failed != 0) {
    return RunError(run, std::string("cannot start: ") + std::strerror(failed));
  }
  // Our copies of the write ends go, so the reads see end of file when the
  // child (and whatever it started) closes its own.
  out.write.reset();
  err.write.reset();
  ProgramResult result;
  std::string why;
  bool complete = Collect(run, out.read, err.read, result, why);
  if (!complete) {
    kill(pid, SIGKILL);
  }
  WaitFor(pid, result);
  if (!complete) {
    return RunError(run, why);
  }
  return result;
}

std::string DescribeFailure(const ProgramResult& result) {
  std::string line = result.err.substr(0, result.err.find('\n'));
  std::string status = DescribeEnd(result);
  // A script's words, shown in our one-line message: escaped.
  return line.empty() ? status : status + ": " + Printable(line);
}

}  // namespace imab::verifier
