#include "tests/testutil/sample_tree.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "tests/testutil/temp_dir.h"

namespace imab::testing {

namespace fs = std::filesystem;

void MakeSampleTree(const std::string& root, SampleTreeOptions options) {
  fs::create_directories(root + "/usr/bin");
  fs::create_directories(root + "/usr/lib/deep/er/still");
  fs::create_directories(root + "/etc");
  fs::create_directories(root + "/home/user/docs");
  fs::create_directories(root + "/dev");
  WriteFile(root + "/etc/hostname", "device\n");
  WriteFile(root + "/etc/empty", "");
  WriteFile(root + "/usr/lib/deep/er/still/file.txt", "deep\n");
  WriteFile(root + "/home/user/docs/name with spaces %.txt", "odd name\n");
  std::mt19937_64 rng(42);
  std::string big(options.big_file_bytes, '\0');
  for (size_t i = 0; i + 8 <= big.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(big.data() + i, &v, 8);
  }
  WriteFile(root + "/usr/lib/big.bin", big);
  WriteFile(root + "/usr/bin/tool", std::string(70000, 'x') + "tool");
  ::chmod((root + "/usr/bin/tool").c_str(), 0755);
  // The init the kernel falls back to: a device refuses an image without
  // one (a stand-in, not a program).
  fs::create_directories(root + "/bin");
  WriteFile(root + "/bin/sh", "sample init\n");
  ::chmod((root + "/bin/sh").c_str(), 0755);
  WriteFile(root + "/usr/bin/suid", "setuid program");
  ::chmod((root + "/usr/bin/suid").c_str(), 04755);
  WriteFile(root + "/home/user/notes", "notes\n");
  EXPECT_EQ(::link((root + "/home/user/notes").c_str(),
                   (root + "/home/user/notes-link").c_str()),
            0);
  EXPECT_EQ(::lchown((root + "/home/user").c_str(), 1000, 1000), 0);
  EXPECT_EQ(::lchown((root + "/home/user/notes").c_str(), 1000, 1001), 0);
  EXPECT_EQ(::lchown((root + "/home/user/docs").c_str(), 1000, 1000), 0);
  fs::create_symlink("../lib/big.bin", root + "/usr/bin/relative-link");
  fs::create_symlink("/etc/hostname", root + "/etc/absolute-link");
  EXPECT_EQ(::mkfifo((root + "/dev/fifo").c_str(), 0640), 0);
  if (options.device_nodes) {
    EXPECT_EQ(
        ::mknod((root + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)),
        0);
  }
  std::string cap(
      "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00",
      20);
  EXPECT_EQ(::lsetxattr((root + "/usr/bin/tool").c_str(), "security.capability",
                        cap.data(), cap.size(), 0),
            0);
  EXPECT_EQ(::lsetxattr((root + "/usr/bin/tool").c_str(), "user.comment",
                        "a tool", 6, 0),
            0);
  EXPECT_EQ(
      ::lsetxattr((root + "/etc").c_str(), "user.binary", "\x00\xff\x01", 3, 0),
      0);
}

void PutFile(const std::string& root, const std::string& path,
             const std::string& content, fs::perms mode) {
  const std::string full = root + "/" + path;
  fs::create_directories(fs::path(full).parent_path());
  WriteFile(full, content);
  fs::permissions(full, mode);
}

void MakeBootableSampleTree(const std::string& root,
                            const std::vector<std::string>& extra_executables) {
  SampleTreeOptions small;
  small.big_file_bytes = 1000;
  small.device_nodes = false;
  MakeSampleTree(root, small);
  std::vector<std::string> executables = {
      "usr/lib/x86_64-linux-gnu/libc.so.6", "lib64/ld-linux-x86-64.so.2",
      "usr/lib/systemd/systemd", "usr/bin/imab-verify"};
  executables.insert(executables.end(), extra_executables.begin(),
                     extra_executables.end());
  for (const std::string& path : executables) {
    PutFile(root, path, "ELF " + path, fs::perms(0755));
  }
  fs::create_directories(root + "/sbin");
  fs::create_symlink("../usr/lib/systemd/systemd", root + "/sbin/init");
}

}  // namespace imab::testing
