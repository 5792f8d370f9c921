#include "tests/kernel/kernel_scenario.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab::testing {
namespace fs = std::filesystem;

namespace {

// Host files the base image takes, as (host path, image path). Debian 12's
// dash, coreutils and glibc: every program needs only libc and ld.so but
// ls, which also maps libselinux and libpcre2.
const std::vector<std::pair<std::string, std::string>>& HostFiles() {
  static const std::vector<std::pair<std::string, std::string>> kFiles = {
      {"/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6"},
      {"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
       "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
      {"/lib/x86_64-linux-gnu/libselinux.so.1",
       "lib/x86_64-linux-gnu/libselinux.so.1"},
      {"/lib/x86_64-linux-gnu/libpcre2-8.so.0",
       "lib/x86_64-linux-gnu/libpcre2-8.so.0"},
      {"/bin/dash", "bin/sh"},
      {"/bin/true", "bin/true"},
      {"/bin/echo", "bin/echo"},
      {"/bin/cat", "bin/cat"},
      {"/bin/uname", "bin/uname"},
      {"/bin/ls", "bin/ls"},
      {"/usr/bin/env", "usr/bin/env"},
  };
  return kFiles;
}

void CopyHostFile(const std::string& from, const std::string& to) {
  fs::create_directories(fs::path(to).parent_path());
  std::error_code ec;
  fs::copy_file(fs::canonical(from), to, fs::copy_options::overwrite_existing,
                ec);
  ASSERT_FALSE(ec) << from << " -> " << to << ": " << ec.message();
  fs::permissions(to, fs::perms(0755), ec);
}

}  // namespace

TestIdentity IssueKey(const Plan& plan, const std::string& name,
                      const TestIdentity& issuer, CertOptions options) {
  if (options.common_name == "imabundle test") {
    options.common_name = "imabundle kernel matrix " + name;
  }
  return MakeIssued(plan.dir, name, issuer, options);
}

std::string MakeInitramfs(
    const std::string& scratch,
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::vector<std::pair<std::string, std::string>>& symlinks) {
  const std::string stage = scratch + "/initramfs-stage";
  fs::remove_all(stage);
  fs::create_directories(stage);
  for (const auto& [path, content] : files) {
    fs::create_directories(fs::path(stage + "/" + path).parent_path());
    WriteFile(stage + "/" + path, content);
  }
  for (const auto& [path, target] : symlinks) {
    fs::create_directories(fs::path(stage + "/" + path).parent_path());
    fs::create_symlink(target, stage + "/" + path);
  }
  const std::string out = scratch + "/initramfs.gz";
  CommandResult pack = RunShell(
      "cd " + ShellQuote(stage) +
      " && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 "
      "--quiet | gzip -9n > " +
      ShellQuote(out));
  EXPECT_EQ(pack.exit_code, 0) << pack.err;
  std::string bytes = ReadFile(out);
  fs::remove_all(stage);
  fs::remove(out);
  return bytes;
}

void MakeBaseTree(const std::string& tree, const std::string& cert_der) {
  fs::create_directories(tree);
  for (const auto& [from, to] : HostFiles()) {
    CopyHostFile(from, tree + "/" + to);
  }
  // Debian's layout: the ELF interpreter every program names is a symlink.
  fs::create_directories(tree + "/lib64");
  fs::create_symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                     tree + "/lib64/ld-linux-x86-64.so.2");
  fs::create_directories(tree + "/sbin");
  WriteFile(tree + "/sbin/init", "#!/bin/sh\necho init ran\n");
  fs::permissions(tree + "/sbin/init", fs::perms(0755));
  fs::create_directories(tree + "/etc");
  WriteFile(tree + "/etc/hostname", "imab-kernel-test\n");
  WriteFile(tree + "/etc/os-release", "ID=imabtest\nVERSION_ID=2\n");
  WriteDeviceInitramfs(tree, cert_der);
}

void WriteDeviceInitramfs(const std::string& tree,
                          const std::string& cert_der) {
  const std::string der = ReadFile(cert_der);
  fs::create_directories(tree + "/boot");
  WriteFile(tree + "/boot/initrd.img",
            MakeInitramfs(tree + "/..", {{"etc/keys/x509_evm.der", der},
                                         {"etc/keys/x509_ima.der", der}}));
}

std::vector<std::string> DefaultExecProbes() {
  return {
      "/sbin/init",    "/bin/true", "/bin/echo probe", "/bin/cat /etc/hostname",
      "/bin/uname -s", "/bin/ls /", "/usr/bin/env",    "/bin/sh -c true"};
}

}  // namespace imab::testing
