// ElfDepsScanner: PT_INTERP, DT_NEEDED and DT_RUNPATH read from bytes as
// they stream, from ELF files crafted here (so every offset is known) and
// from a program the host compiler builds.
#include "verifier/trust/elf_deps.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using imab::testing::ReadFile;
using imab::testing::RunShell;
using imab::testing::ShellQuote;
using imab::testing::TempDir;
using imab::testing::WriteFile;

void Put(std::vector<uint8_t>& out, uint64_t at, uint64_t value, size_t width) {
  if (out.size() < at + width) {
    out.resize(at + width);
  }
  for (size_t i = 0; i < width; ++i) {
    out[at + i] = static_cast<uint8_t>(value >> (8 * i));
  }
}

void PutString(std::vector<uint8_t>& out, uint64_t at, const std::string& s) {
  if (out.size() < at + s.size() + 1) {
    out.resize(at + s.size() + 1);
  }
  std::memcpy(out.data() + at, s.data(), s.size());
  out[at + s.size()] = 0;
}

// A little-endian ELF64 of `size` bytes: one PT_LOAD mapping all of it at
// vaddr 0x400000, PT_INTERP at 0x200, the string table at `strtab_at`, the
// dynamic section at `dynamic_at`.
std::vector<uint8_t> CraftElf(uint64_t size, uint64_t strtab_at,
                              uint64_t dynamic_at,
                              const std::string& interp = "/lib/ld.so") {
  std::vector<uint8_t> elf(size);
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
  std::memcpy(elf.data(), ident, sizeof(ident));
  Put(elf, 16, 3, 2);   // ET_DYN
  Put(elf, 32, 64, 8);  // e_phoff
  Put(elf, 54, 56, 2);  // e_phentsize
  Put(elf, 56, 3, 2);   // e_phnum
  const uint64_t vaddr = 0x400000;
  auto phdr = [&](int i, uint32_t type, uint64_t offset, uint64_t filesz) {
    const uint64_t at = 64 + 56 * static_cast<uint64_t>(i);
    Put(elf, at, type, 4);
    Put(elf, at + 8, offset, 8);
    Put(elf, at + 16, vaddr + offset, 8);
    Put(elf, at + 32, filesz, 8);
  };
  phdr(0, 1, 0, size);
  phdr(1, 3, 0x200, interp.size() + 1);
  phdr(2, 2, dynamic_at, 6 * 16);
  PutString(elf, 0x200, interp);
  // Strings: 1 "libfoo.so.1", 13 "libc.so.6", 23 "$ORIGIN/../lib"
  PutString(elf, strtab_at + 1, "libfoo.so.1");
  PutString(elf, strtab_at + 13, "libc.so.6");
  PutString(elf, strtab_at + 23, "$ORIGIN/../lib:/opt/lib");
  const uint64_t dyn[][2] = {
      {1, 1}, {1, 13}, {29, 23}, {5, vaddr + strtab_at}, {10, 64}, {0, 0}};
  for (size_t i = 0; i < 6; ++i) {
    Put(elf, dynamic_at + 16 * i, dyn[i][0], 8);
    Put(elf, dynamic_at + 16 * i + 8, dyn[i][1], 8);
  }
  elf.resize(size);
  return elf;
}

std::optional<ProgramDeps> Stream(const std::vector<uint8_t>& bytes,
                                  size_t chunk) {
  ElfDepsScanner scanner;
  scanner.Begin(bytes.size());
  for (size_t at = 0; at < bytes.size(); at += chunk) {
    scanner.Feed(std::span<const uint8_t>(bytes).subspan(
        at, std::min(chunk, bytes.size() - at)));
  }
  return scanner.Finish();
}

void ExpectCraftedDeps(const std::optional<ProgramDeps>& deps) {
  ASSERT_TRUE(deps.has_value());
  EXPECT_EQ(deps->error, "");
  EXPECT_FALSE(deps->script);
  EXPECT_EQ(deps->interpreter, "/lib/ld.so");
  EXPECT_EQ(deps->needed,
            (std::vector<std::string>{"libfoo.so.1", "libc.so.6"}));
  EXPECT_EQ(deps->runpath,
            (std::vector<std::string>{"$ORIGIN/../lib", "/opt/lib"}));
}

TEST(ElfDepsTest, ReadsInterpreterNeededAndRunpath) {
  std::vector<uint8_t> elf = CraftElf(0x2000, 0x400, 0x1000);
  ExpectCraftedDeps(ParseProgramDeps(elf, elf.size()));
  for (size_t chunk : {1u, 7u, 4096u}) {
    ExpectCraftedDeps(Stream(elf, chunk));
  }
}

TEST(ElfDepsTest, DynamicSectionBeyondTheHeadIsCapturedWhileStreaming) {
  const uint64_t far = ElfDepsScanner::kHeadCap + 4096;
  std::vector<uint8_t> elf = CraftElf(far + 8192, 0x400, far);
  ExpectCraftedDeps(Stream(elf, 1u << 20));
  // Straddling the end of the head.
  elf = CraftElf(far + 8192, 0x400, ElfDepsScanner::kHeadCap - 40);
  ExpectCraftedDeps(Stream(elf, 1u << 20));
}

