#include "verifier/trust/critical_closure.h"

#include <deque>
#include <set>

#include "common/read/glob_match.h"
#include "common/read/image_tree.h"
#include "common/read/path_parts.h"

namespace imab::verifier {
namespace {

// ld.so's trusted folders, and the multiarch and lib64 variants of them.
constexpr const char* kLibraryFolders[] = {
    "lib",       "usr/lib", "lib64",      "usr/lib64",    "lib32",
    "usr/lib32", "libx32",  "usr/libx32", "usr/local/lib"};

}  // namespace

const std::vector<std::string>& KernelInitSearch() {
  static const std::vector<std::string> kSearch = {"sbin/init", "etc/init",
                                                   "bin/init", "bin/sh"};
  return kSearch;
}

CriticalClosure::CriticalClosure(std::vector<std::string> patterns,
                                 std::string init)
    : patterns_(std::move(patterns)), init_(WithoutLeadingSlashes(init)) {}

void CriticalClosure::Add(const Entry& entry) {
  nodes_[entry.path] = Node{entry.type, entry.link_target};
  for (const std::string& pattern : patterns_) {
    if (GlobMatch(pattern, entry.path)) {
      seeds_.push_back(entry.path);
      break;
    }
  }
}

void CriticalClosure::AddProgramDeps(const std::string& path,
                                     ProgramDeps deps) {
  deps_[path] = std::move(deps);
}

// A folder entry, or a path with entries below it (the root included).
bool CriticalClosure::IsFolder(const std::string& path) const {
  auto it = nodes_.find(path);
  if (it != nodes_.end()) {
    return it->second.type == EntryType::kDir;
  }
  auto child = nodes_.lower_bound(path + "/");
  return path.empty() ||
         (child != nodes_.end() &&
          child->first.compare(0, path.size() + 1, path + "/") == 0);
}

CriticalClosure::Walked CriticalClosure::Walk(const std::string& start) const {
  std::vector<std::string> split = SplitOn(WithoutLeadingSlashes(start), '/');
  std::deque<std::string> todo(split.begin(), split.end());
  std::vector<std::string> done;
  int hops = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (!done.empty()) {
        done.pop_back();  // ".." at the image root stays there
      }
      continue;
    }
    if (!IsFolder(JoinPath(done))) {
      return {start, false, "/" + JoinPath(done) + " is not a folder"};
    }
    done.push_back(part);
    const std::string here = JoinPath(done);
    auto it = nodes_.find(here);
    if (it == nodes_.end()) {
      if (IsFolder(here)) {
        continue;
      }
      return {start, false, "/" + here + " is not in the image"};
    }
    if (it->second.type != EntryType::kSymlink) {
      continue;
    }
    if (++hops > kMaxSymlinks) {
      return {start, false, "too many levels of symbolic links (a loop)"};
    }
    done.pop_back();
    const std::string& target = it->second.target;
    if (!target.empty() && target.front() == '/') {
      done.clear();
    }
    std::vector<std::string> parts = SplitOn(target, '/');
    todo.insert(todo.begin(), parts.begin(), parts.end());
  }
  const std::string final_path = JoinPath(done);
  if (IsFolder(final_path)) {
    return {final_path, true, ""};
  }
  const Node& node = nodes_.at(final_path);
  if (node.type == EntryType::kHardlink) {
    return {node.target, false, ""};  // the inode's first name
  }
  if (node.type != EntryType::kFile) {
    return {start, false,
            "/" + final_path + " is a " +
                std::string(EntryTypeName(node.type)) + ", not a regular file"};
  }
  return {final_path, false, ""};
}

// One Resolve() run: marks files critical and follows program
// dependencies until nothing new is found.
class CriticalClosure::Resolver {
 public:
  explicit Resolver(const CriticalClosure& closure) : c_(closure) {}

  // `path` must lead to a regular file (`need_file`) or may be a folder.
  void Mark(const std::string& path, const std::string& affects, Role role,
            const std::string& what, bool need_file) {
    Walked walked = c_.Walk(path);
    if (walked.error.empty() && walked.is_dir && need_file) {
      walked.error = "/" + walked.path + " is a folder";
    }
    if (!walked.error.empty()) {
      out_.problems.push_back({WithoutLeadingSlashes(path),
                               what + ": " + walked.error, "missing-file", "",
                               affects});
      return;
    }
    if (walked.is_dir) {
      return;
    }
    if (role == Role::kNamed) {
      out_.named.emplace_back(WithoutLeadingSlashes(path), walked.path);
    }
    if (out_.files.emplace(walked.path, Critical{affects, role}).second) {
      programs_.push_back(walked.path);
    }
  }

