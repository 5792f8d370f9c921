// CriticalClosure: which regular files of an image the device cannot boot
// or update without, found the way the kernel and ld.so find them. A
// critical path's hardlinks share its inode; a critical symlink makes the
// file at the end of its chain critical (every hop, relative or absolute,
// through symlinked folders such as lib -> usr/lib, resolved against the
// whole image); the init the kernel would start is critical; and so are the
// ELF interpreter and the needed libraries of every critical program,
// transitively. A chain that ends nowhere is a problem, not a pass.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/read/entry.h"
#include "verifier/trust/elf_deps.h"

namespace imab::verifier {

// The kernel's init search when the command line names none
// (init/main.c, kernel_init: /sbin/init, /etc/init, /bin/init, /bin/sh).
const std::vector<std::string>& KernelInitSearch();

// A critical path that leads nowhere the kernel could run.
struct ClosureProblem {
  std::string path;    // the path that does not resolve
  std::string reason;  // one line
  std::string cause;   // short tag, like the kernel's audit causes
  // What the device would suffer; "" means: as if `affects` failed.
  std::string consequence;
  std::string affects;  // the critical program or path that needs it
};

class CriticalClosure {
 public:
  // `patterns`: device.conf's critical globs. `init`: the init the device
  // boots (image path), or "" for the kernel's default search.
  CriticalClosure(std::vector<std::string> patterns, std::string init);

  // Every manifest entry, in manifest order.
  void Add(const Entry& entry);
  // After the payload streamed: the dependencies of the file at `path`.
  void AddProgramDeps(const std::string& path, ProgramDeps deps);

  // How the device reaches a critical file, which decides at which hooks
  // its failure shows and what follows from it.
  enum class Role {
    kNamed,              // a critical path (a pattern's match) leads to it
    kInit,               // the init the kernel starts
    kElfInterpreter,     // PT_INTERP of a critical program
    kScriptInterpreter,  // "#!" interpreter of a critical program
    kLibrary,            // DT_NEEDED of a critical program or library
  };
  struct Critical {
    // The critical path or program that needs it (whose failure the
    // device would suffer): the matched path, init, or the one a
    // dependency chain started from.
    std::string affects;
    Role role = Role::kNamed;
  };
  struct Outcome {
    // Critical regular files (image paths), by the first way found.
    std::map<std::string, Critical> files;
    // Every (path a pattern matched, the regular file it leads to).
    std::vector<std::pair<std::string, std::string>> named;
    std::vector<ClosureProblem> problems;
  };
  // With `programs`, the interpreters and libraries the recorded program
  // dependencies lead to are added.
  Outcome Resolve(bool programs) const;

  // Where `path` leads: the regular file (a hardlink's target), or an
  // error saying why it leads nowhere. Folders come back with `is_dir`.
  struct Walked {
    std::string path;
    bool is_dir = false;
    std::string error;  // non-empty: dangling, loop, or not a folder
  };
  Walked Walk(const std::string& path) const;

 private:
  struct Node {
    EntryType type = EntryType::kFile;
    std::string target;  // symlink target or hardlink target path
  };
  class Resolver;
  bool IsFolder(const std::string& path) const;

  std::vector<std::string> patterns_;
  std::string init_;
  std::map<std::string, Node> nodes_;
  std::vector<std::string> seeds_;  // entries matching a pattern
  std::map<std::string, ProgramDeps> deps_;
};

}  // namespace imab::verifier
