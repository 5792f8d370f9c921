// The CA store end to end through both executables: a real TLS client
// trusts a server after --ca-add and not without it; required anchors
// reject bundles; --ca-store keep; inspect; the bundle file is signed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/bundle_forge.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

constexpr const char* kMozilla = "/usr/share/ca-certificates/mozilla";

class CaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(kMozilla)) {
      GTEST_SKIP() << "Debian's ca-certificates is not installed";
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    CertOptions ten_years;
    ten_years.common_name = "Test TLS CA";
    ten_years.not_after_offset = 10L * 365 * 24 * 3600;
    tls_ca_ = MakeRootCa(dir_.Sub(""), "tls-ca", ten_years);
    ca_crt_ = dir_.Sub("Test_TLS_CA.crt");
    fs::copy_file(tls_ca_.cert_path, ca_crt_);
    rootfs_ = dir_.Sub("rootfs");
    fs::create_directories(rootfs_ + "/etc");
    fs::create_directories(rootfs_ + "/usr/share/ca-certificates/mozilla");
    fs::create_directories(rootfs_ + "/usr/local/share/ca-certificates");
    for (const char* name : {"ISRG_Root_X1.crt", "GlobalSign_Root_CA.crt"}) {
      fs::copy_file(std::string(kMozilla) + "/" + name,
                    rootfs_ + "/usr/share/ca-certificates/mozilla/" + name);
    }
    WriteFile(rootfs_ + "/etc/ca-certificates.conf",
              "mozilla/ISRG_Root_X1.crt\nmozilla/GlobalSign_Root_CA.crt\n");
  }

  // Builds `name`.imab with `flags`; expects success.
  std::string Build(const std::string& name, const std::string& flags) {
    std::string bundle = dir_.Sub(name + ".imab");
    CommandResult built = RunBuild(rootfs_, bundle, *keys_, flags);
    EXPECT_EQ(built.exit_code, 0) << built.err;
    return bundle;
  }

  std::string Extract(const std::string& bundle, const std::string& name) {
    std::string to = dir_.Sub(name);
    CommandResult r = RunExtract(bundle, keys_->ca().cert_path, to);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return to;
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  TestIdentity tls_ca_;
  std::string ca_crt_;
  std::string rootfs_;
};

// A loopback `openssl s_server` with a certificate `ca` issued; stopped (by
// its own pid) when the object goes away.
class TlsServer {
 public:
  TlsServer(const TempDir& dir, const TestIdentity& ca) {
    CertOptions options;
    options.common_name = "localhost";
    server_ = MakeIssued(dir.Sub(""), "tls-server", ca, options);
    log_ = dir.Sub("s_server.log");
    // timeout bounds the server even if this process dies first.
    CommandResult started = RunShell(
        "timeout 120 openssl s_server -accept 127.0.0.1:0 -www -cert " +
        ShellQuote(server_.cert_path) + " -key " +
        ShellQuote(server_.key_path) + " > " + ShellQuote(log_) +
        " 2>&1 < /dev/null & echo $!");
    pid_ = std::atoi(started.out.c_str());
    for (int i = 0; i < 100 && port_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string log = ReadFileIfAny(log_);
      size_t at = log.find("ACCEPT 127.0.0.1:");
      if (at != std::string::npos) {
        port_ = log.substr(at + 17, log.find('\n', at) - at - 17);
      }
    }
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
    }
  }
  const std::string& port() const { return port_; }

 private:
  static std::string ReadFileIfAny(const std::string& path) {
    return fs::exists(path) ? ReadFile(path) : std::string();
  }
  TestIdentity server_;
  std::string log_;
  std::string port_;
  int pid_ = 0;
};

