// A generated rootfs that exercises every entry type the format carries.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace imab::testing {

struct SampleTreeOptions {
  uint64_t big_file_bytes = 50u << 20;  // the "large" regular file
  bool device_nodes = true;             // needs root
};

// Fills the empty or missing folder `root` with: regular files, an empty
// file, a big file, a stand-in init (bin/sh), nested folders, relative and
// absolute symlinks, a hardlink pair, a setuid file, a fifo, a char device,
// a file with user.* and security.capability xattrs, and files owned by
// uid/gid other than 0.
void MakeSampleTree(const std::string& root, SampleTreeOptions options = {});

// A small sample tree (1000-byte big file, no device nodes, so no root
// needed) that a device could boot: stand-in executables ("ELF PATH",
// 0755) for libc, ld.so, systemd, imab-verify and each of
// `extra_executables`, and sbin/init -> ../usr/lib/systemd/systemd.
void MakeBootableSampleTree(
    const std::string& root,
    const std::vector<std::string>& extra_executables = {});

// Writes ROOT/PATH (making its folders) with `content` and `mode`, for the
// few hand-placed files a test image needs (an init, a libc, a tool).
void PutFile(const std::string& root, const std::string& path,
             const std::string& content, std::filesystem::perms mode);

}  // namespace imab::testing
