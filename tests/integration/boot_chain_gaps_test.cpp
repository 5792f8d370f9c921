// Boot-chain false accepts found in review of issue 12, items 1 and 4, end
// to end (real imab-build where it can build the bundle, else a manifest
// re-signed with the release key, as a hostile or buggy builder could):
//  - a `kernel` line without any `kernel-ca` line;
//  - kernels and initramfs reached through symlinked folders, and the Boot
//    Loader Spec layout boot/<token>/<kver>/linux;
//  - a CA appended to a kernel file, outside what the bootloader loads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/integration/boot_chain_fixture.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

void ReplaceAll(std::string& text, const std::string& from,
                const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

class BootChainGapsTest : public BootChainTest {
 protected:
  std::string Sha256Hex(const std::string& bytes) {
    const std::string file = dir_.Sub("sha-input");
    WriteFile(file, bytes);
    return RunShell("sha256sum " + ShellQuote(file) + " | cut -c1-64")
        .out.substr(0, 64);
  }

  // The bundle `name` with the bytes `from` replaced by `to` (same length)
  // inside the image file `path` (in the payload and its manifest digest),
  // the manifest further edited by `edit`, signed again by the release
  // signer: a kernel different from the one the builder checked.
  void ResignWithFileEdit(const std::string& name, const std::string& out,
                          const std::string& path, const std::string& from,
                          const std::string& to,
                          const std::function<void(std::string&)>& edit) {
    ASSERT_EQ(from.size(), to.size());
    const std::string bundle = dir_.Sub(name);
    ForgedBundle forged;
    forged.manifest =
        RunShell("tar -xOf " + ShellQuote(bundle) + " manifest").out;
    const std::string old_payload =
        RunShell("tar -xOf " + ShellQuote(bundle) + " payload.tar.zst").out;
    std::string tar = RunShell("tar -xOf " + ShellQuote(bundle) +
                               " payload.tar.zst | zstd -dc")
                          .out;
    std::string content = ReadFile(rootfs_ + "/" + path);
    const std::string old_sha = Sha256Hex(content);
    ASSERT_THAT(content, HasSubstr(from));
    ReplaceAll(content, from, to);
    ASSERT_THAT(tar, HasSubstr(from));
    ReplaceAll(tar, from, to);
    forged.payload = Compress(tar);
    ReplaceAll(forged.manifest, old_sha, Sha256Hex(content));
    ReplaceAll(forged.manifest, Sha256Hex(old_payload),
               Sha256Hex(forged.payload));
    ReplaceAll(forged.manifest,
               "payload-size " + std::to_string(old_payload.size()) + "\n",
               "payload-size " + std::to_string(forged.payload.size()) + "\n");
    edit(forged.manifest);
    forged.signature = SignWith(forged.manifest, keys_->signer());
    WriteFile(dir_.Sub(out), Assemble(forged, kCreated));
  }
};

// The review's example: a `kernel` line, no `kernel-ca` line, and a kernel
// carrying only OTHER. Judged with the device's CA, the signer (under the
// device's CA) looks fine; the booted kernel would trust only OTHER. Built
// with a kernel carrying both CAs, then the device's CA blanked out of the
// kernel and both kernel-ca lines dropped. Variant: a bzImage and an arm64
// Image (for the bzImage the re-signed manifest keeps the kernel as built,
// which still carries the device CA: the line alone is refused).
TEST_F(BootChainGapsTest, KernelLineWithoutKernelCaIsRefused) {
  const std::string device_ca = ReadFile(DerCopy(kernel_ca_));
  const std::vector<std::pair<KernelWrap, std::string>> cases = {
      {KernelWrap::kArm64Image, "Image"},
      {KernelWrap::kBzImageGzip, "vmlinuz-6.1.0"},
  };
  for (const auto& [wrap, name] : cases) {
    SCOPED_TRACE(name);
    const std::string kernel = "boot/" + name;
    WriteFakeKernel(rootfs_ + "/" + kernel,
                    {kernel_ca_.cert_path, other_ca_.cert_path}, wrap);
    // Unsigned and owned by 1000, so the policy (appraise_tcb) does not
    // appraise it and no IMA signature needs forging; a bootloader does not
    // look at them anyway.
    ASSERT_EQ(::chown((rootfs_ + "/" + kernel).c_str(), 1000, 1000), 0);
    CommandResult build = Build(
        new_,
        KernelCa(kernel_ca_) + " " + KernelCa(other_ca_) +
            " --initramfs boot/initramfs.img" + " --ima-exclude " + kernel,
        name + ".imab");
    ASSERT_EQ(build.exit_code, 0) << build.err;
    auto drop_cas = [&](std::string& m) {
      Erase(m, "kernel-ca ");
      Erase(m, "kernel-ca ");
    };
    if (wrap == KernelWrap::kArm64Image) {
      ResignWithFileEdit(name + ".imab", name + "-forged.imab", kernel,
                         device_ca, std::string(device_ca.size(), 'X'),
                         drop_cas);
    } else {
      Resign(name + ".imab", name + "-forged.imab", drop_cas);
    }
    CommandResult judged = Judge(name + "-forged.imab");
    EXPECT_EQ(judged.exit_code, 1) << judged.err;
    EXPECT_THAT(judged.err,
                HasSubstr("a kernel line needs the kernel-ca lines"));
    fs::remove(rootfs_ + "/" + kernel);
  }
}

// The review's example: `cat Image other-ca.der > boot/Image`. The builder
// and the verifier found the CA, the booted kernel does not have it (the
// kernel is its first image_size bytes). Variant: the same inside an
// Image.gz.
TEST_F(BootChainGapsTest, CaAppendedToTheKernelDoesNotCount) {
  const std::string other = ReadFile(DerCopy(other_ca_));
  for (const std::string name : {"Image", "Image.gz"}) {
    SCOPED_TRACE(name);
    const std::string kernel = rootfs_ + "/boot/" + name;
    WriteFakeKernel(dir_.Sub("") + "/plain-Image", {kernel_ca_.cert_path},
                    KernelWrap::kArm64Image);
    WriteFile(kernel, ReadFile(dir_.Sub("") + "/plain-Image") + other);
    if (name == "Image.gz") {
      ASSERT_EQ(RunShell("gzip -n -c < " + ShellQuote(kernel) + " > " +
                         ShellQuote(kernel + ".tmp") + " && mv " +
                         ShellQuote(kernel + ".tmp") + " " + ShellQuote(kernel))
                    .exit_code,
                0);
    }
    CommandResult build = Build(
        under_other_, KernelCa(other_ca_) + " --initramfs boot/initramfs.img",
        name + ".imab");
    EXPECT_NE(build.exit_code, 0);
    EXPECT_THAT(
        build.err,
        HasSubstr("boot/" + name + ": this kernel does not carry --kernel-ca"));
    ExpectRefusedIfBuilt(build, name + ".imab");
    fs::remove(kernel);
  }
}

// The review's example: `boot -> usr/lib/boot`, the kernel (carrying only
// OTHER) inside, no --kernel-ca, the signer under the device's CA: judged
// with the device's CA, yet GRUB boots the kernel with OTHER. Variant:
// `boot/k -> ../opt/k`.
TEST_F(BootChainGapsTest, SymlinkedBootFolderIsRefused) {
  struct Case {
    std::string link, target, folder, initramfs;
  };
  const std::vector<Case> cases = {
      {"boot", "usr/lib/boot", "usr/lib/boot", "usr/lib/boot/initramfs.img"},
      {"boot/k", "../opt/k", "opt/k", "boot/initramfs.img"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.link);
    const std::string name = fs::path(c.folder).filename().string() + ".imab";
    if (c.link == "boot") {
      fs::create_directories(rootfs_ + "/usr/lib");
      fs::rename(rootfs_ + "/boot", rootfs_ + "/" + c.folder);
    }
    WriteFakeKernel(rootfs_ + "/" + c.folder + "/vmlinuz-6.1.0",
                    {other_ca_.cert_path}, KernelWrap::kBzImageGzip);
    fs::create_symlink(c.target, rootfs_ + "/" + c.link);
    CommandResult build = Build(new_, "--initramfs " + c.initramfs, name);
    EXPECT_NE(build.exit_code, 0);
    EXPECT_THAT(build.err,
                HasSubstr(c.link + ": a symlink to the folder " + c.folder));
    if (build.exit_code == 0) {
      CommandResult judged = Judge(name);
      EXPECT_EQ(judged.exit_code, 1) << "built, and the device accepts it";
      EXPECT_THAT(judged.err,
                  HasSubstr("boot folder " + c.link +
                            " is a symlink to the folder " + c.folder));
    }
    fs::remove(rootfs_ + "/" + c.link);
    fs::remove(rootfs_ + "/" + c.folder + "/vmlinuz-6.1.0");
    if (c.link == "boot") {
      fs::rename(rootfs_ + "/" + c.folder, rootfs_ + "/boot");
    }
  }
}

// Boot Loader Spec type 1: boot/<token>/<kver>/linux is a kernel. Here it
// carries only OTHER and no --kernel-ca is given: the device would boot it
// with OTHER. (Its .../initrd already matched the initramfs rule.)
TEST_F(BootChainGapsTest, BootLoaderSpecKernelIsACandidate) {
  for (const std::string kver : {"6.1.0-13-amd64", "6.6.0"}) {
    SCOPED_TRACE(kver);
    const std::string kernel = "boot/4a1f0c/" + kver + "/linux";
    WriteFakeKernel(rootfs_ + "/" + kernel, {other_ca_.cert_path},
                    KernelWrap::kBzImageZstd);
    CommandResult build =
        Build(new_, "--initramfs boot/initramfs.img", kver + ".imab");
    EXPECT_NE(build.exit_code, 0);
    EXPECT_THAT(build.err, HasSubstr(kernel + ": the image ships a kernel"));
    ExpectRefusedIfBuilt(build, kver + ".imab");
    fs::remove_all(rootfs_ + "/boot/4a1f0c");
  }
}

}  // namespace
}  // namespace imab::testing