// Runs s_client against the server trusting only the extracted store, once
// through CApath (hash links) and once through CAfile (the bundle). The
// .pem links hold device paths (/usr/share/...), so the extracted input
// folders are bind-mounted there in a private mount namespace.
std::pair<int, int> Connect(const std::string& root, const std::string& port) {
  std::string certs = root + "/etc/ssl/certs";
  std::string client =
      "timeout 10 openssl s_client -connect 127.0.0.1:" + port +
      " -verify_return_error -brief ";
  std::string mounts = "mount --bind " +
                       ShellQuote(root + "/usr/share/ca-certificates") +
                       " /usr/share/ca-certificates && mount --bind " +
                       ShellQuote(root + "/usr/local/share/ca-certificates") +
                       " /usr/local/share/ca-certificates && ";
  CommandResult capath =
      RunShell("unshare -m sh -c " +
               ShellQuote(mounts + client + "-CApath " + ShellQuote(certs) +
                          " -no-CAfile -no-CAstore < /dev/null"));
  CommandResult cafile = RunShell(client + "-CAfile " +
                                  ShellQuote(certs + "/ca-certificates.crt") +
                                  " -no-CApath -no-CAstore < /dev/null");
  return {capath.exit_code, cafile.exit_code};
}

TEST_F(CaStoreTest, TlsClientTrustsAnAddedCaThroughCapathAndCafile) {
  if (!HaveTool("unshare") ||
      !fs::is_directory("/usr/local/share/ca-certificates") ||
      RunShell("unshare -m true").exit_code != 0) {
    GTEST_SKIP() << "needs unshare -m (root) to mount the store's inputs";
  }
  std::string with =
      Extract(Build("with", "--ca-add " + ShellQuote(ca_crt_)), "with");
  std::string without = Extract(Build("without", ""), "without");
  // The CA listed in the conf, then deselected with --ca-remove.
  fs::create_directories(rootfs_ + "/usr/share/ca-certificates/test");
  fs::copy_file(ca_crt_,
                rootfs_ + "/usr/share/ca-certificates/test/Test_TLS_CA.crt");
  WriteFile(rootfs_ + "/etc/ca-certificates.conf",
            "mozilla/ISRG_Root_X1.crt\ntest/Test_TLS_CA.crt\n");
  std::string listed = Extract(Build("listed", ""), "listed");
  std::string removed =
      Extract(Build("removed", "--ca-remove Test_TLS_CA"), "removed");

  TlsServer server(dir_, tls_ca_);
  ASSERT_FALSE(server.port().empty()) << "s_server did not start";
  EXPECT_EQ(Connect(with, server.port()), std::make_pair(0, 0));
  EXPECT_EQ(Connect(listed, server.port()), std::make_pair(0, 0));
  auto [capath, cafile] = Connect(without, server.port());
  EXPECT_NE(capath, 0);
  EXPECT_NE(cafile, 0);
  auto [capath2, cafile2] = Connect(removed, server.port());
  EXPECT_NE(capath2, 0);
  EXPECT_NE(cafile2, 0);
}

TEST_F(CaStoreTest, VerifierRejectsABundleDroppingARequiredAnchor) {
  std::string with = Build("with", "--ca-add " + ShellQuote(ca_crt_));
  std::string without = Build("without", "");
  std::string ca = keys_->ca().cert_path;
  EXPECT_EQ(RunVerify(with, ca, "--ca-require Test_TLS_CA").exit_code, 0);
  EXPECT_EQ(
      RunVerify(with, ca, "--ca-require " + ShellQuote(ca_crt_)).exit_code, 0);
  CommandResult named = RunVerify(without, ca, "--ca-require Test_TLS_CA");
  EXPECT_EQ(named.exit_code, 1);
  EXPECT_EQ(named.err,
            "imab-verify: rejected: ca-required: required CA Test_TLS_CA is "
            "not in the CA store\n");
  CommandResult file =
      RunVerify(without, ca, "--ca-require " + ShellQuote(ca_crt_));
  EXPECT_EQ(file.exit_code, 1);
  EXPECT_THAT(file.err, HasSubstr("required CA " + ca_crt_ +
                                  " is not in the CA "
                                  "store"));
  // Extraction applies the same policy and leaves nothing behind.
  CommandResult extract =
      RunShell(ShellQuote(VerifyBin()) + " extract " + ShellQuote(without) +
               " --release-ca " + ShellQuote(ca) + " --to " +
               ShellQuote(dir_.Sub("out")) + " --ca-require Test_TLS_CA");
  EXPECT_EQ(extract.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir_.Sub("out")));
}

