// What the device visibly suffers when the kernel refuses a file at the
// hooks where its IMA policy appraises it (ima-evm-formats.md §5.3, and
// the behaviour of Linux 6.1 and 6.12 under QEMU): per hook, the failure
// the caller sees (EACCES from open, execve or mmap; ld.so's exit 127; a
// SIGSEGV when the kernel's own mapping fails after execve's point of no
// return), and for a critical file what breaks with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "verifier/trust/ima_policy.h"

namespace imab::verifier {

// What a file is to the device, which decides which hooks its normal use
// passes through and what its failure there breaks.
enum class FileUse {
  kData,               // opened and read
  kProgram,            // executed
  kLibrary,            // opened and mapped by ld.so
  kElfInterpreter,     // opened (open_exec) and mapped by the kernel
  kScriptInterpreter,  // executed for the scripts naming it
};

struct RefusedFile {
  std::string path;
  FileUse use = FileUse::kData;
  // The accesses at which the kernel refuses it.
  std::vector<HookAccess> hooks;
  bool critical = false;
  // The critical path that suffers (its closure root); "" or `path` when
  // the file is that path itself (or shares its inode).
  std::string affects;
  bool affects_init = false;  // `affects` is the init the kernel starts
  // An interpreter or library of `affects`, not that path itself.
  bool dependency = false;
};

// "appraised at MMAP_CHECK (mmap PROT_EXEC): ld.so cannot map it (...):
// every dynamically linked program ..."; accesses with the same effect
// share one clause.
std::string HookConsequence(const RefusedFile& file);

// The distinct hook names of `hooks`, in order: {"BPRM_CHECK",
// "FILE_CHECK"}.
std::vector<std::string> HookNames(const std::vector<HookAccess>& hooks);

// What the device suffers when the critical path `affects` cannot run at
// all (it leads nowhere, or a dependency is missing).
std::string MissingConsequence(const std::string& affects, bool is_init);

}  // namespace imab::verifier
