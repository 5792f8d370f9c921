// Boot-chain keys end to end: the builder puts the signing certificate into
// the image's initramfs (gzip and zstd), records it in the manifest, and the
// verifier rejects a bundle whose initramfs carries another certificate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/read/bundle_container.h"
#include "common/read/byte_source.h"
#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/bundle_forge.h"
#include "tests/testutil/memory_byte_source.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/tree_compare.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("cpio")) {
      GTEST_SKIP() << "cpio not installed";
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    kernel_ca_ = MakeRootCa(dir_.Sub(""), "kernel-ca");
    CertOptions rsa;
    rsa.key_type = KeyType::kRsa2048;
    ima_ = MakeIssued(dir_.Sub(""), "ima", kernel_ca_, rsa);
    ima_der_ = DerOf(ima_.cert_path, "ima.der");
    old_ = MakeIssued(dir_.Sub(""), "old", kernel_ca_, rsa);
    rootfs_ = dir_.Sub("rootfs");
    SampleTreeOptions small;
    small.big_file_bytes = 1000;
    MakeSampleTree(rootfs_, small);
    fs::create_directories(rootfs_ + "/boot");
    // The initramfs the image ships, carrying the old certificate.
    initrd_tree_ = dir_.Sub("initrd-tree");
    fs::create_directories(initrd_tree_ + "/etc/keys");
    fs::create_directories(initrd_tree_ + "/bin");
    WriteFile(initrd_tree_ + "/bin/init", "#!/bin/sh\nexec /sbin/init\n");
    WriteFile(initrd_tree_ + "/etc/keys/x509_evm.der",
              ReadFile(DerOf(old_.cert_path, "old.der")));
    fs::create_symlink("x509_evm.der", initrd_tree_ + "/etc/keys/x509_ima.der");
  }

  std::string DerOf(const std::string& pem, const std::string& name) {
    std::string out = dir_.Sub(name);
    EXPECT_EQ(RunShell("openssl x509 -in " + ShellQuote(pem) +
                       " -outform DER -out " + ShellQuote(out))
                  .exit_code,
              0);
    return out;
  }

  void MakeInitramfs(const std::string& name, const std::string& compressor) {
    std::string cmd = "cd " + ShellQuote(initrd_tree_) +
                      " && find . | LC_ALL=C sort | cpio -o -H newc "
                      "--quiet | " +
                      compressor + " > " +
                      ShellQuote(rootfs_ + "/boot/" + name);
    ASSERT_EQ(RunShell(cmd).exit_code, 0);
  }

  std::string ImaFlags() const {
    return "--ima-key " + ShellQuote(ima_.key_path) + " --ima-cert " +
           ShellQuote(ima_der_) + " --kernel-ca " +
           ShellQuote(kernel_ca_.cert_path) + " --key-generation 2";
  }

  // Unpacks boot/NAME of an extracted tree into `to` with cpio.
  void Unpack(const std::string& image, const std::string& decompressor,
              const std::string& to) {
    fs::create_directories(to);
    ASSERT_EQ(RunShell("cd " + ShellQuote(to) + " && " + decompressor + " < " +
                       ShellQuote(image) + " | cpio -idm --quiet")
                  .exit_code,
              0);
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity kernel_ca_;
  TestIdentity ima_;
  TestIdentity old_;
  std::string ima_der_;
  std::string rootfs_;
  std::string initrd_tree_;
};

