// End to end through the two executables: build a bundle from a generated
// rootfs, verify it, extract it, and compare the trees field by field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/tree_compare.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    rootfs_ = dir_.Sub("rootfs");
    MakeSampleTree(rootfs_);
  }
  std::string Ca() const { return keys_->ca().cert_path; }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  std::string rootfs_;
};

TEST_F(RoundTripTest, FolderBuildVerifyExtractGivesTheSameTree) {
  std::string bundle = dir_.Sub("b.imab");
  CommandResult build = RunBuild(rootfs_, bundle, *keys_);
  ASSERT_EQ(build.exit_code, 0) << build.err;
  CommandResult verify = RunVerify(bundle, Ca());
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("version 1.2.3"));

  std::string out = dir_.Sub("extracted");
  CommandResult extract = RunExtract(bundle, Ca(), out);
  ASSERT_EQ(extract.exit_code, 0) << extract.err;
  ExpectSameTrees(rootfs_, out);
}

TEST_F(RoundTripTest, TarballInputGivesTheSameTree) {
  std::string tarball = dir_.Sub("rootfs.tar.zst");
  ASSERT_EQ(RunShell("tar --xattrs --xattrs-include='*' --numeric-owner "
                     "--zstd -C " +
                     ShellQuote(rootfs_) + " -cf " + ShellQuote(tarball) + " .")
                .exit_code,
            0);
  std::string bundle = dir_.Sub("b.imab");
  CommandResult build = RunBuild(tarball, bundle, *keys_);
  ASSERT_EQ(build.exit_code, 0) << build.err;
  std::string out = dir_.Sub("extracted");
  CommandResult extract = RunExtract(bundle, Ca(), out);
  ASSERT_EQ(extract.exit_code, 0) << extract.err;
  ExpectSameTrees(rootfs_, out);
}

TEST_F(RoundTripTest, OpensslCmsVerifiesTheManifestSignature) {
  std::string bundle = dir_.Sub("b.imab");
  ASSERT_EQ(RunBuild(rootfs_, bundle, *keys_).exit_code, 0);
  std::string cmd = "cd " + ShellQuote(dir_.Sub("")) +
                    " && tar xf b.imab manifest manifest.sig && "
                    "openssl cms -verify -binary -inform DER -in manifest.sig "
                    "-content manifest -CAfile " +
                    ShellQuote(Ca()) + " -purpose any -out /dev/null";
  CommandResult cms = RunShell(cmd);
  EXPECT_EQ(cms.exit_code, 0) << cms.err;
}

TEST_F(RoundTripTest, TarListsExactlyThreeMembersInOrder) {
  std::string bundle = dir_.Sub("b.imab");
  ASSERT_EQ(RunBuild(rootfs_, bundle, *keys_).exit_code, 0);
  CommandResult list = RunShell("tar tf " + ShellQuote(bundle));
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out, "manifest\nmanifest.sig\npayload.tar.zst\n");
}

TEST_F(RoundTripTest, GnuTarExtractsThePayloadWithXattrs) {
  std::string bundle = dir_.Sub("b.imab");
  ASSERT_EQ(RunBuild(rootfs_, bundle, *keys_).exit_code, 0);
  std::string out = dir_.Sub("tar-out");
  fs::create_directories(out);
  CommandResult tar =
      RunShell("cd " + ShellQuote(dir_.Sub("")) +
               " && tar xf b.imab payload.tar.zst && tar --zstd --xattrs "
               "--xattrs-include='*' --numeric-owner -C " +
               ShellQuote(out) + " -xpf payload.tar.zst");
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  std::vector<std::string> diffs = CompareTrees(rootfs_, out);
  // GNU tar restores directory modes and owners of the root differently,
  // but every entry must match.
  EXPECT_TRUE(diffs.empty()) << ::testing::PrintToString(diffs);
}

