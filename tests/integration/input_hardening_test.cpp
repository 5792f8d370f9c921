// Inputs the verifier must refuse quickly and clearly (issue 12 item 10):
// FIFOs and devices where a file belongs, a payload frame without its
// checksum, records an install could not write, names with control bytes.
// Every command runs under `timeout` and a memory cap, so a build that
// hangs or reads /dev/zero whole fails the test instead of the machine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <zstd.h>

#include <filesystem>

#include "common/read/limits.h"
#include "common/read/tar_header.h"
#include "tests/testutil/bundle_forge.h"
#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/tree_compare.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr uint64_t kCreated = 1700000000;

// `command` with at most 20 s and 2 GiB of address space; 124 on timeout.
// Sanitizer builds reserve terabytes of address space: no cap there (the
// binaries under test are built with the same flags as this test).
CommandResult Bounded(const std::string& command) {
#if defined(__SANITIZE_ADDRESS__)
  const std::string cap;
#else
  const std::string cap = "ulimit -v 2097152; ";
#endif
  return RunShell(cap + "timeout 20 " + command);
}

// True when `text` has a byte a terminal would act on.
bool HasRawControlByte(const std::string& text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte == 0x1b || byte == '\r' || byte == 0x7f) {
      return true;
    }
  }
  return false;
}

// One line: the message and its final newline, nothing after.
void ExpectOneLine(const std::string& err) {
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
  EXPECT_FALSE(HasRawControlByte(err)) << err;
}

// One zstd frame with Content_Checksum_Flag clear; `streamed` compresses
// through ZSTD_compressStream2 instead of the one-shot call.
std::string CompressWithoutChecksum(const std::string& tar,
                                    bool streamed = false) {
  std::string out(ZSTD_compressBound(tar.size()), '\0');
  Ptr<ZSTD_CCtx> cctx(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 0);
  if (!streamed) {
    size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), tar.data(),
                              tar.size());
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
  }
  ZSTD_inBuffer in{tar.data(), tar.size(), 0};
  ZSTD_outBuffer dst{out.data(), out.size(), 0};
  size_t left = ZSTD_compressStream2(cctx.get(), &dst, &in, ZSTD_e_end);
  EXPECT_EQ(left, 0u);
  out.resize(dst.pos);
  return out;
}

class InputHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override { keys_ = std::make_unique<ReleaseKeys>(dir_.Sub("")); }

  CommandResult Verify(const std::string& bundle, const std::string& ca,
                       const std::string& extra = "") {
    return Bounded(ShellQuote(VerifyBin()) + " verify " + ShellQuote(bundle) +
                   " --release-ca " + ShellQuote(ca) + " --no-time-check " +
                   extra);
  }

  // A signed bundle of `entries` with `payload` as the compressed member.
  std::string Write(const std::string& name, std::vector<ForgedEntry> entries,
                    const std::string* payload = nullptr) {
    ForgedBundle forged = Forge(entries, keys_->signer(), kCreated);
    if (payload != nullptr) {
      FillDigests(entries);
      forged.payload = *payload;
      forged.manifest = EncodeManifest(entries, forged.payload, kCreated);
      forged.signature = SignWith(forged.manifest, keys_->signer());
    }
    std::string path = dir_.Sub(name);
    WriteFile(path, Assemble(forged, kCreated));
    return path;
  }

  std::string Fifo(const std::string& name) {
    std::string path = dir_.Sub(name);
    EXPECT_EQ(::mkfifo(path.c_str(), 0644), 0);
    return path;
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
};

TEST_F(InputHardeningTest, FifoAsBundleOrCertificateIsRefusedAtOnce) {
  std::string good = Write("good.imab", {File("a", "x")});
  ASSERT_EQ(Verify(good, keys_->ca().cert_path).exit_code, 0);

  std::string fifo = Fifo("bundle.imab");
  CommandResult bundle = Verify(fifo, keys_->ca().cert_path);
  EXPECT_EQ(bundle.exit_code, 2) << bundle.err;
  EXPECT_THAT(bundle.err, HasSubstr(fifo + ": not a regular file (a FIFO)"));
  ExpectOneLine(bundle.err);

  // Variant: the release CA file.
  std::string ca_fifo = Fifo("ca.pem");
  CommandResult ca = Verify(good, ca_fifo);
  EXPECT_EQ(ca.exit_code, 2) << ca.err;
  EXPECT_THAT(ca.err, HasSubstr(ca_fifo + ": not a regular file"));
  ExpectOneLine(ca.err);
}

