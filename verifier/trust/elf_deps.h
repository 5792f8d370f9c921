// ElfDepsScanner: what else the kernel and ld.so load to run a program,
// read from its bytes while they stream: the ELF interpreter (PT_INTERP),
// the needed libraries (DT_NEEDED) and where ld.so looks for them
// (DT_RUNPATH, else DT_RPATH); or a script's "#!" interpreter (the kernel's
// binfmt_script). Bounded: one file at a time, at most kHeadCap bytes of
// its start plus its dynamic section (kDynamicCap).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace imab::verifier {

struct ProgramDeps {
  bool script = false;               // "#!" line rather than ELF
  std::string interpreter;           // PT_INTERP or the "#!" path; "" for none
  std::vector<std::string> needed;   // DT_NEEDED, in order
  std::vector<std::string> runpath;  // DT_RUNPATH (or DT_RPATH) folders
  // Non-empty when the file is ELF but its dependencies could not be read
  // (truncated, malformed, or beyond the caps): unknown, so fail closed.
  std::string error;
};

class ElfDepsScanner {
 public:
  static constexpr size_t kHeadCap = 8u << 20;
  static constexpr size_t kDynamicCap = 1u << 20;

  // Starts a file of `size` bytes.
  void Begin(uint64_t size);
  void Feed(std::span<const uint8_t> data);
  // The file's dependencies, or nullopt when it is neither ELF nor a
  // script, or a static ELF program with none.
  std::optional<ProgramDeps> Finish();

 private:
  void LocateDynamic();

  std::vector<uint8_t> head_;
  std::vector<uint8_t> dynamic_;  // captured when beyond head_
  uint64_t size_ = 0;
  uint64_t offset_ = 0;  // bytes fed so far
  bool candidate_ = false;
  bool dynamic_located_ = false;
  uint64_t dynamic_offset_ = 0;
  uint64_t dynamic_size_ = 0;
};

// Parses a whole ELF image or script held in memory (tests, and Finish()).
// `dynamic` holds the bytes of PT_DYNAMIC when `bytes` stops before them.
std::optional<ProgramDeps> ParseProgramDeps(
    std::span<const uint8_t> bytes, uint64_t file_size,
    std::span<const uint8_t> dynamic = {});

}  // namespace imab::verifier