TEST_F(RoundTripTest, SameInputsGiveByteIdenticalManifestAndPayload) {
  std::string a = dir_.Sub("a.imab");
  std::string b = dir_.Sub("b.imab");
  ASSERT_EQ(RunBuild(rootfs_, a, *keys_).exit_code, 0);
  ASSERT_EQ(RunBuild(rootfs_, b, *keys_, "--threads 1").exit_code, 0);
  for (const char* member : {"manifest", "payload.tar.zst"}) {
    CommandResult diff =
        RunShell("cmp <(tar xOf " + ShellQuote(a) + " " + member +
                 ") <(tar xOf " + ShellQuote(b) + " " + member + ")");
    // cmp needs bash process substitution.
    if (diff.exit_code == 2) {
      diff =
          RunShell("bash -c " + ShellQuote("cmp <(tar xOf " + ShellQuote(a) +
                                           " " + member + ") <(tar xOf " +
                                           ShellQuote(b) + " " + member + ")"));
    }
    EXPECT_EQ(diff.exit_code, 0) << member << ": " << diff.out << diff.err;
  }
}

TEST_F(RoundTripTest, JsonReportListsEveryCheck) {
  std::string bundle = dir_.Sub("b.imab");
  ASSERT_EQ(RunBuild(rootfs_, bundle, *keys_).exit_code, 0);
  CommandResult verify = RunVerify(bundle, Ca(), "--json");
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  for (const char* check : {"\"container\"", "\"signature\"", "\"manifest\"",
                            "\"entries\"", "\"payload\"", "\"manifest-digest\"",
                            "\"accepted\"", "\"compatible\": \"test-board\""}) {
    EXPECT_THAT(verify.out, HasSubstr(check)) << check;
  }
}

// Runs `command` in a fresh child and returns its peak RSS in KiB (the
// child's RUSAGE_CHILDREN sees only that command), and its exit code.
long PeakRssKib(const std::string& command, int* exit_code) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    int status = std::system(command.c_str());
    struct rusage usage {};
    ::getrusage(RUSAGE_CHILDREN, &usage);
    long out[2] = {usage.ru_maxrss,
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1};
    ssize_t ignored = ::write(fds[1], out, sizeof(out));
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  long in[2] = {-1, -1};
  EXPECT_EQ(::read(fds[0], in, sizeof(in)), static_cast<ssize_t>(sizeof(in)));
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  *exit_code = static_cast<int>(in[1]);
  return in[0];
}

TEST_F(RoundTripTest, VerifierPeakMemoryStaysUnder32MiB) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's shadow memory inflates RSS; the Release build "
                  "measures this";
#endif
  // A 200 MiB file on top of the sample: memory must not follow the size.
  WriteFile(rootfs_ + "/usr/lib/huge.bin", std::string(200u << 20, 'h'));
  std::string bundle = dir_.Sub("b.imab");
  ASSERT_EQ(RunBuild(rootfs_, bundle, *keys_).exit_code, 0);
  int exit_code = -1;
  long kib =
      PeakRssKib(ShellQuote(VerifyBin()) + " verify " + ShellQuote(bundle) +
                     " --release-ca " + ShellQuote(Ca()) + " >/dev/null",
                 &exit_code);
  EXPECT_EQ(exit_code, 0);
  EXPECT_GT(kib, 0);
  EXPECT_LE(kib, 32 * 1024) << "imab-verify peak RSS " << kib << " KiB";
}

TEST_F(RoundTripTest, FailedBuildsLeaveNothingBehind) {
  std::string out_dir = dir_.Sub("out");
  fs::create_directories(out_dir);
  std::string bundle = out_dir + "/b.imab";
  CommandResult missing = RunBuild(dir_.Sub("no-such-rootfs"), bundle, *keys_);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no-such-rootfs"));
  CommandResult bad_version =
      RunBuild(rootfs_, bundle, *keys_, "--version 1.x");
  EXPECT_EQ(bad_version.exit_code, 2);
  WriteFile(dir_.Sub("wrong.key"), "not a key");
  CommandResult bad_key = RunShell(
      ShellQuote(BuildBin()) + " build --rootfs " + ShellQuote(rootfs_) +
      " --version 1 --compatible x --signing-key " +
      ShellQuote(dir_.Sub("wrong.key")) + " --signing-cert " +
      ShellQuote(keys_->signer().cert_path) + " --output " +
      ShellQuote(bundle));
  EXPECT_EQ(bad_key.exit_code, 2);
  EXPECT_TRUE(fs::is_empty(out_dir)) << "a failed build left files behind";
  // An existing output stays untouched when a later build fails.
  WriteFile(bundle, "previous");
  EXPECT_EQ(RunBuild(dir_.Sub("no-such-rootfs"), bundle, *keys_).exit_code, 2);
  EXPECT_EQ(ReadFile(bundle), "previous");
}