// A zstd frame without its content checksum (FORMAT.md §4.1), signed as it
// is: 056fc7e accepted it.
TEST_F(InputHardeningTest, PayloadFrameWithoutChecksumIsRefused) {
  std::vector<ForgedEntry> entries = {File("a", "content")};
  FillDigests(entries);
  std::string tar =
      EncodePayloadTar(entries, kCreated) + std::string(kTarEndBytes, '\0');
  std::string plain = CompressWithoutChecksum(tar);
  CommandResult verify =
      Verify(Write("nosum.imab", entries, &plain), keys_->ca().cert_path);
  EXPECT_EQ(verify.exit_code, 1) << verify.err;
  EXPECT_THAT(verify.err, HasSubstr("zstd frame has no content checksum"));

  // Variant: a larger frame of several blocks, made by the streaming
  // compressor, also without the checksum.
  std::vector<ForgedEntry> big = {
      File("big", std::string(300000, 'b') + std::string(300000, 'c'))};
  FillDigests(big);
  std::string big_tar =
      EncodePayloadTar(big, kCreated) + std::string(kTarEndBytes, '\0');
  std::string streamed = CompressWithoutChecksum(big_tar, /*streamed=*/true);
  CommandResult multi =
      Verify(Write("multi.imab", big, &streamed), keys_->ca().cert_path);
  EXPECT_EQ(multi.exit_code, 1) << multi.err;
  EXPECT_THAT(multi.err, HasSubstr("zstd frame has no content checksum"));

  // Also refused (056fc7e with another message): a skippable frame ahead
  // of the checksummed frame.
  std::string skippable(
      "\x50\x2a\x4d\x18\x04\x00\x00\x00"
      "abcd",
      12);
  std::string padded = skippable + Compress(tar);
  CommandResult skip =
      Verify(Write("skip.imab", entries, &padded), keys_->ca().cert_path);
  EXPECT_EQ(skip.exit_code, 1) << skip.err;
  EXPECT_THAT(skip.err, HasSubstr("does not start with a zstd frame"));
}

// Nested folders making a path of `bytes` bytes, plus a file at its end.
std::vector<ForgedEntry> DeepPath(size_t bytes) {
  std::vector<ForgedEntry> entries;
  std::string path;
  while (path.size() + 201 < bytes) {
    path += (path.empty() ? "" : "/") + std::string(200, 'd');
    entries.push_back(Dir(path));
  }
  path += "/" + std::string(bytes - path.size() - 1, 'f');
  entries.push_back(File(path, "deep"));
  return entries;
}

// A PATH the install could not create (PATH_MAX with the staging prefix)
// is refused by `verify`; 056fc7e accepted it.
TEST_F(InputHardeningTest, PathTooLongToInstallIsRefusedByVerify) {
  CommandResult verify =
      Verify(Write("long.imab", DeepPath(3900)), keys_->ca().cert_path);
  EXPECT_EQ(verify.exit_code, 1) << verify.err;
  EXPECT_THAT(verify.err, HasSubstr("PATH_MAX is 4096"));
  ExpectOneLine(verify.err);
  // Within the reserve it is fine.
  EXPECT_EQ(
      Verify(Write("ok.imab", DeepPath(3800)), keys_->ca().cert_path).exit_code,
      0);

  // Variant: a symlink target of PATH_MAX bytes (symlink(2) refuses it).
  CommandResult target =
      Verify(Write("target.imab", {Symlink("l", std::string(4096, 't'))}),
             keys_->ca().cert_path);
  EXPECT_EQ(target.exit_code, 1) << target.err;
  EXPECT_THAT(target.err, HasSubstr("symlink target of 4096 bytes"));
}

ForgedEntry WithXattr(ForgedEntry fe, const std::string& name) {
  fe.entry.xattrs.push_back(Xattr{name, "v"});
  return fe;
}

// Linux refuses user.* xattrs on symlinks (EPERM): refused at verify time.
TEST_F(InputHardeningTest, UserXattrOnSymlinkIsRefusedByVerify) {
  CommandResult verify = Verify(
      Write("user.imab",
            {File("t", "x"), WithXattr(Symlink("l", "t"), "user.comment")}),
      keys_->ca().cert_path);
  EXPECT_EQ(verify.exit_code, 1) << verify.err;
  EXPECT_THAT(verify.err, HasSubstr("xattr 'user.comment' on a symlink"));
  // On a file it is fine.
  EXPECT_EQ(
      Verify(Write("file.imab", {WithXattr(File("t", "x"), "user.comment")}),
             keys_->ca().cert_path)
          .exit_code,
      0);

  // Variants: user.* on a FIFO; a name in no namespace Linux knows.
  ForgedEntry fifo = Dir("p");
  fifo.entry.type = EntryType::kFifo;
  fifo.entry.mode = 0644;
  CommandResult on_fifo = Verify(
      Write("fifo.imab", {WithXattr(fifo, "user.x")}), keys_->ca().cert_path);
  EXPECT_EQ(on_fifo.exit_code, 1) << on_fifo.err;
  EXPECT_THAT(on_fifo.err, HasSubstr("on a fifo"));
  CommandResult unknown =
      Verify(Write("ns.imab", {WithXattr(File("t", "x"), "os2.name")}),
             keys_->ca().cert_path);
  EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
  EXPECT_THAT(unknown.err, HasSubstr("not a namespace Linux knows"));
}

