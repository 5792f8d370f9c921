#include "verifier/slots/make_ext4.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/read/handles.h"
#include "verifier/device/run_program.h"

namespace imab::verifier {
namespace {

constexpr size_t kKeptErrorBytes = 4096;

std::string FindMkfs() {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    std::string path = std::string(dir) + "/mkfs.ext4";
    if (::access(path.c_str(), X_OK) == 0) {
      return path;
    }
  }
  return "";
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) {
    pointers.push_back(s.data());
  }
  pointers.push_back(nullptr);
  return pointers;
}

// The child's side, between fork and exec: async-signal-safe calls only
// (the verifier has threads). posix_spawn cannot set a parent-death
// signal, hence fork.
[[noreturn]] void ExecChild(pid_t parent, int err_fd, char** argv,
                            char** envp) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) {
    ::_exit(127);  // the parent died before the signal was armed
  }
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(null_fd, 1) < 0 ||
      ::dup2(err_fd, 2) < 0) {
    ::_exit(127);
  }
  ::execve(argv[0], argv, envp);
  ::_exit(127);
}

// Reads the child's stderr to its end, keeping the start of it.
std::string Drain(int fd) {
  std::string kept;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return kept;
    }
    size_t room = kKeptErrorBytes - std::min(kKeptErrorBytes, kept.size());
    kept.append(buf, std::min(room, static_cast<size_t>(n)));
  }
}

}  // namespace

Status MakeExt4(const std::string& device,
                const std::vector<std::string>& options) {
  const std::string mkfs = FindMkfs();
  if (mkfs.empty()) {
    return MakeError(
        ErrorCode::kIo,
        "mkfs.ext4 not found (install e2fsprogs) to format " + device);
  }
  std::vector<std::string> args = {mkfs, "-F", "-q"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(device);
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                  "LC_ALL=C"};
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return MakeError(ErrorCode::kIo,
                     "mkfs.ext4: pipe: " + std::string(std::strerror(errno)));
  }
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    return MakeError(ErrorCode::kIo,
                     "mkfs.ext4: fork: " + std::string(std::strerror(errno)));
  }
  if (child == 0) {
    ExecChild(parent, write_end.get(), argv.data(), envp.data());
  }
  write_end.reset();
  std::string err = Drain(read_end.get());
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return OkStatus();
  }
  // Described as every other child program is (run_program.h).
  ProgramResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  result.err = std::move(err);
  return MakeError(ErrorCode::kIo,
                   "mkfs.ext4 " + device + ": " + DescribeFailure(result));
}

}  // namespace imab::verifier