TEST_F(RoundTripTest, PublishedDevelopmentKeysAreRefusedUnlessAllowed) {
  // List the release key as a published development key.
  CommandResult spki = RunShell(
      "openssl x509 -in " + ShellQuote(keys_->signer().cert_path) +
      " -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | "
      "cut -d' ' -f1");
  ASSERT_EQ(spki.exit_code, 0);
  std::string fingerprint = spki.out.substr(0, 64);
  std::string list = dir_.Sub("dev-keys.tsv");
  WriteFile(list, "spki_sha256\tima_keyid\tkind\tsource\tnote\n" + fingerprint +
                      "\t00000000\tbundle-signing\texample/layer:release.pem\t"
                      "test\n");
  std::string bundle = dir_.Sub("b.imab");
  std::string flags = "--dev-keys-list " + ShellQuote(list);
  CommandResult refused = RunBuild(rootfs_, bundle, *keys_, flags);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("published development key"));
  EXPECT_FALSE(fs::exists(bundle));

  CommandResult allowed =
      RunBuild(rootfs_, bundle, *keys_, flags + " --allow-dev-keys");
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_THAT(allowed.out, HasSubstr("development bundle"));
  CommandResult verify = RunVerify(bundle, Ca());
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_THAT(verify.err, HasSubstr("development"));
  EXPECT_EQ(RunVerify(bundle, Ca(), "--allow-development").exit_code, 0);
}

TEST_F(RoundTripTest, KeyCommandsRefuseAPublishedDevelopmentCaKey) {
  std::string ca_key = dir_.Sub("ca.key");
  std::string ca_cert = dir_.Sub("ca.pem");
  ASSERT_EQ(RunShell(ShellQuote(BuildBin()) + " key create-ca --out-key " +
                     ShellQuote(ca_key) + " --out-cert " + ShellQuote(ca_cert) +
                     " --subject /CN=ca")
                .exit_code,
            0);
  CommandResult spki =
      RunShell("openssl pkey -in " + ShellQuote(ca_key) +
               " -pubout -outform DER | sha256sum | cut -c1-64");
  std::string list = dir_.Sub("dev.tsv");
  WriteFile(list, spki.out.substr(0, 64) + "\t0\tca\texample/layer\tnote\n");
  std::string base = ShellQuote(BuildBin()) + " key create-signing --ca-key " +
                     ShellQuote(ca_key) + " --ca-cert " + ShellQuote(ca_cert) +
                     " --subject /CN=ima --dev-keys-list " + ShellQuote(list);
  CommandResult refused =
      RunShell(base + " --out-key " + ShellQuote(dir_.Sub("a.key")) +
               " --out-cert " + ShellQuote(dir_.Sub("a.der")));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("development key"));
  EXPECT_FALSE(fs::exists(dir_.Sub("a.key")));
  CommandResult allowed = RunShell(
      base + " --allow-dev-keys --out-key " + ShellQuote(dir_.Sub("b.key")) +
      " --out-cert " + ShellQuote(dir_.Sub("b.der")));
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
}

TEST_F(RoundTripTest, RejectionIsOneLineWithExitCodeOne) {
  std::string bundle = dir_.Sub("b.imab");
  ASSERT_EQ(RunBuild(rootfs_, bundle, *keys_).exit_code, 0);
  std::string bytes = ReadFile(bundle);
  bytes[bytes.size() - 2000] ^= 0x01;
  WriteFile(bundle, bytes);
  CommandResult verify = RunVerify(bundle, Ca());
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_EQ(std::count(verify.err.begin(), verify.err.end(), '\n'), 1)
      << verify.err;
  CommandResult usage = RunShell(ShellQuote(VerifyBin()) + " verify");
  EXPECT_EQ(usage.exit_code, 2);
  CommandResult dir = RunVerify(dir_.Sub(""), Ca());
  EXPECT_EQ(dir.exit_code, 2);
}

}  // namespace
}  // namespace imab::testing