// Names with control bytes are escaped in messages.
TEST_F(InputHardeningTest, NamesInMessagesAreEscaped) {
  const std::string evil = "evil\x1b[31m\nnext";
  CommandResult verify = Verify(
      Write("esc.imab",
            {File("t", "x"), WithXattr(Symlink(evil, "t"), "user.comment")}),
      keys_->ca().cert_path);
  EXPECT_EQ(verify.exit_code, 1) << verify.err;
  EXPECT_THAT(verify.err, HasSubstr("evil\\x1b[31m\\nnext"));
  ExpectOneLine(verify.err);

  // Variant: a tree rule naming the path (a duplicate entry).
  CommandResult duplicate =
      Verify(Write("dup.imab", {File(evil, "x"), File(evil, "y")}),
             keys_->ca().cert_path);
  EXPECT_EQ(duplicate.exit_code, 1) << duplicate.err;
  EXPECT_THAT(duplicate.err,
              HasSubstr("evil\\x1b[31m\\nnext': duplicate entry"));
  ExpectOneLine(duplicate.err);
}

// Device files: a FIFO or /dev/zero where the device keeps its
// configuration, state or policy.
class DeviceInputTest : public InputHardeningTest {
 protected:
  void SetUp() override {
    InputHardeningTest::SetUp();
    device_ =
        std::make_unique<TestDevice>(dir_.Sub("device"), *keys_, dir_.Sub(""));
    rootfs_ = dir_.Sub("rootfs");
    SampleTreeOptions small;
    small.big_file_bytes = 1u << 16;
    MakeSampleTree(rootfs_, small);
    bundle_ = dir_.Sub("v1.imab");
    BuildVersion(rootfs_, bundle_, *keys_, "1.0", device_->ImaBuildFlags());
  }

  CommandResult Install() { return Bounded(device_->InstallCommand(bundle_)); }

  void Replace(const std::string& path, const std::string& with_fifo_or_link) {
    fs::remove(path);
    if (with_fifo_or_link.empty()) {
      ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0);
    } else {
      fs::create_symlink(with_fifo_or_link, path);
    }
    // Paths under --root resolve inside ROOT, so the link's "/dev/zero"
    // is ROOT/dev/zero: make that the character device it names.
    const std::string node = device_->root() + with_fifo_or_link;
    if (with_fifo_or_link == "/dev/zero" && !fs::exists(node)) {
      fs::create_directories(device_->root() + "/dev");
      ASSERT_EQ(::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 5)), 0)
          << "mknod " << node << " (needs root)";
    }
  }

  std::unique_ptr<TestDevice> device_;
  std::string rootfs_;
  std::string bundle_;
};

TEST_F(DeviceInputTest, FifoAsDeviceConfIsRefusedAtOnce) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  const std::string conf = device_->root() + "/etc/imabundle/device.conf";
  Replace(conf, "");
  CommandResult install = Install();
  EXPECT_EQ(install.exit_code, 2) << install.err;
  EXPECT_THAT(install.err, HasSubstr(conf + ": not a regular file (a FIFO)"));
  ExpectOneLine(install.err);
  // Variant: /dev/zero as device.conf, judged by `verify --root`.
  Replace(conf, "/dev/zero");
  CommandResult judged =
      Bounded(ShellQuote(VerifyBin()) + " verify " + ShellQuote(bundle_) +
              " --root " + ShellQuote(device_->root()) + " --no-time-check");
  EXPECT_EQ(judged.exit_code, 2) << judged.err;
  EXPECT_THAT(judged.err, HasSubstr("not a regular file (a character device)"));
}

