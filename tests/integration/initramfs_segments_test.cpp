// Issue 12, review item A, end to end: an initramfs is read the way the
// kernel's unpack_to_rootfs reads it. After a compressed stream the kernel
// goes on (zero padding, then another cpio or another stream) and a later
// member replaces an earlier one of the same name; so a foreign
// x509_evm.der appended after the gzip stream is the key the device loads.
// Real bundles built by imab-build, judged by `imab-verify verify --root`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/bundle_forge.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr uint64_t kCreated = 1700000000;  // SOURCE_DATE_EPOCH of RunBuild
constexpr char kInitrd[] = "boot/initramfs.img";

// What follows the gzip stream that holds the declared key.
enum class Tail { kPlainCpio, kXzStream };

class InitramfsSegmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"cpio", "gzip", "xz", "zstd"}) {
      if (!HaveTool(tool)) {
        GTEST_SKIP() << tool << " not installed";
      }
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    kernel_ca_ = MakeRootCa(dir_.Sub(""), "kernel-ca");
    old_ = MakeIssued(dir_.Sub(""), "old", kernel_ca_);
    new_ = MakeIssued(dir_.Sub(""), "new", kernel_ca_);
    rootfs_ = dir_.Sub("rootfs");
    MakeBootableSampleTree(rootfs_);
    fs::create_directories(rootfs_ + "/boot");
    device_ = dir_.Sub("device");
    WriteDevice();
  }

  std::string DerSha(const TestIdentity& id) {
    return RunShell("sha256sum < " + ShellQuote(DerCopy(id)) + " | cut -c1-64")
        .out.substr(0, 64);
  }

  // A newc cpio of a tree with `cert` as both key files, through `filter`.
  std::string Segment(const std::string& name, const TestIdentity& cert,
                      const std::string& filter) {
    std::string tree = dir_.Sub("seg-" + name);
    fs::create_directories(tree + "/etc/keys");
    WriteFile(tree + "/init", "#!/bin/sh\n");
    WriteFile(tree + "/etc/keys/x509_evm.der", ReadFile(DerCopy(cert)));
    WriteFile(tree + "/etc/keys/x509_ima.der", ReadFile(DerCopy(cert)));
    CommandResult r = RunShell("cd " + ShellQuote(tree) +
                               " && find . | LC_ALL=C sort | cpio -o -H newc "
                               "--quiet | " +
                               filter);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // gzip(cpio with `declared`) + zero padding + `tail` holding `foreign`.
  std::string Attack(const TestIdentity& declared, const TestIdentity& foreign,
                     Tail tail) {
    std::string image = Segment("a", declared, "gzip -n");
    image.append(512 + (4 - image.size() % 4) % 4, '\0');  // keeps 4-aligned
    image += Segment("b", foreign,
                     tail == Tail::kPlainCpio ? "cat" : "xz --check=crc32");
    return image;
  }

  void WriteDevice() {
    WriteDeviceFolder(device_, kernel_ca_.cert_path, DerCopy(old_),
                      keys_->ca().cert_path);
  }

  CommandResult Build(const std::string& rootfs, const std::string& extra,
                      const std::string& name) {
    return RunBuild(rootfs, dir_.Sub(name), *keys_, extra);
  }

  CommandResult Judge(const std::string& name) {
    return RunVerifyOnDevice(dir_.Sub(name), device_);
  }

  // An image signed elsewhere (with new_), its initramfs `initramfs`: a
  // built bundle extracted with its security.* xattrs. `initramfs` rides
  // along under opt/ (not an initramfs path, so signed, not rewritten) and
  // is renamed over boot/initramfs.img, keeping its signatures (EVM's
  // portable signature covers no path).
  std::string SignedTree(const std::string& initramfs) {
    std::string signed_tree = dir_.Sub("signed");
    WriteFile(rootfs_ + "/" + kInitrd, Segment("plain", new_, "gzip -n"));
    fs::create_directories(rootfs_ + "/opt");
    WriteFile(rootfs_ + "/opt/stash.img", initramfs);
    CommandResult build = Build(rootfs_,
                                "--ima-key " + ShellQuote(new_.key_path) +
                                    " --ima-cert " + ShellQuote(DerCopy(new_)),
                                "signed.imab");
    EXPECT_EQ(build.exit_code, 0) << build.err;
    fs::remove(rootfs_ + "/opt/stash.img");
    CommandResult extracted =
        RunExtract(dir_.Sub("signed.imab"), keys_->ca().cert_path, signed_tree);
    EXPECT_EQ(extracted.exit_code, 0) << extracted.err;
    fs::rename(signed_tree + "/opt/stash.img", signed_tree + "/" + kInitrd);
    return signed_tree;
  }

  // `install` of bundle `name` on a device made by `device init` with the
  // same keys as device_ (old_ loaded).
  CommandResult InstallOnFreshDevice(const std::string& name) {
    std::string root = dir_.Sub("installed-device");
    fs::remove_all(root);
    CommandResult init =
        RunShell(ShellQuote(VerifyBin()) + " device init --root " +
                 ShellQuote(root) + " --compatible test-board --release-ca " +
                 ShellQuote(keys_->ca().cert_path) + " --kernel-ca " +
                 ShellQuote(kernel_ca_.cert_path) + " --ima-cert " +
                 ShellQuote(DerCopy(old_)));
    EXPECT_EQ(init.exit_code, 0) << init.err;
    return RunShell(ShellQuote(VerifyBin()) + " install " +
                    ShellQuote(dir_.Sub(name)) + " --root " + ShellQuote(root) +
                    " --no-time-check");
  }

  std::string Keep(const std::string& certs) {
    return "--keep-signatures " + certs;
  }
  std::string ImaCert(const TestIdentity& id) {
    return "--ima-cert " + ShellQuote(DerCopy(id)) + " ";
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity kernel_ca_, old_, new_;
  std::string rootfs_, device_;
};

const Tail kTails[] = {Tail::kPlainCpio, Tail::kXzStream};

const char* TailName(Tail tail) {
  return tail == Tail::kPlainCpio ? "appended plain cpio" : "appended xz";
}

// The builder will not rewrite keys that two segments define: which one
// the kernel keeps is not something an edit should leave ambiguous.
TEST_F(InitramfsSegmentsTest, BuilderRefusesToRewriteKeysInTwoSegments) {
  for (Tail tail : kTails) {
    SCOPED_TRACE(TailName(tail));
    WriteFile(rootfs_ + "/" + kInitrd, Attack(old_, old_, tail));
    CommandResult build = Build(rootfs_,
                                "--ima-key " + ShellQuote(new_.key_path) + " " +
                                    ImaCert(new_) + "--initramfs " + kInitrd,
                                "b.imab");
    EXPECT_NE(build.exit_code, 0);
    EXPECT_THAT(build.err,
                HasSubstr(std::string(kInitrd) +
                          ": initramfs: etc/keys certificates in the "
                          "segment at offset 0 and again in the segment "
                          "at offset "));
  }
}

// The reviewer's attack on an image signed elsewhere: the declared key in
// the gzip stream, the device's old key appended after it. The kernel
// would load the old key and refuse every file signed with the new one.
TEST_F(InitramfsSegmentsTest, KeptInitramfsWithAKeyAfterTheStreamIsRefused) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "extracting security.* xattrs needs root";
  }
  for (Tail tail : kTails) {
    SCOPED_TRACE(TailName(tail));
    std::string tree = SignedTree(Attack(new_, old_, tail));
    CommandResult build = Build(tree, Keep(ImaCert(new_)), "kept.imab");
    EXPECT_NE(build.exit_code, 0);
    EXPECT_THAT(build.err,
                HasSubstr(std::string(kInitrd) +
                          ": a certificate in etc/keys is not one of the "
                          "--ima-cert certificates"));
    if (build.exit_code == 0) {
      CommandResult judged = Judge("kept.imab");
      EXPECT_EQ(judged.exit_code, 1) << "built, and the device accepts it";
    }
    fs::remove_all(tree);
  }
}