TEST(ElfDepsTest, StringsBeyondTheHeadFailClosed) {
  const uint64_t far = ElfDepsScanner::kHeadCap + 4096;
  std::vector<uint8_t> elf = CraftElf(far + 8192, far + 1024, far);
  std::optional<ProgramDeps> deps = Stream(elf, 1u << 20);
  ASSERT_TRUE(deps.has_value());
  EXPECT_NE(deps->error, "");
}

TEST(ElfDepsTest, TruncatedOrMalformedElfIsAnError) {
  std::vector<uint8_t> elf = CraftElf(0x2000, 0x400, 0x1000);
  std::vector<uint8_t> head(elf.begin(), elf.begin() + 100);
  std::optional<ProgramDeps> deps = Stream(head, 4096);
  ASSERT_TRUE(deps.has_value());
  EXPECT_NE(deps->error, "");
  elf[4] = 9;  // no such class
  deps = Stream(elf, 4096);
  ASSERT_TRUE(deps.has_value());
  EXPECT_NE(deps->error, "");
}

// A second program header of type `type` (PT_INTERP 3, PT_DYNAMIC 2)
// after the three CraftElf writes.
std::vector<uint8_t> WithSecondHeader(uint32_t type) {
  std::vector<uint8_t> elf = CraftElf(0x2000, 0x400, 0x1000);
  Put(elf, 56, 4, 2);  // e_phnum
  const uint64_t at = 64 + 56 * 3;
  const uint64_t offset = type == 3 ? 0x300 : 0x1800;
  Put(elf, at, type, 4);
  Put(elf, at + 8, offset, 8);
  Put(elf, at + 16, 0x400000 + offset, 8);
  Put(elf, at + 32, 16, 8);
  PutString(elf, 0x300, "/home/u/ld.so");
  return elf;
}

// fs/binfmt_elf.c load_elf_binary breaks after the first PT_INTERP.
TEST(ElfDepsTest, TheFirstPtInterpIsTheInterpreter) {
  std::vector<uint8_t> elf = WithSecondHeader(3);
  std::optional<ProgramDeps> deps = ParseProgramDeps(elf, elf.size());
  ASSERT_TRUE(deps.has_value());
  EXPECT_EQ(deps->error, "");
  EXPECT_EQ(deps->interpreter, "/lib/ld.so");
  deps = Stream(elf, 7);
  ASSERT_TRUE(deps.has_value());
  EXPECT_EQ(deps->interpreter, "/lib/ld.so");
}

TEST(ElfDepsTest, TwoPtDynamicMakeTheDependenciesUnknown) {
  std::vector<uint8_t> elf = WithSecondHeader(2);
  for (const std::optional<ProgramDeps>& deps :
       {ParseProgramDeps(elf, elf.size()), Stream(elf, 4096)}) {
    ASSERT_TRUE(deps.has_value());
    EXPECT_EQ(deps->error, "more than one PT_DYNAMIC program header");
  }
}

TEST(ElfDepsTest, ScriptsNameTheirInterpreterOthersNothing) {
  const std::string script = "#! /bin/busybox sh\necho hi\n";
  std::vector<uint8_t> bytes(script.begin(), script.end());
  std::optional<ProgramDeps> deps = Stream(bytes, 3);
  ASSERT_TRUE(deps.has_value());
  EXPECT_TRUE(deps->script);
  EXPECT_EQ(deps->interpreter, "/bin/busybox");
  const std::string text = "plain data, not a program";
  EXPECT_FALSE(Stream(std::vector<uint8_t>(text.begin(), text.end()), 5));
  EXPECT_FALSE(Stream({}, 5));
}

TEST(ElfDepsTest, ProgramsTheCompilerBuilds) {
  if (!imab::testing::HaveTool("gcc")) {
    GTEST_SKIP() << "gcc not installed";
  }
  TempDir dir;
  WriteFile(dir.Sub("m.c"), "int main(void) { return 0; }\n");
  ASSERT_EQ(RunShell("gcc -o " + ShellQuote(dir.Sub("dyn")) + " " +
                     ShellQuote(dir.Sub("m.c")) +
                     " -Wl,--dynamic-linker=/x/ld.so -Wl,-rpath,/r/lib")
                .exit_code,
            0);
  std::string bytes = ReadFile(dir.Sub("dyn"));
  std::optional<ProgramDeps> deps =
      Stream(std::vector<uint8_t>(bytes.begin(), bytes.end()), 1000);
  ASSERT_TRUE(deps.has_value());
  EXPECT_EQ(deps->error, "");
  EXPECT_EQ(deps->interpreter, "/x/ld.so");
  EXPECT_EQ(deps->needed, std::vector<std::string>{"libc.so.6"});
  EXPECT_EQ(deps->runpath, std::vector<std::string>{"/r/lib"});
  if (RunShell("gcc -static -o " + ShellQuote(dir.Sub("static")) + " " +
               ShellQuote(dir.Sub("m.c")))
          .exit_code == 0) {
    bytes = ReadFile(dir.Sub("static"));
    EXPECT_FALSE(
        Stream(std::vector<uint8_t>(bytes.begin(), bytes.end()), 1000));
  }
}

}  // namespace
}  // namespace imab::verifier