TEST_F(DeviceInputTest, FifoAsStateFileIsRefusedAtOnce) {
  ASSERT_EQ(device_->Init().exit_code, 0);
  ASSERT_EQ(Install().exit_code, 0);
  const std::string state = device_->SlotsDir() + "/slot-b.state";
  ASSERT_TRUE(fs::exists(state));
  Replace(state, "");
  CommandResult install = Install();
  EXPECT_NE(install.exit_code, 0);
  EXPECT_NE(install.exit_code, 124) << "hung on the FIFO";
  EXPECT_THAT(install.err, HasSubstr(state + ": not a regular file (a FIFO)"));
  // Variant: `status` reads the same file.
  CommandResult status = Bounded(ShellQuote(VerifyBin()) + " status --root " +
                                 ShellQuote(device_->root()));
  EXPECT_NE(status.exit_code, 124) << "hung on the FIFO";
  EXPECT_THAT((status.out + status.err), HasSubstr("not a regular file"))
      << status.out << status.err;
}

TEST_F(DeviceInputTest, DevZeroAsPolicyIsRefusedAtOnce) {
  ASSERT_EQ(device_
                ->Init("--ima-policy " +
                       ShellQuote(SourceDir() +
                                  "/manifests/ima-policy/signed-rootfs.policy"))
                .exit_code,
            0);
  const std::string policy = device_->root() + "/etc/imabundle/ima-policy";
  ASSERT_TRUE(fs::exists(policy));
  Replace(policy, "/dev/zero");
  CommandResult install = Install();
  EXPECT_EQ(install.exit_code, 2) << install.err;
  // Named where the link leads, inside ROOT.
  EXPECT_THAT(install.err, HasSubstr("IMA policy " + device_->root() +
                                     "/dev/zero: not a regular file"));
  ExpectOneLine(install.err);
  // Variant: a FIFO as the policy.
  Replace(policy, "");
  CommandResult fifo = Install();
  EXPECT_EQ(fifo.exit_code, 2) << fifo.err;
  EXPECT_THAT(fifo.err, HasSubstr(policy + ": not a regular file (a FIFO)"));
}

// Variant of the long path on a device: the slot's own staging path is
// what counts. A path `verify` alone accepts cannot be written below this
// device's deep slots folder: `install` refuses it before erasing the
// fallback slot (056fc7e failed half-way with ENAMETOOLONG, slot erased).
TEST_F(DeviceInputTest, PathTooLongForTheSlotIsRefusedBeforeErasing) {
  fs::create_directories(dir_.Sub("deep-keys"));
  TestDevice deep(
      dir_.Sub(std::string(200, 'r') + "/" + std::string(200, 's') + "/device"),
      *keys_, dir_.Sub("deep-keys"));
  ASSERT_EQ(deep.Init().exit_code, 0);
  std::string v1 = dir_.Sub("deep-v1.imab");
  BuildVersion(rootfs_, v1, *keys_, "1.0", deep.ImaBuildFlags());
  ASSERT_EQ(Bounded(deep.InstallCommand(v1)).exit_code, 0);
  std::string v2 = dir_.Sub("v2.imab");
  BuildVersion(rootfs_, v2, *keys_, "2.0", deep.ImaBuildFlags());
  ASSERT_EQ(Bounded(deep.InstallCommand(v2)).exit_code, 0);
  ASSERT_EQ(deep.ActiveSlotName(), "slot-a");
  const std::string fallback = dir_.Sub("fallback");
  ASSERT_EQ(RunExtract(v1, keys_->ca().cert_path, fallback).exit_code, 0);

  // 3700 bytes: within plain `verify`'s reserve, not below this slot.
  std::string path = rootfs_;
  while (path.size() - rootfs_.size() + 201 < 3700) {
    path += "/" + std::string(200, 'd');
  }
  fs::create_directories(path);
  WriteFile(
      path + "/" + std::string(3700 - (path.size() - rootfs_.size()), 'f'),
      "deep");
  std::string v3 = dir_.Sub("v3.imab");
  BuildVersion(rootfs_, v3, *keys_, "3.0", deep.ImaBuildFlags());
  EXPECT_EQ(Verify(v3, keys_->ca().cert_path).exit_code, 0);

  CommandResult install = Bounded(deep.InstallCommand(v3));
  EXPECT_EQ(install.exit_code, 1) << install.err;
  EXPECT_THAT(install.err, HasSubstr("PATH_MAX is 4096"));
  EXPECT_EQ(deep.ActiveSlotName(), "slot-a");
  std::vector<std::string> diffs =
      CompareTrees(fallback, deep.SlotPath("slot-b"));
  EXPECT_TRUE(diffs.empty())
      << "the fallback slot was erased: " << diffs.size()
      << " differences, first " << (diffs.empty() ? "" : diffs.front());
}

}  // namespace
}  // namespace imab::testing