TEST_F(CaStoreTest, VerifierRejectsARequiredAnchorExpiringWithinTheHorizon) {
  CertOptions soon;
  soon.common_name = "Soon";
  soon.not_after_offset = 30L * 24 * 3600;
  std::string soon_crt = dir_.Sub("Soon.crt");
  fs::copy_file(MakeRootCa(dir_.Sub(""), "soon", soon).cert_path, soon_crt);
  // The build's own horizon is set below the validity, so it builds.
  std::string bundle =
      Build("soon", "--ca-add " + ShellQuote(soon_crt) +
                        " --ca-require Soon --ca-expiry-horizon 10");
  std::string ca = keys_->ca().cert_path;
  CommandResult r = RunVerify(bundle, ca, "--ca-require Soon");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("required CA Soon (Soon.pem, O=imabundle tests, "
                               "CN=Soon) expires on "));
  EXPECT_THAT(r.err, HasSubstr("within the 365-day horizon"));
  EXPECT_EQ(RunVerify(bundle, ca, "--ca-require Soon --ca-expiry-horizon 10")
                .exit_code,
            0);
  // Without a trusted clock only presence is checked.
  EXPECT_EQ(
      RunVerify(bundle, ca, "--ca-require Soon --no-time-check").exit_code, 0);
  // The builder refuses the same anchor with its default horizon.
  CommandResult refused =
      RunBuild(rootfs_, dir_.Sub("refused.imab"), *keys_,
               "--ca-add " + ShellQuote(soon_crt) + " --ca-require Soon");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("--ca-require: required CA Soon"));
  EXPECT_FALSE(fs::exists(dir_.Sub("refused.imab")));
}

// A release key that signs a manifest whose ca-store section does not
// describe the payload's store: the verifier's recomputation catches it.
TEST_F(CaStoreTest, VerifierRejectsASignedSectionThatDoesNotMatchTheStore) {
  std::string bundle = Build("good", "");
  std::string parts = dir_.Sub("parts");
  fs::create_directories(parts);
  ASSERT_EQ(
      RunShell("tar -xf " + ShellQuote(bundle) + " -C " + ShellQuote(parts))
          .exit_code,
      0);
  ForgedBundle forged;
  forged.manifest = ReadFile(parts + "/manifest");
  forged.payload = ReadFile(parts + "/payload.tar.zst");
  size_t at = forged.manifest.find("CN=ISRG%20Root%20X1");
  ASSERT_NE(at, std::string::npos);
  forged.manifest.replace(at, 19, "CN=ISRG%20Root%20X9");
  forged.signature = SignWith(forged.manifest, keys_->signer());
  std::string lying = dir_.Sub("lying.imab");
  WriteFile(lying, Assemble(forged, 1700000000));
  CommandResult r = RunVerify(lying, keys_->ca().cert_path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "imab-verify: rejected: ca-store: manifest section ca-store: "
            "anchor ISRG_Root_X1.pem (fingerprint, notAfter or subject) "
            "differs from the certificate in the image\n");
  CommandResult extract =
      RunExtract(lying, keys_->ca().cert_path, dir_.Sub("out"));
  EXPECT_EQ(extract.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir_.Sub("out")));
}