// The verifier's own check: a validly re-signed manifest that declares the
// key of the gzip stream while the appended segment holds another.
TEST_F(InitramfsSegmentsTest, ForgedDeclarationOfTheEarlierKeyIsRefused) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "extracting security.* xattrs needs root";
  }
  for (Tail tail : kTails) {
    SCOPED_TRACE(TailName(tail));
    std::string tree = SignedTree(Attack(new_, old_, tail));
    CommandResult build =
        Build(tree, Keep(ImaCert(new_) + ImaCert(old_)), "both.imab");
    ASSERT_EQ(build.exit_code, 0) << build.err;
    ForgedBundle forged;
    const std::string bundle = ShellQuote(dir_.Sub("both.imab"));
    forged.manifest = RunShell("tar -xOf " + bundle + " manifest").out;
    forged.payload = RunShell("tar -xOf " + bundle + " payload.tar.zst").out;
    const std::string line = std::string("initramfs ") + kInitrd + " ";
    size_t at = forged.manifest.find(line);
    ASSERT_NE(at, std::string::npos) << forged.manifest;
    std::string old_line =
        forged.manifest.substr(at, forged.manifest.find('\n', at) - at);
    std::string want =
        line + DerSha(old_) + " " + DerSha(old_);  // what the kernel keeps
    ASSERT_EQ(old_line, want);
    forged.manifest.replace(at, old_line.size(),
                            line + DerSha(new_) + " " + DerSha(new_));
    forged.signature = SignWith(forged.manifest, keys_->signer());
    WriteFile(dir_.Sub("forged.imab"), Assemble(forged, kCreated));
    CommandResult judged = Judge("forged.imab");
    EXPECT_EQ(judged.exit_code, 1) << judged.err;
    EXPECT_THAT(judged.err,
                HasSubstr(std::string("initramfs ") + kInitrd +
                          ": etc/keys/x509_evm.der (SHA-256 " +
                          DerSha(old_).substr(0, 16) +
                          "...) is not the certificate the manifest "
                          "declares"));
    CommandResult installed = InstallOnFreshDevice("forged.imab");
    EXPECT_EQ(installed.exit_code, 1) << installed.err;
    EXPECT_THAT(installed.err, HasSubstr("etc/keys/x509_evm.der (SHA-256 " +
                                         DerSha(old_).substr(0, 16) + "...)"));
    fs::remove_all(tree);
  }
}

