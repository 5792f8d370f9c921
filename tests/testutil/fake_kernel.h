// Synthetic kernel files for boot-chain tests: the bytes a real kernel
// build would give where it matters to the scan (common/read/kernel_image.h):
// a "Linux version" banner and the built-in CA certificates as DER inside
// the decompressed image, wrapped as an x86 bzImage (setup header with
// payload_offset/payload_length, payload compressed by the command-line
// tool), an arm64 Image (raw), or an Image.gz. Also the initramfs images
// that go beside them, packed from a folder.
#pragma once

#include <string>
#include <vector>

namespace imab::testing {

// How the kernel file is laid out.
enum class KernelWrap {
  kBzImageGzip,
  kBzImageXz,
  kBzImageZstd,
  kBzImageLz4,
  kBzImageBzip2,
  kBzImageLzma,   // CONFIG_KERNEL_LZMA: the legacy "lzma alone" format
  kArm64Image,    // uncompressed
  kArm64ImageGz,  // Image.gz
};

// `vmlinux` behind an arm64 Image header whose image_size is its size.
std::string Arm64Image(const std::string& vmlinux);

// Short name for test names ("bzimage_xz").
std::string KernelWrapName(KernelWrap wrap);

// Writes a kernel file to `path` whose decompressed image holds the banner
// "Linux version VERSION ..." and each certificate of `ca_pem_paths` (PEM
// files) as DER, between filler bytes. Fails the test on a tool error.
void WriteFakeKernel(const std::string& path,
                     const std::vector<std::string>& ca_pem_paths,
                     KernelWrap wrap, const std::string& version = "6.1.0");

// Packs the folder `tree` as a gzip-compressed newc initramfs at `path`
// (making its folder), names sorted as a reproducible build would. Fails
// the test (fatally) on a tool error.
void WriteGzipInitramfs(const std::string& tree, const std::string& path);

}  // namespace imab::testing