TEST_F(CaStoreTest, KeepLeavesTheInputStoreUntouched) {
  std::string certs = rootfs_ + "/etc/ssl/certs";
  fs::create_directories(certs);
  fs::create_symlink("/usr/share/ca-certificates/mozilla/Old.crt",
                     certs + "/Old.pem");
  WriteFile(certs + "/ca-certificates.crt", "built elsewhere\n");
  std::string bundle = Build("keep", "--ca-store keep");
  std::string out = Extract(bundle, "keep");
  EXPECT_EQ(ReadFile(out + "/etc/ssl/certs/ca-certificates.crt"),
            "built elsewhere\n");
  EXPECT_TRUE(fs::is_symlink(out + "/etc/ssl/certs/Old.pem"));
  CommandResult manifest =
      RunShell("tar -xOf " + ShellQuote(bundle) + " manifest");
  EXPECT_THAT(manifest.out, Not(HasSubstr("section ca-store")));
  // Regenerated, the stale link goes and the bundle is right.
  std::string regenerated = Extract(Build("regen", ""), "regen");
  EXPECT_FALSE(fs::exists(regenerated + "/etc/ssl/certs/Old.pem"));
  EXPECT_EQ(ReadFile(regenerated + "/etc/ssl/certs/ca-certificates.crt"),
            ReadFile(std::string(kMozilla) + "/ISRG_Root_X1.crt") +
                ReadFile(std::string(kMozilla) + "/GlobalSign_Root_CA.crt"));
}

TEST_F(CaStoreTest, TarballRootfsGetsTheSameStoreAsAFolder) {
  if (!HaveTool("zstd")) {
    GTEST_SKIP() << "zstd not installed";
  }
  std::string tarball = dir_.Sub("rootfs.tar.zst");
  ASSERT_EQ(RunShell("tar --numeric-owner -C " + ShellQuote(rootfs_) +
                     " -cf - . | zstd -q -o " + ShellQuote(tarball))
                .exit_code,
            0);
  std::string flags = "--ca-add " + ShellQuote(ca_crt_);
  std::string from_folder = Extract(Build("folder", flags), "folder");
  std::string bundle = dir_.Sub("tarball.imab");
  CommandResult built = RunBuild(tarball, bundle, *keys_, flags);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  std::string from_tarball = Extract(bundle, "tarball");
  std::string list =
      "cd {} && LC_ALL=C find etc usr -printf '%y %m %p %l\\n' "
      "| LC_ALL=C sort && cat etc/ssl/certs/ca-certificates.crt";
  auto listing = [&](const std::string& root) {
    std::string cmd = list;
    cmd.replace(cmd.find("{}"), 2, ShellQuote(root));
    return RunShell(cmd).out;
  };
  EXPECT_EQ(listing(from_tarball), listing(from_folder));
  EXPECT_THAT(listing(from_tarball), HasSubstr("Test_TLS_CA.pem"));
}

TEST_F(CaStoreTest, KeepRefusesStoreEditsAndWritesNothing) {
  CommandResult r = RunBuild(rootfs_, dir_.Sub("x.imab"), *keys_,
                             "--ca-store keep --ca-add " + ShellQuote(ca_crt_));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--ca-store keep leaves the store as it is"));
  EXPECT_FALSE(fs::exists(dir_.Sub("x.imab")));
  CommandResult bad =
      RunBuild(rootfs_, dir_.Sub("y.imab"), *keys_, "--ca-store sometimes");
  EXPECT_EQ(bad.exit_code, 2);
}

// An image signed elsewhere had its store built there too: --keep-signatures
// keeps the store unless told to regenerate it, which it then refuses.
TEST_F(CaStoreTest, KeepSignaturesKeepsTheStoreByDefault) {
  TestIdentity ima_ca = MakeRootCa(dir_.Sub(""), "ima-ca");
  TestIdentity ima = MakeIssued(dir_.Sub(""), "ima", ima_ca);
  fs::create_directories(rootfs_ + "/etc/ssl/certs");
  fs::create_symlink("/usr/share/ca-certificates/mozilla/Gone.crt",
                     rootfs_ + "/etc/ssl/certs/Gone.pem");
  const std::string keep =
      "--keep-signatures --ima-cert " + ShellQuote(ima.cert_path);
  std::string bundle = Build("kept", keep);
  std::string out = dir_.Sub("kept-tree");
  ASSERT_EQ(RunExtract(bundle, keys_->ca().cert_path, out).exit_code, 0);
  EXPECT_TRUE(fs::is_symlink(out + "/etc/ssl/certs/Gone.pem"));
  CommandResult regenerate = RunBuild(rootfs_, dir_.Sub("regen.imab"), *keys_,
                                      keep + " --ca-store regenerate");
  EXPECT_EQ(regenerate.exit_code, 2);
  EXPECT_THAT(regenerate.err, HasSubstr("would carry no IMA/EVM signatures"));
}

