#include "verifier/trust/hook_consequence.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "common/read/path_parts.h"

namespace imab::verifier {
namespace {

// The accesses, grouped by what the caller sees when one fails.
enum class Kind {
  kExecOpen,    // FILE_CHECK MAY_EXEC: do_open_execat() of execve/open_exec
  kBprm,        // BPRM_CHECK, CREDS_CHECK: ima_bprm_check() in execve
  kRead,        // FILE_CHECK with MAY_READ: open(2) for reading
  kWrite,       // FILE_CHECK without it: open(2) for writing only
  kMmap,        // MMAP_CHECK(_REQPROT): mmap(PROT_EXEC), also the kernel's
  kKernelRead,  // modules, firmware, kexec images, policy files
};

Kind KindOf(const HookAccess& access) {
  switch (access.hook) {
    case PolicyHook::kFileCheck:
      if (access.mask == kMayExec) {
        return Kind::kExecOpen;
      }
      return (access.mask & kMayRead) != 0 ? Kind::kRead : Kind::kWrite;
    case PolicyHook::kBprmCheck:
    case PolicyHook::kCredsCheck:
      return Kind::kBprm;
    case PolicyHook::kMmapCheck:
    case PolicyHook::kMmapCheckReqprot:
      return Kind::kMmap;
    // Listed, not defaulted: a new hook must be placed here on purpose.
    case PolicyHook::kNone:
    case PolicyHook::kPostSetattr:
    case PolicyHook::kModuleCheck:
    case PolicyHook::kFirmwareCheck:
    case PolicyHook::kKexecKernelCheck:
    case PolicyHook::kKexecInitramfsCheck:
    case PolicyHook::kPolicyCheck:
    case PolicyHook::kKexecCmdline:
    case PolicyHook::kKeyCheck:
    case PolicyHook::kCriticalData:
    case PolicyHook::kSetxattrCheck:
      return Kind::kKernelRead;
  }
  return Kind::kKernelRead;
}

std::string Label(const HookAccess& access) {
  // In Kind's order.
  static constexpr const char* kWhat[] = {" mask=MAY_EXEC (execve's open)",
                                          " (execve)",
                                          " (open)",
                                          " (open for writing)",
                                          " (mmap PROT_EXEC)",
                                          " (kernel read)"};
  static_assert(std::size(kWhat) == static_cast<size_t>(Kind::kKernelRead) + 1);
  return std::string(HookName(access.hook)) +
         kWhat[static_cast<size_t>(KindOf(access))];
}

void AddOnce(std::vector<std::string>& to, std::string item) {
  if (std::find(to.begin(), to.end(), item) == to.end()) {
    to.push_back(std::move(item));
  }
}

// Whether the file's normal use passes through accesses of `kind`.
bool UsedThrough(FileUse use, Kind kind) {
  switch (use) {
    case FileUse::kProgram:
    case FileUse::kScriptInterpreter:
      return kind == Kind::kExecOpen || kind == Kind::kBprm ||
             kind == Kind::kMmap;
    case FileUse::kElfInterpreter:
      return kind == Kind::kExecOpen || kind == Kind::kMmap;
    case FileUse::kLibrary:
      return kind == Kind::kRead || kind == Kind::kMmap;
    case FileUse::kData:
      return kind == Kind::kRead;
  }
  return false;
}

std::string PlainEffect(FileUse use, Kind kind) {
  const bool script = use == FileUse::kScriptInterpreter;
  switch (kind) {
    case Kind::kExecOpen:
      if (use == FileUse::kElfInterpreter) {
        return "the kernel could not open it as the ELF interpreter: execve "
               "of every program using it would fail with EACCES";
      }
      [[fallthrough]];
    case Kind::kBprm:
      return script ? "execve of it, and of every script naming it, would "
                      "fail with EACCES"
                    : "execve of it would fail with EACCES";
    case Kind::kRead:
      return use == FileUse::kLibrary
                 ? "ld.so could not open it (exit 127, \"cannot open "
                   "shared object file\")"
                 : "open() of it would fail with EACCES";
    case Kind::kWrite:
      return "open() of it for writing would fail with EACCES";
    case Kind::kMmap:
      if (use == FileUse::kLibrary) {
        return "ld.so could not map it (exit 127, \"failed to map segment "
               "from shared object\")";
      }
      if (use == FileUse::kElfInterpreter) {
        return "the kernel could not map it: every program using it would "
               "be killed (SIGSEGV) at execve";
      }
      return use == FileUse::kData
                 ? "mmap(PROT_EXEC) of it would fail with EACCES"
                 : "mmap(PROT_EXEC) of it would fail with EACCES, and an ELF "
                   "program would be killed (SIGSEGV) at execve as the "
                   "kernel maps it";
    case Kind::kKernelRead:
      return "the kernel would refuse to load it (EACCES)";
  }
  return "";
}

enum class Root { kLdSo, kLibc, kInit, kUpdater, kOther };

Root RootOf(const std::string& path, bool is_init) {
  const std::string base = BaseName(path);
  if (base.rfind("ld-linux", 0) == 0 || base.rfind("ld-musl", 0) == 0) {
    return Root::kLdSo;
  }
  if (base.rfind("libc.so", 0) == 0 || base.rfind("libc-", 0) == 0) {
    return Root::kLibc;
  }
  if (is_init || base == "init" || base == "systemd") {
    return Root::kInit;
  }
  return base == "imab-verify" ? Root::kUpdater : Root::kOther;
}

// The critical path itself failing where its use passes.
std::string SelfEffect(Root root, FileUse use, Kind kind) {
  const bool mapped = kind == Kind::kMmap;
  switch (root) {
    case Root::kLdSo:
      return mapped ? "the ELF interpreter: every dynamically linked program "
                      "would be killed (SIGSEGV) at exec"
                    : "the ELF interpreter: every dynamically linked program "
                      "would fail at execve with EACCES";
    case Root::kLibc:
      return mapped ? "every dynamically linked program, init included, "
                      "would fail to map libc (ld.so exit 127, \"failed to "
                      "map segment\")"
                    : "every dynamically linked program, init included, "
                      "would fail to open libc (ld.so exit 127, \"cannot "
                      "open shared object file\")";
    case Root::kInit:
      return mapped ? "the kernel could not start init (killed by SIGSEGV "
                      "as the kernel maps it): the device would not boot"
                    : "the kernel could not start init (execve EACCES, "
                      "\"Requested init failed (error -13)\"): the device "
                      "would not boot";
    case Root::kUpdater:
      return "the updater could not run: no later update could repair the "
             "device";
    case Root::kOther:
      return PlainEffect(use, kind);
  }
  return "";
}

std::string RootSummary(Root root, const std::string& path) {
  switch (root) {
    case Root::kLdSo:
    case Root::kLibc:
      return "every dynamically linked program, init included, would fail";
    case Root::kInit:
      return "the kernel could not start init: the device would not boot";
    case Root::kUpdater:
      return "the updater could not run: no later update could repair the "
             "device";
    case Root::kOther:
      return "/" + path + " could not run";
  }
  return "";
}

std::string Effect(const RefusedFile& file, Kind kind) {
  if (!file.critical || !UsedThrough(file.use, kind)) {
    return PlainEffect(file.use, kind);
  }
  const std::string& root_path =
      file.affects.empty() ? file.path : file.affects;
  const Root root = RootOf(root_path, file.affects_init);
  if (root_path == file.path || !file.dependency) {
    return SelfEffect(root, file.use, kind);
  }
  return PlainEffect(file.use, kind) + ", so " + RootSummary(root, root_path);
}

}  // namespace

std::string HookConsequence(const RefusedFile& file) {
  // (effect, labels) in the order the accesses come.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  for (const HookAccess& access : file.hooks) {
    const std::string effect = Effect(file, KindOf(access));
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& g) { return g.first == effect; });
    if (group == groups.end()) {
      group = groups.insert(groups.end(), {effect, {}});
    }
    AddOnce(group->second, Label(access));
  }
  std::string out;
  for (const auto& [effect, labels] : groups) {
    out += out.empty() ? "appraised at " : "; at ";
    for (size_t i = 0; i < labels.size(); ++i) {
      out += (i == 0 ? "" : ", ") + labels[i];
    }
    out += ": " + effect;
  }
  return out;
}

std::vector<std::string> HookNames(const std::vector<HookAccess>& hooks) {
  std::vector<std::string> out;
  for (const HookAccess& access : hooks) {
    AddOnce(out, std::string(HookName(access.hook)));
  }
  return out;
}

std::string MissingConsequence(const std::string& affects, bool is_init) {
  switch (const Root root = RootOf(affects, is_init)) {
    case Root::kLdSo:
      return "the ELF interpreter: every dynamically linked program would "
             "fail at execve";
    case Root::kLibc:
      return "every dynamically linked program, init included, would fail "
             "to load libc (ld.so exit 127)";
    default:
      return RootSummary(root, affects);
  }
}

}  // namespace imab::verifier
