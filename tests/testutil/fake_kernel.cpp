#include "tests/testutil/fake_kernel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>

#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab::testing {
namespace {

void PutLe(std::string& out, size_t at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out[at + static_cast<size_t>(i)] =
        static_cast<char>((value >> (8 * i)) & 0xff);
  }
}

// Pseudo-random filler, so the compressors have something to chew on and
// the certificates do not sit at the start.
std::string Filler(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    out[i] = static_cast<char>(seed >> 24);
  }
  return out;
}

// The decompressed kernel: code, banner (init/version.c), data with the
// system certificates (certs/system_certificates.S), more code.
std::string Vmlinux(const std::vector<std::string>& ca_pem_paths,
                    const std::string& version, const std::string& dir) {
  std::string image = Filler(40000, 1);
  image += "Linux version " + version +
           " (test@build) (gcc 12.2.0) #1 SMP PREEMPT_DYNAMIC\n";
  image += Filler(3000, 2);
  for (size_t i = 0; i < ca_pem_paths.size(); ++i) {
    std::string der = dir + "/ca" + std::to_string(i) + ".der";
    CommandResult conv =
        RunShell("openssl x509 -in " + ShellQuote(ca_pem_paths[i]) +
                 " -outform DER -out " + ShellQuote(der));
    EXPECT_EQ(conv.exit_code, 0) << conv.err;
    image += ReadFile(der) + Filler(500, static_cast<uint32_t>(10 + i));
  }
  return image + Filler(20000, 3);
}

std::string CompressWith(const std::string& tool, const std::string& plain,
                         const std::string& dir) {
  WriteFile(dir + "/vmlinux.bin", plain);
  CommandResult run = RunShell(tool + " < " + ShellQuote(dir + "/vmlinux.bin") +
                               " > " + ShellQuote(dir + "/vmlinux.z"));
  EXPECT_EQ(run.exit_code, 0) << tool << ": " << run.err;
  return ReadFile(dir + "/vmlinux.z");
}

// Documentation/arch/x86/boot.rst: setup_sects at 0x1f1, boot_flag 0xaa55
// at 0x1fe, "HdrS" at 0x202, protocol 2.15 at 0x206, kernel_version
// pointer at 0x20e, payload_offset/payload_length at 0x248/0x24c; the
// protected-mode part starts at (setup_sects + 1) * 512, the payload
// inside it. Every payload but gzip ends, within payload_length, with the
// 4-byte decompressed size (scripts/Makefile.lib size_append), as in a
// real bzImage.
std::string BzImage(std::string payload, const std::string& version,
                    size_t plain_size) {
  constexpr size_t kSetupSects = 4;
  std::string setup((kSetupSects + 1) * 512, '\0');
  setup[0x1f1] = static_cast<char>(kSetupSects);
  PutLe(setup, 0x1fe, 0xaa55, 2);
  setup.replace(0x202, 4, "HdrS");
  PutLe(setup, 0x206, 0x020f, 2);
  const std::string banner = version + " (test@build) #1 SMP";
  const size_t banner_at = 0x400;
  setup.replace(banner_at, banner.size(), banner);
  PutLe(setup, 0x20e, banner_at - 0x200, 2);
  const std::string head = Filler(0x300, 7);  // the decompressor's code
  if (payload.rfind("\x1f\x8b", 0) != 0) {
    std::string size(4, '\0');
    PutLe(size, 0, plain_size, 4);
    payload += size;
  }
  PutLe(setup, 0x248, head.size(), 4);
  PutLe(setup, 0x24c, payload.size(), 4);
  return setup + head + payload + Filler(256, 8);
}

}  // namespace

// Documentation/arch/arm64/booting.rst: "ARM\x64" magic at 0x38, the
// little-endian image_size at 0x10 (no bss here, so the file's size).
std::string Arm64Image(const std::string& vmlinux) {
  std::string header(64, '\0');
  header.replace(0, 2, "MZ");
  header.replace(0x38, 4, std::string("ARM\x64", 4));
  PutLe(header, 0x10, header.size() + vmlinux.size(), 8);
  return header + vmlinux;
}

std::string KernelWrapName(KernelWrap wrap) {
  switch (wrap) {
    case KernelWrap::kBzImageGzip:
      return "bzimage_gzip";
    case KernelWrap::kBzImageXz:
      return "bzimage_xz";
    case KernelWrap::kBzImageZstd:
      return "bzimage_zstd";
    case KernelWrap::kBzImageLz4:
      return "bzimage_lz4";
    case KernelWrap::kBzImageBzip2:
      return "bzimage_bzip2";
    case KernelWrap::kBzImageLzma:
      return "bzimage_lzma";
    case KernelWrap::kArm64Image:
      return "arm64_image";
    case KernelWrap::kArm64ImageGz:
      return "arm64_image_gz";
  }
  return "unknown";
}

void WriteFakeKernel(const std::string& path,
                     const std::vector<std::string>& ca_pem_paths,
                     KernelWrap wrap, const std::string& version) {
  TempDir work;
  const std::string dir = work.Sub("");
  std::string vmlinux = Vmlinux(ca_pem_paths, version, dir);
  std::string out;
  switch (wrap) {
    case KernelWrap::kBzImageGzip:
      out = BzImage(CompressWith("gzip -9 -n", vmlinux, dir), version,
                    vmlinux.size());
      break;
    case KernelWrap::kBzImageXz:  // as scripts/xz_wrap.sh: CRC32
      out = BzImage(CompressWith("xz --check=crc32", vmlinux, dir), version,
                    vmlinux.size());
      break;
    case KernelWrap::kBzImageZstd:
      out = BzImage(CompressWith("zstd -q -19", vmlinux, dir), version,
                    vmlinux.size());
      break;
    case KernelWrap::kBzImageLz4:  // as scripts/Makefile.lib: legacy
      out = BzImage(CompressWith("lz4 -q -l -9", vmlinux, dir), version,
                    vmlinux.size());
      break;
    case KernelWrap::kBzImageBzip2:
      out = BzImage(CompressWith("bzip2 -9", vmlinux, dir), version,
                    vmlinux.size());
      break;
    case KernelWrap::kBzImageLzma:  // as scripts/Makefile.lib: lzma -9
      out = BzImage(CompressWith("xz --format=lzma -9", vmlinux, dir), version,
                    vmlinux.size());
      break;
    case KernelWrap::kArm64Image: {
      // Documentation/arch/arm64/booting.rst: "ARM\x64" magic at 0x38.
      out = Arm64Image(vmlinux);
      break;
    }
    case KernelWrap::kArm64ImageGz: {
      out = CompressWith("gzip -9 -n", Arm64Image(vmlinux), dir);
      break;
    }
  }
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  WriteFile(path, out);
}

void WriteGzipInitramfs(const std::string& tree, const std::string& path) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  CommandResult packed = RunShell(
      "cd " + ShellQuote(tree) +
      " && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -n > " +
      ShellQuote(path));
  ASSERT_EQ(packed.exit_code, 0) << packed.err;
}

}  // namespace imab::testing
