// ELF layout per the System V gABI (elf(5)): header, program headers
// (PT_LOAD 1, PT_DYNAMIC 2, PT_INTERP 3), dynamic entries (DT_NEEDED 1,
// DT_STRTAB 5, DT_STRSZ 10, DT_RPATH 15, DT_RUNPATH 29). Scripts as the
// kernel's binfmt_script reads them: "#!" then the interpreter, within the
// first BINPRM_BUF_SIZE (256) bytes.
#include "verifier/trust/elf_deps.h"

#include <algorithm>
#include <cstring>

#include "common/read/path_parts.h"

namespace imab::verifier {
namespace {

constexpr size_t kScriptLineBytes = 256;  // BINPRM_BUF_SIZE

// A bounds-checked view of ELF bytes in the file's class and byte order.
struct ElfView {
  std::span<const uint8_t> bytes;
  bool is64 = true;
  bool little = true;

  std::optional<uint64_t> Read(uint64_t offset, size_t width) const {
    if (offset > bytes.size() || bytes.size() - offset < width) {
      return std::nullopt;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) {
      size_t at = little ? width - 1 - i : i;
      value = (value << 8) | bytes[offset + at];
    }
    return value;
  }
  std::optional<uint64_t> Word(uint64_t offset) const {
    return Read(offset, is64 ? 8 : 4);
  }
};

struct Segment {
  uint64_t offset = 0, vaddr = 0, filesz = 0;
};

struct Layout {
  ElfView elf;
  std::vector<Segment> loads;
  std::optional<Segment> interp, dynamic;
};

bool IsElf(std::span<const uint8_t> b) {
  return b.size() >= 4 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' &&
         b[3] == 'F';
}

bool IsScript(std::span<const uint8_t> b) {
  return b.size() >= 2 && b[0] == '#' && b[1] == '!';
}

// The ELF class and byte order and the segments, or an error.
std::optional<Layout> ReadLayout(std::span<const uint8_t> bytes,
                                 std::string* error) {
  if (bytes.size() < 16 || (bytes[4] != 1 && bytes[4] != 2) ||
      (bytes[5] != 1 && bytes[5] != 2)) {
    *error = "ELF header malformed (class or byte order)";
    return std::nullopt;
  }
  const ElfView elf{bytes, bytes[4] == 2, bytes[5] == 1};
  auto phoff = elf.Word(elf.is64 ? 32 : 28);
  auto phentsize = elf.Read(elf.is64 ? 54 : 42, 2);
  auto phnum = elf.Read(elf.is64 ? 56 : 44, 2);
  const uint64_t min_entry = elf.is64 ? 56 : 32;
  if (!phoff || !phentsize || !phnum || *phentsize < min_entry) {
    *error = "ELF header malformed (program headers)";
    return std::nullopt;
  }
  Layout layout{elf, {}, {}, {}};
  for (uint64_t i = 0; i < *phnum; ++i) {
    const uint64_t at = *phoff + i * *phentsize;
    auto type = elf.Read(at, 4);
    auto offset = elf.Word(at + (elf.is64 ? 8 : 4));
    auto vaddr = elf.Word(at + (elf.is64 ? 16 : 8));
    auto filesz = elf.Word(at + (elf.is64 ? 32 : 16));
    if (!type || !offset || !vaddr || !filesz) {
      *error = "program headers truncated or beyond the bytes read";
      return std::nullopt;
    }
    Segment segment{*offset, *vaddr, *filesz};
    if (*type == 1) {
      layout.loads.push_back(segment);
    } else if (*type == 2) {
      // The kernel ignores PT_DYNAMIC; which one ld.so would use is not
      // ours to guess, so a second one makes the dependencies unknown.
      if (layout.dynamic) {
        *error = "more than one PT_DYNAMIC program header";
        return std::nullopt;
      }
      layout.dynamic = segment;
    } else if (*type == 3 && !layout.interp) {
      // fs/binfmt_elf.c load_elf_binary stops at the first PT_INTERP.
      layout.interp = segment;
    }
  }
  return layout;
}

// The NUL-terminated string at `offset` of `bytes`, bounded by `limit`.
std::optional<std::string> StringAt(std::span<const uint8_t> bytes,
                                    uint64_t offset, uint64_t limit) {
  limit = std::min<uint64_t>(limit, bytes.size());
  if (offset >= limit) {
    return std::nullopt;
  }
  const uint8_t* start = bytes.data() + offset;
  const void* nul = std::memchr(start, 0, limit - offset);
  if (nul == nullptr) {
    return std::nullopt;
  }
  return std::string(
      reinterpret_cast<const char*>(start),
      static_cast<size_t>(static_cast<const uint8_t*>(nul) - start));
}

// The folders of a DT_RUNPATH / DT_RPATH list; empty ones are dropped.
std::vector<std::string> SplitColons(const std::string& text) {
  std::vector<std::string> out;
  for (std::string& part : SplitOn(text, ':')) {
    if (!part.empty()) {
      out.push_back(std::move(part));
    }
  }
  return out;
}

ProgramDeps ScriptDeps(std::span<const uint8_t> bytes) {
  ProgramDeps deps;
  deps.script = true;
  size_t end = std::min(bytes.size(), kScriptLineBytes);
  size_t i = 2;
  while (i < end && (bytes[i] == ' ' || bytes[i] == '\t')) {
    ++i;
  }
  size_t start = i;
  while (i < end && bytes[i] != ' ' && bytes[i] != '\t' && bytes[i] != '\n' &&
         bytes[i] != 0) {
    ++i;
  }
  deps.interpreter.assign(reinterpret_cast<const char*>(bytes.data()) + start,
                          i - start);
  if (deps.interpreter.empty()) {
    deps.error = "\"#!\" line names no interpreter";
  }
  return deps;
}

// Where the loadable segment holding `vaddr` keeps it in the file.
std::optional<uint64_t> FileOffset(const Layout& layout, uint64_t vaddr) {
  for (const Segment& load : layout.loads) {
    if (vaddr >= load.vaddr && vaddr - load.vaddr < load.filesz) {
      return load.offset + (vaddr - load.vaddr);
    }
  }
  return std::nullopt;
}

// The dynamic entries' strings: DT_NEEDED and the search path.
bool ReadDynamic(const Layout& layout, std::span<const uint8_t> dynamic,
                 ProgramDeps& deps) {
  const ElfView& elf = layout.elf;
  const ElfView dyn{dynamic, elf.is64, elf.little};
  const uint64_t entry = elf.is64 ? 16 : 8;
  std::optional<uint64_t> strtab, strsz, runpath, rpath;
  std::vector<uint64_t> needed;
  for (uint64_t at = 0; at + entry <= dynamic.size(); at += entry) {
    uint64_t tag = *dyn.Word(at);
    uint64_t value = *dyn.Word(at + entry / 2);
    if (tag == 0) {
      break;
    }
    if (tag == 1) {
      needed.push_back(value);
    } else if (tag == 5) {
      strtab = value;
    } else if (tag == 10) {
      strsz = value;
    } else if (tag == 15) {
      rpath = value;
    } else if (tag == 29) {
      runpath = value;
    }
  }
  if (needed.empty() && !runpath && !rpath) {
    return true;
  }
  std::optional<uint64_t> table =
      strtab ? FileOffset(layout, *strtab) : std::nullopt;
  if (!table || !strsz) {
    deps.error = "dynamic string table missing or outside the file";
    return false;
  }
  auto string = [&](uint64_t offset) -> std::optional<std::string> {
    if (offset >= *strsz) {
      return std::nullopt;
    }
    return StringAt(elf.bytes, *table + offset, *table + *strsz);
  };
  for (uint64_t offset : needed) {
    std::optional<std::string> name = string(offset);
    if (!name) {
      deps.error = "DT_NEEDED name beyond the bytes read";
      return false;
    }
    deps.needed.push_back(*name);
  }
  // ld.so ignores DT_RPATH when DT_RUNPATH is present.
  if (std::optional<uint64_t> path = runpath ? runpath : rpath) {
    std::optional<std::string> text = string(*path);
    if (!text) {
      deps.error = "DT_RUNPATH beyond the bytes read";
      return false;
    }
    deps.runpath = SplitColons(*text);
  }
  return true;
}

}  // namespace

std::optional<ProgramDeps> ParseProgramDeps(std::span<const uint8_t> bytes,
                                            uint64_t file_size,
                                            std::span<const uint8_t> dynamic) {
  if (IsScript(bytes)) {
    return ScriptDeps(bytes);
  }
  if (!IsElf(bytes)) {
    return std::nullopt;
  }
  ProgramDeps deps;
  std::optional<Layout> layout = ReadLayout(bytes, &deps.error);
  if (!layout) {
    return deps;
  }
  if (layout->interp) {
    const Segment& s = *layout->interp;
    std::optional<std::string> path =
        StringAt(bytes, s.offset, s.offset + s.filesz);
    if (!path || s.offset + s.filesz > file_size) {
      deps.error = "PT_INTERP beyond the bytes read";
      return deps;
    }
    deps.interpreter = *path;
  }
  if (layout->dynamic) {
    const Segment& s = *layout->dynamic;
    std::span<const uint8_t> section;
    if (s.offset <= bytes.size() && bytes.size() - s.offset >= s.filesz) {
      section = bytes.subspan(s.offset, s.filesz);
    } else if (dynamic.size() == s.filesz) {
      section = dynamic;
    } else {
      deps.error = "dynamic section beyond the bytes read";
      return deps;
    }
    if (!ReadDynamic(*layout, section, deps)) {
      return deps;
    }
  }
  if (deps.interpreter.empty() && deps.needed.empty()) {
    return std::nullopt;  // static: the kernel maps it alone
  }
  return deps;
}

void ElfDepsScanner::Begin(uint64_t size) {
  head_.clear();
  dynamic_.clear();
  // Both buffers keep their full capacity from file to file: they never
  // reallocate (a growing vector briefly holds two copies, and glibc keeps
  // freed large blocks), and only the bytes a file fills become resident.
  head_.reserve(kHeadCap);
  dynamic_.reserve(kDynamicCap);
  size_ = size;
  offset_ = 0;
  candidate_ = true;
  dynamic_located_ = false;
  dynamic_offset_ = dynamic_size_ = 0;
}

void ElfDepsScanner::LocateDynamic() {
  dynamic_located_ = true;  // tried once; Finish() reports a failure
  std::string ignored;
  std::optional<Layout> layout = ReadLayout(head_, &ignored);
  if (layout && layout->dynamic && layout->dynamic->filesz <= kDynamicCap) {
    dynamic_offset_ = layout->dynamic->offset;
    dynamic_size_ = layout->dynamic->filesz;
  }
}

void ElfDepsScanner::Feed(std::span<const uint8_t> data) {
  if (!candidate_) {
    offset_ += data.size();
    return;
  }
  const size_t cap = IsScript(head_) ? kScriptLineBytes : kHeadCap;
  if (head_.size() < cap) {
    size_t take = std::min(data.size(), cap - head_.size());
    head_.insert(head_.end(), data.data(), data.data() + take);
  }
  if (head_.size() >= std::min<uint64_t>(4, size_) && !IsElf(head_) &&
      !IsScript(head_)) {
    candidate_ = false;
    head_.clear();
  } else if (IsElf(head_) && !dynamic_located_ && head_.size() == kHeadCap) {
    LocateDynamic();
  }
  // The dynamic section lies past the head: keep just its bytes.
  const uint64_t begin =
      std::max({offset_, dynamic_offset_, static_cast<uint64_t>(kHeadCap)});
  const uint64_t end =
      std::min(offset_ + data.size(), dynamic_offset_ + dynamic_size_);
  if (dynamic_size_ > 0 && begin < end) {
    dynamic_.insert(dynamic_.end(), data.data() + (begin - offset_),
                    data.data() + (end - offset_));
  }
  offset_ += data.size();
}

std::optional<ProgramDeps> ElfDepsScanner::Finish() {
  if (!candidate_) {
    return std::nullopt;
  }
  if (dynamic_size_ > 0 && dynamic_offset_ < head_.size()) {
    // It straddles the end of the head: its first part is in head_.
    dynamic_.insert(dynamic_.begin(), head_.data() + dynamic_offset_,
                    head_.data() + head_.size());
  }
  std::optional<ProgramDeps> deps = ParseProgramDeps(head_, size_, dynamic_);
  head_.clear();
  dynamic_.clear();
  return deps;
}

}  // namespace imab::verifier
