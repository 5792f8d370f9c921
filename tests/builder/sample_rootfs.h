// A small rootfs with every entry type, owner, mode bit and xattr kind the
// rootfs sources must carry, shared by the folder and tarball source tests.
// Needs root (chown, mknod, security.* xattrs).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "builder/rootfs_source.h"
#include "common/read/entry.h"
#include "tests/testutil/temp_dir.h"

namespace imab::testing {

struct ExpectedEntry {
  Entry entry;
  std::string content;
};

// security.capability v2 granting cap_net_raw: binary, with NUL bytes.
inline const std::string kCapValue = std::string(
    "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00",
    20);
inline const std::string kUserValue = std::string("\x00\x01\xff\n", 4);

inline void CheckSys(int rc, const std::string& what) {
  if (rc != 0) {
    ADD_FAILURE() << what << ": " << std::strerror(errno);
  }
}

inline void MakeDir(const std::filesystem::path& p, mode_t mode) {
  CheckSys(::mkdir(p.c_str(), 0700), "mkdir " + p.string());
  CheckSys(::chmod(p.c_str(), mode), "chmod " + p.string());
}

inline void MakeFile(const std::filesystem::path& p, const std::string& data,
                     mode_t mode, uid_t uid = 0, gid_t gid = 0) {
  WriteFile(p, data);
  CheckSys(::lchown(p.c_str(), uid, gid), "chown " + p.string());
  // After chown: chown clears the setuid bit.
  CheckSys(::chmod(p.c_str(), mode), "chmod " + p.string());
}

inline void SetXattr(const std::filesystem::path& p, const char* name,
                     const std::string& value) {
  CheckSys(::lsetxattr(p.c_str(), name, value.data(), value.size(), 0),
           std::string("setxattr ") + name);
}

// Creates the sample tree inside the existing folder `root`.
inline void BuildSampleRootfs(const std::filesystem::path& root) {
  MakeFile(root / "Zed", "zed\n", 0644);
  MakeDir(root / "a", 0755);
  MakeFile(root / "a" / "x", "x", 0600);
  MakeFile(root / "a-b", "ab", 0644);
  MakeDir(root / "bin", 0755);
  MakeFile(root / "bin" / "ping", "ping binary", 0755);
  SetXattr(root / "bin" / "ping", "security.capability", kCapValue);
  MakeFile(root / "bin" / "sh", "#!/bin/sh\necho hi\n", 0755);
  MakeFile(root / "bin" / "su", "su", 04755);
  MakeDir(root / "dev", 0755);
  CheckSys(::mkfifo((root / "dev" / "fifo").c_str(), 0600), "mkfifo");
  CheckSys(::chmod((root / "dev" / "fifo").c_str(), 0600), "chmod fifo");
  CheckSys(
      ::mknod((root / "dev" / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)),
      "mknod");
  CheckSys(::chmod((root / "dev" / "null").c_str(), 0666), "chmod null");
  MakeFile(root / "empty", "", 0644);
  MakeDir(root / "etc", 0755);
  MakeDir(root / "etc" / "nested", 0755);
  MakeDir(root / "etc" / "nested" / "deeper", 0750);
  MakeFile(root / "etc" / "nested" / "deeper" / "file.txt",
           std::string(100000, 'q'), 0644);
  MakeFile(root / "etc" / "passwd", "root:x:0:0::/root:/bin/sh\n", 0640, 1000,
           2000);
  SetXattr(root / "etc" / "passwd", "user.comment", kUserValue);
  MakeDir(root / "hard", 0755);
  MakeFile(root / "hard" / "a", "linked", 0644, 7, 8);
  CheckSys(::link((root / "hard" / "a").c_str(), (root / "hard" / "b").c_str()),
           "link");
  MakeDir(root / "lib", 0755);
  CheckSys(::symlink("/bin/sh", (root / "lib" / "link-abs").c_str()),
           "symlink");
  CheckSys(::symlink("../bin/sh", (root / "lib" / "link-rel").c_str()),
           "symlink");
  MakeFile(root / "odd\nname", "newline", 0644);
  MakeDir(root / "secret", 0700);
  CheckSys(::lchown((root / "secret").c_str(), 5, 6), "chown secret");
  SetXattr(root / "secret", "user.dir", "d");
  SetXattr(root / "secret", "user.another", "");
}

inline ExpectedEntry Expect(std::string path, EntryType type, uint32_t mode,
                            uint32_t uid = 0, uint32_t gid = 0) {
  ExpectedEntry x;
  x.entry.path = std::move(path);
  x.entry.type = type;
  x.entry.mode = mode;
  x.entry.uid = uid;
  x.entry.gid = gid;
  return x;
}

inline ExpectedEntry ExpectFile(std::string path, std::string content,
                                uint32_t mode, uint32_t uid = 0,
                                uint32_t gid = 0) {
  ExpectedEntry x = Expect(std::move(path), EntryType::kFile, mode, uid, gid);
  x.entry.size = content.size();
  x.content = std::move(content);
  return x;
}

inline ExpectedEntry ExpectLink(std::string path, EntryType type,
                                std::string target) {
  ExpectedEntry x =
      Expect(std::move(path), type, type == EntryType::kSymlink ? 0777 : 0);
  x.entry.link_target = std::move(target);
  return x;
}

// The sample tree in FolderSource order: depth first, names byte-sorted.
inline std::vector<ExpectedEntry> SampleRootfsEntries() {
  std::vector<ExpectedEntry> v;
  v.push_back(ExpectFile("Zed", "zed\n", 0644));
  v.push_back(Expect("a", EntryType::kDir, 0755));
  v.push_back(ExpectFile("a/x", "x", 0600));
  v.push_back(ExpectFile("a-b", "ab", 0644));
  v.push_back(Expect("bin", EntryType::kDir, 0755));
  v.push_back(ExpectFile("bin/ping", "ping binary", 0755));
  v.back().entry.xattrs = {Xattr{"security.capability", kCapValue}};
  v.push_back(ExpectFile("bin/sh", "#!/bin/sh\necho hi\n", 0755));
  v.push_back(ExpectFile("bin/su", "su", 04755));
  v.push_back(Expect("dev", EntryType::kDir, 0755));
  v.push_back(Expect("dev/fifo", EntryType::kFifo, 0600));
  v.push_back(Expect("dev/null", EntryType::kChar, 0666));
  v.back().entry.dev_major = 1;
  v.back().entry.dev_minor = 3;
  v.push_back(ExpectFile("empty", "", 0644));
  v.push_back(Expect("etc", EntryType::kDir, 0755));
  v.push_back(Expect("etc/nested", EntryType::kDir, 0755));
  v.push_back(Expect("etc/nested/deeper", EntryType::kDir, 0750));
  v.push_back(
      ExpectFile("etc/nested/deeper/file.txt", std::string(100000, 'q'), 0644));
  v.push_back(ExpectFile("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0640,
                         1000, 2000));
  v.back().entry.xattrs = {Xattr{"user.comment", kUserValue}};
  v.push_back(Expect("hard", EntryType::kDir, 0755));
  v.push_back(ExpectFile("hard/a", "linked", 0644, 7, 8));
  v.push_back(ExpectLink("hard/b", EntryType::kHardlink, "hard/a"));
  v.push_back(Expect("lib", EntryType::kDir, 0755));
  v.push_back(ExpectLink("lib/link-abs", EntryType::kSymlink, "/bin/sh"));
  v.push_back(ExpectLink("lib/link-rel", EntryType::kSymlink, "../bin/sh"));
  v.push_back(ExpectFile("odd\nname", "newline", 0644));
  v.push_back(Expect("secret", EntryType::kDir, 0700, 5, 6));
  v.back().entry.xattrs = {Xattr{"user.another", ""}, Xattr{"user.dir", "d"}};
  return v;
}

// Drains `source`, reading each file's content in small chunks so the
// readers are exercised across many calls. Fails the test on any error.
inline std::vector<ExpectedEntry> DrainSource(builder::RootfsSource& source,
                                              Error* error = nullptr) {
  std::vector<ExpectedEntry> out;
  for (;;) {
    auto next = source.Next();
    if (!next.has_value()) {
      if (error != nullptr) {
        *error = next.error();
      } else {
        ADD_FAILURE() << next.error().message;
      }
      return out;
    }
    if (!next->has_value()) {
      return out;
    }
    builder::SourceEntry& se = **next;
    ExpectedEntry got{se.entry, {}};
    EXPECT_EQ(se.content != nullptr, se.entry.type == EntryType::kFile)
        << se.entry.path;
    if (se.content != nullptr) {
      uint8_t buf[4096];
      for (;;) {
        auto n = se.content->Read(buf);
        if (!n.has_value()) {
          if (error != nullptr) {
            *error = n.error();
          } else {
            ADD_FAILURE() << n.error().message;
          }
          return out;
        }
        if (*n == 0) {
          break;
        }
        got.content.append(reinterpret_cast<const char*>(buf), *n);
      }
    }
    out.push_back(std::move(got));
  }
}

inline std::string Describe(const Entry& e) {
  std::string s =
      "'" + e.path + "' " + std::string(EntryTypeName(e.type)) +
      " mode=" + std::to_string(e.mode) + " uid=" + std::to_string(e.uid) +
      " gid=" + std::to_string(e.gid) + " size=" + std::to_string(e.size) +
      " link='" + e.link_target + "' dev=" + std::to_string(e.dev_major) + ":" +
      std::to_string(e.dev_minor) + " xattrs=[";
  for (const Xattr& x : e.xattrs) {
    s += x.name + "(" + std::to_string(x.value.size()) + ") ";
  }
  return s + "]";
}

// Records warnings so tests can assert on them.
class RecordingReporter : public Reporter {
 public:
  void Info(std::string_view) override {}
  void Warn(std::string_view message) override {
    warnings.emplace_back(message);
  }
  std::vector<std::string> warnings;
};

}  // namespace imab::testing
