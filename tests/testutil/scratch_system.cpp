#include "tests/testutil/scratch_system.h"

#include <unistd.h>

#include <filesystem>

namespace imab::testing {
namespace fs = std::filesystem;

namespace {

// The top-level names a program may need from the host: a merged-/usr
// host has them as symlinks into usr/, copied as such; an older layout
// has folders, bound read-only.
constexpr const char* kSystemNames[] = {"bin",   "sbin",  "lib",
                                        "lib32", "lib64", "libx32"};

}  // namespace

ScratchSystem::ScratchSystem(std::string tree) : tree_(std::move(tree)) {
  for (const char* folder : {"etc", "var/lib", "tmp", "usr", "proc", "dev"}) {
    fs::create_directories(tree_ + "/" + folder);
  }
  fs::permissions(tree_ + "/tmp", fs::perms::all | fs::perms::sticky_bit);
  system_binds_.push_back("/usr");
  std::error_code ec;
  for (const char* name : kSystemNames) {
    const std::string host = std::string("/") + name;
    const fs::file_status status = fs::symlink_status(host, ec);
    if (fs::is_symlink(status)) {
      fs::create_symlink(fs::read_symlink(host), tree_ + host, ec);
    } else if (fs::is_directory(status)) {
      fs::create_directories(tree_ + host, ec);
      system_binds_.push_back(host);
    }
  }
  // Without it the dynamic loader still finds the system libraries, but
  // only in its built-in folders.
  fs::copy_file("/etc/ld.so.cache", tree_ + "/etc/ld.so.cache", ec);
}

std::string ScratchSystem::Unavailable() {
  if (::geteuid() != 0) {
    return "needs root (mount namespaces and bind mounts)";
  }
  if (!HaveTool("unshare") || !HaveTool("chroot")) {
    return "needs unshare and chroot (util-linux, coreutils)";
  }
  if (RunShell("unshare -m --propagation private true").exit_code != 0) {
    return "this kernel or container refuses a private mount namespace";
  }
  return "";
}

void ScratchSystem::ShareReadOnly(const std::string& host,
                                  const std::string& inside) {
  fs::create_directories(HostPath(inside));
  shared_.emplace_back(host, inside);
}

std::string ScratchSystem::HostPath(const std::string& inside) const {
  return tree_ + inside;
}

// Each bind is made read-only by a second, remounting step (a bind mount
// takes no flags of its own); /proc and /dev stay as the host has them. A
// failed step ends the script with 125, which no command under test uses.
std::string ScratchSystem::MountScript() const {
  std::string script;
  auto bind = [&](const std::string& host, const std::string& inside,
                  bool read_only) {
    const std::string at = ShellQuote(HostPath(inside));
    script += "mount --rbind " + ShellQuote(host) + " " + at + " || exit 125\n";
    if (read_only) {
      script += "mount -o remount,bind,ro " + at + " || exit 125\n";
    }
  };
  for (const std::string& folder : system_binds_) {
    bind(folder, folder, true);
  }
  for (const auto& [host, inside] : shared_) {
    bind(host, inside, true);
  }
  bind("/proc", "/proc", false);
  bind("/dev", "/dev", false);
  return script;
}

CommandResult ScratchSystem::Run(const std::string& command) const {
  const std::string script = MountScript() + "exec chroot " +
                             ShellQuote(tree_) + " /bin/sh -c " +
                             ShellQuote(command) + "\n";
  return RunShell("unshare -m --propagation private /bin/sh -c " +
                  ShellQuote(script));
}

}  // namespace imab::testing