TEST_F(CaStoreTest, InspectListsAddedRemovedAndExpiringAnchors) {
  std::string before = Build("before", "");
  std::string after = Build("after", "--ca-add " + ShellQuote(ca_crt_) +
                                         " --ca-remove GlobalSign_Root_CA");
  std::string ca = keys_->ca().cert_path;
  CommandResult text = RunShell(
      ShellQuote(VerifyBin()) + " inspect " + ShellQuote(after) +
      " --release-ca " + ShellQuote(ca) + " --against " + ShellQuote(before));
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("CA store: 2 anchors, 1 added, 1 removed"));
  EXPECT_THAT(text.out,
              HasSubstr("added    Test_TLS_CA.pem  O=imabundle tests, "
                        "CN=Test TLS CA"));
  EXPECT_THAT(text.out, HasSubstr("removed  GlobalSign_Root_CA.pem"));
  CommandResult json =
      RunShell(ShellQuote(VerifyBin()) + " inspect " + ShellQuote(after) +
               " --release-ca " + ShellQuote(ca) + " --against " +
               ShellQuote(before) + " --json --ca-expiry-horizon 36500");
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_THAT(json.out, HasSubstr("\"ca_store\": {\"declared\": true"));
  EXPECT_THAT(json.out, HasSubstr("\"removed\": [{\"link\": "
                                  "\"GlobalSign_Root_CA.pem\""));
  // With a horizon of 100 years every anchor is listed as expiring.
  EXPECT_THAT(json.out,
              HasSubstr("\"expiring\": [{\"link\": \"ISRG_Root_X1.pem\""));
  // A previous bundle that fails verification fails the inspection.
  WriteFile(dir_.Sub("bad.imab"), "not a bundle");
  CommandResult bad =
      RunShell(ShellQuote(VerifyBin()) + " inspect " + ShellQuote(after) +
               " --release-ca " + ShellQuote(ca) + " --against " +
               ShellQuote(dir_.Sub("bad.imab")));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("previous bundle"));
}

TEST_F(CaStoreTest, GeneratedBundleFileIsImaSigned) {
  if (!HaveTool("evmctl")) {
    GTEST_SKIP() << "evmctl not installed";
  }
  TestIdentity ima_ca = MakeRootCa(dir_.Sub(""), "ima-ca");
  CertOptions rsa;
  rsa.key_type = KeyType::kRsa2048;
  TestIdentity ima = MakeIssued(dir_.Sub(""), "ima", ima_ca, rsa);
  std::string der = dir_.Sub("ima.der");
  ASSERT_EQ(RunShell("openssl x509 -in " + ShellQuote(ima.cert_path) +
                     " -outform DER -out " + ShellQuote(der))
                .exit_code,
            0);
  std::string bundle = Build("ima", "--ima-key " + ShellQuote(ima.key_path) +
                                        " --ima-cert " + ShellQuote(der));
  EXPECT_EQ(RunVerify(bundle, keys_->ca().cert_path).exit_code, 0);
  CommandResult manifest = RunShell(
      "tar -xOf " + ShellQuote(bundle) +
      " manifest | grep -A2 '^file etc/ssl/certs/ca-certificates.crt '");
  EXPECT_THAT(manifest.out, HasSubstr("xattr security.evm "));
  EXPECT_THAT(manifest.out, HasSubstr("xattr security.ima "));
}

}  // namespace
}  // namespace imab::testing