TEST_F(KeysTest, GzipAndZstdInitramfsGetTheNewCertificate) {
  if (!HaveTool("zstd")) {
    GTEST_SKIP() << "zstd not installed";
  }
  MakeInitramfs("initramfs-6.1.img", "gzip -n");
  MakeInitramfs("initrd.img-6.1", "zstd -q");
  std::string bundle = dir_.Sub("b.imab");
  CommandResult build = RunBuild(rootfs_, bundle, *keys_, ImaFlags());
  ASSERT_EQ(build.exit_code, 0) << build.err;
  EXPECT_THAT(build.out, HasSubstr("initramfs boot/initramfs-6.1.img"));
  EXPECT_THAT(build.out, HasSubstr("initramfs boot/initrd.img-6.1"));
  CommandResult verify = RunVerify(bundle, keys_->ca().cert_path);
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  std::string out = dir_.Sub("out");
  ASSERT_EQ(RunExtract(bundle, keys_->ca().cert_path, out).exit_code, 0);

  const std::pair<const char*, const char*> images[] = {
      {"initramfs-6.1.img", "gzip -dc"}, {"initrd.img-6.1", "zstd -dc"}};
  for (const auto& [name, decompressor] : images) {
    std::string unpacked = dir_.Sub(std::string("unpacked-") + name);
    Unpack(out + "/boot/" + name, decompressor, unpacked);
    EXPECT_EQ(ReadFile(unpacked + "/etc/keys/x509_evm.der"), ReadFile(ima_der_))
        << name;
    EXPECT_TRUE(fs::is_symlink(unpacked + "/etc/keys/x509_ima.der")) << name;
    // Every other member is unchanged.
    fs::remove(unpacked + "/etc/keys/x509_evm.der");
    std::string original = dir_.Sub(std::string("orig-") + name);
    fs::copy(initrd_tree_, original,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::remove(original + "/etc/keys/x509_evm.der");
    std::vector<std::string> diffs = CompareTrees(original, unpacked);
    // cpio -idm restores mtimes but not necessarily directory owners of
    // the unpack root; compare entries only.
    EXPECT_TRUE(diffs.empty())
        << name << ": " << ::testing::PrintToString(diffs);
  }
}

TEST_F(KeysTest, AnInitramfsWithAnotherCertificateIsRejected) {
  MakeInitramfs("initramfs-6.1.img", "gzip -n");
  std::string bundle = dir_.Sub("b.imab");
  ASSERT_EQ(RunBuild(rootfs_, bundle, *keys_, ImaFlags()).exit_code, 0);
  // Re-sign a manifest that declares the old certificate's digest: only the
  // initramfs check can notice.
  std::string bytes = ReadFile(bundle);
  MemoryByteSource source(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  auto layout = ReadBundleLayout(source);
  ASSERT_TRUE(layout.has_value());
  ForgedBundle forged;
  forged.manifest =
      bytes.substr(layout->manifest_offset, layout->manifest_size);
  forged.payload = bytes.substr(layout->payload_offset, layout->payload_size);
  CommandResult old_sha = RunShell(
      "sha256sum < " + ShellQuote(dir_.Sub("old.der")) + " | cut -c1-64");
  size_t at = forged.manifest.find("initramfs boot/initramfs-6.1.img ");
  ASSERT_NE(at, std::string::npos);
  at += std::string("initramfs boot/initramfs-6.1.img ").size();
  forged.manifest.replace(at, 64, old_sha.out.substr(0, 64));
  forged.signature = SignWith(forged.manifest, keys_->signer());
  WriteFile(bundle, Assemble(forged, layout->mtime));
  CommandResult verify = RunVerify(bundle, keys_->ca().cert_path);
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_THAT(verify.err, HasSubstr("initramfs boot/initramfs-6.1.img"));
  EXPECT_THAT(verify.err, HasSubstr("x509_evm.der"));
}

TEST_F(KeysTest, ASigningCertificateTheKernelWouldRefuseStopsTheBuild) {
  // Self-signed: not issued by the kernel CA.
  CertOptions rsa;
  rsa.key_type = KeyType::kRsa2048;
  TestIdentity stray = MakeRootCa(dir_.Sub(""), "stray", rsa);
  std::string bundle = dir_.Sub("b.imab");
  CommandResult build =
      RunBuild(rootfs_, bundle, *keys_,
               "--ima-key " + ShellQuote(stray.key_path) + " --ima-cert " +
                   ShellQuote(stray.cert_path) + " --kernel-ca " +
                   ShellQuote(kernel_ca_.cert_path));
  EXPECT_EQ(build.exit_code, 2);
  EXPECT_THAT(build.err, HasSubstr("kernel would refuse"));
  EXPECT_FALSE(fs::exists(bundle));
}

TEST_F(KeysTest, AMissingInitramfsIsAnError) {
  std::string bundle = dir_.Sub("b.imab");
  CommandResult build = RunBuild(rootfs_, bundle, *keys_,
                                 ImaFlags() + " --initramfs boot/nope.img");
  EXPECT_EQ(build.exit_code, 2);
  EXPECT_THAT(build.err, HasSubstr("boot/nope.img"));
  EXPECT_FALSE(fs::exists(bundle));
}

TEST_F(KeysTest, ABrokenInitramfsIsAnError) {
  WriteFile(rootfs_ + "/boot/initramfs-6.1.img", "not a cpio archive at all");
  std::string bundle = dir_.Sub("b.imab");
  CommandResult build = RunBuild(rootfs_, bundle, *keys_, ImaFlags());
  EXPECT_EQ(build.exit_code, 2);
  EXPECT_THAT(build.err, HasSubstr("boot/initramfs-6.1.img"));
}

}  // namespace
}  // namespace imab::testing