// The kernel skips zeros after any stream: xz or zstd padded with zeros is
// a valid initramfs, rewritten and accepted.
TEST_F(InitramfsSegmentsTest, StreamFollowedByZeroPaddingIsAccepted) {
  for (const char* filter : {"zstd -q -c", "xz --check=crc32"}) {
    SCOPED_TRACE(filter);
    std::string image = Segment("padded", old_, filter);
    image.append(4096, '\0');
    WriteFile(rootfs_ + "/" + kInitrd, image);
    CommandResult build = Build(rootfs_,
                                "--ima-key " + ShellQuote(new_.key_path) + " " +
                                    ImaCert(new_) + "--initramfs " + kInitrd,
                                "padded.imab");
    ASSERT_EQ(build.exit_code, 0) << build.err;
    CommandResult judged = Judge("padded.imab");
    EXPECT_EQ(judged.exit_code, 0) << judged.err;
  }
}

// Kept verbatim (--keep-signatures), the padded stream reaches the verifier.
TEST_F(InitramfsSegmentsTest, KeptStreamWithZeroPaddingIsAccepted) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "extracting security.* xattrs needs root";
  }
  for (const char* filter : {"zstd -q -c", "xz --check=crc32"}) {
    SCOPED_TRACE(filter);
    std::string image = Segment("padded", new_, filter);
    image.append(4096, '\0');
    std::string tree = SignedTree(image);
    CommandResult build = Build(tree, Keep(ImaCert(new_)), "kept.imab");
    ASSERT_EQ(build.exit_code, 0) << build.err;
    CommandResult judged = Judge("kept.imab");
    EXPECT_EQ(judged.exit_code, 0) << judged.err;
    fs::remove_all(tree);
  }
}

}  // namespace
}  // namespace imab::testing