  void MarkInit() {
    const std::vector<std::string> search =
        c_.init_.empty() ? KernelInitSearch()
                         : std::vector<std::string>{c_.init_};
    for (const std::string& candidate : search) {
      // The first one present (through symlinked folders too: sbin ->
      // usr/sbin) is the one the image means to boot; the kernel passes
      // over a folder (upstart's /etc/init) with EACCES.
      const Walked walked = c_.Walk(candidate);
      if (walked.error.empty() ? !walked.is_dir
                               : c_.nodes_.count(candidate) != 0) {
        Mark(candidate, candidate, Role::kInit, "init /" + candidate, true);
        return;
      }
    }
    std::string names;
    for (const std::string& candidate : search) {
      names += (names.empty() ? "/" : ", /") + candidate;
    }
    out_.problems.push_back(
        {search.front(), "no init in the image (none of " + names + ")",
         "no-init",
         c_.init_.empty()
             ? "the kernel would panic (\"No working init found\"): the "
               "device would not boot"
             : "the kernel would panic (\"Requested init /" + c_.init_ +
                   " failed\"): the device would not boot",
         search.front()});
  }

  void FollowPrograms() {
    while (!programs_.empty()) {
      std::string program = std::move(programs_.front());
      programs_.pop_front();
      auto it = c_.deps_.find(program);
      if (it == c_.deps_.end()) {
        continue;
      }
      const ProgramDeps& deps = it->second;
      // The critical path the chain started from suffers if a link fails.
      const std::string root = out_.files.at(program).affects;
      if (!deps.error.empty()) {
        out_.problems.push_back(
            {program,
             "critical program whose dependencies cannot be read (" +
                 deps.error + ")",
             "unknown-dependencies", "", root});
        continue;
      }
      if (!deps.interpreter.empty()) {
        const std::string kind =
            deps.script ? "\"#!\" interpreter" : "ELF interpreter";
        Mark(deps.interpreter, root,
             deps.script ? Role::kScriptInterpreter : Role::kElfInterpreter,
             kind + " of /" + program, true);
      }
      for (const std::string& name : deps.needed) {
        MarkLibrary(program, root, deps, name);
      }
    }
  }

  Outcome Take() { return std::move(out_); }

 private:
  // ld.so's search: the runpath, then the default folders. Which one it
  // takes depends on its cache, so every candidate counts (fail closed).
  void MarkLibrary(const std::string& program, const std::string& root,
                   const ProgramDeps& deps, const std::string& name) {
    const std::string what = "library " + name + " needed by /" + program;
    if (name.find('/') != std::string::npos) {
      Mark(name, root, Role::kLibrary, what, true);
      return;
    }
    std::set<std::string> found;
    for (const std::string& folder : SearchFolders(program, deps)) {
      Walked walked = c_.Walk(folder + "/" + name);
      if (walked.error.empty() && !walked.is_dir) {
        found.insert(folder + "/" + name);
      }
    }
    if (found.empty()) {
      // Perhaps in a folder ld.so.conf adds: every file of that name.
      for (const auto& [path, node] : c_.nodes_) {
        if (BaseName(path) == name && node.type != EntryType::kDir) {
          found.insert(path);
        }
      }
    }
    if (found.empty()) {
      out_.problems.push_back(
          {name, what + " is not in the image", "missing-library", "", root});
    }
    for (const std::string& path : found) {
      Mark(path, root, Role::kLibrary, what, true);
    }
  }

  std::vector<std::string> SearchFolders(const std::string& program,
                                         const ProgramDeps& deps) {
    std::vector<std::string> folders;
    for (std::string folder : deps.runpath) {
      for (const char* origin : {"${ORIGIN}", "$ORIGIN"}) {
        size_t at = folder.find(origin);
        if (at != std::string::npos) {
          folder.replace(at, std::string(origin).size(),
                         "/" + std::string(ParentPath(program)));
        }
      }
      folders.push_back(WithoutLeadingSlashes(folder));
    }
    if (system_folders_.empty()) {
      system_folders_.assign(std::begin(kLibraryFolders),
                             std::end(kLibraryFolders));
      // Multiarch folders: lib/x86_64-linux-gnu, usr/lib/aarch64-linux-gnu.
      for (const char* parent : {"lib/", "usr/lib/"}) {
        for (auto it = c_.nodes_.lower_bound(parent);
             it != c_.nodes_.end() && it->first.rfind(parent, 0) == 0; ++it) {
          if (std::string(ParentPath(it->first)) + "/" == parent &&
              BaseName(it->first).find("-linux-") != std::string::npos) {
            system_folders_.push_back(it->first);
          }
        }
      }
    }
    folders.insert(folders.end(), system_folders_.begin(),
                   system_folders_.end());
    return folders;
  }

  const CriticalClosure& c_;
  Outcome out_;
  std::deque<std::string> programs_;
  std::vector<std::string> system_folders_;  // found once per run
};

CriticalClosure::Outcome CriticalClosure::Resolve(bool programs) const {
  Resolver resolver(*this);
  for (const std::string& seed : seeds_) {
    resolver.Mark(seed, seed, Role::kNamed, "critical /" + seed, false);
  }
  resolver.MarkInit();
  if (programs) {
    resolver.FollowPrograms();
  }
  return resolver.Take();
}

}  // namespace imab::verifier
