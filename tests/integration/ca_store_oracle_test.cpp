// Oracle: the CA store imab-build generates must equal what Debian's real
// update-ca-certificates produces from the same inputs on a first run into
// an empty etc/ssl/certs (docs ca-certificates.md §9): link names and
// targets, hash links, modes, and the bytes of ca-certificates.crt.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testutil/bundle_fixture.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr const char* kScript = "/usr/sbin/update-ca-certificates";
constexpr const char* kMozilla = "/usr/share/ca-certificates/mozilla";

class CaStoreOracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kScript) || !fs::is_directory(kMozilla)) {
      GTEST_SKIP() << "update-ca-certificates (Debian package "
                      "ca-certificates) is not installed";
    }
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""));
    rootfs_ = dir_.Sub("rootfs");
    fs::create_directories(rootfs_ + "/etc");
    fs::create_directories(rootfs_ + "/usr/share/ca-certificates");
    fs::create_directories(rootfs_ + "/usr/local/share/ca-certificates");
  }

  std::string Pem(const std::string& name, CertOptions o = {}) {
    if (o.common_name == CertOptions{}.common_name) {
      o.common_name = name;
    }
    return ReadFile(MakeRootCa(dir_.Sub(""), name, o).cert_path);
  }

  void Local(const std::string& relative, const std::string& content) {
    fs::path p =
        fs::path(rootfs_) / "usr/local/share/ca-certificates" / relative;
    fs::create_directories(p.parent_path());
    WriteFile(p, content);
  }

  // The conf Debian's postinst writes: every Mozilla certificate, sorted.
  std::string MozillaConf(const std::string& deselect) {
    CommandResult list = RunShell(
        "cd /usr/share/ca-certificates && LC_ALL=C find mozilla -name "
        "'*.crt' | LC_ALL=C sort");
    EXPECT_EQ(list.exit_code, 0);
    std::string conf;
    size_t start = 0;
    while (start < list.out.size()) {
      size_t end = list.out.find('\n', start);
      std::string line = list.out.substr(start, end - start);
      conf += (line == deselect ? "!" : "") + line + "\n";
      ++mozilla_count_;
      start = end + 1;
    }
    return conf;
  }

  // Runs the real script into a copy of the inputs; returns the normalised
  // listing of its etc/ssl/certs plus the bundle's SHA-256.
  std::string Oracle() {
    std::string r = dir_.Sub("oracle") + "/root";
    fs::create_directories(r);
    EXPECT_EQ(
        RunShell("cp -a " + ShellQuote(rootfs_ + "/.") + " " + ShellQuote(r))
            .exit_code,
        0);
    fs::create_directories(r + "/etc/ssl/certs");
    fs::create_directories(r + "/tmp");
    CommandResult run =
        RunShell("cd " + r +
                 " && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "
                 "TMPDIR=" +
                 r + "/tmp " + kScript + " --certsconf " + r +
                 "/etc/ca-certificates.conf --certsdir " + r +
                 "/usr/share/ca-certificates --localcertsdir " + r +
                 "/usr/local/share/ca-certificates --etccertsdir " + r +
                 "/etc/ssl/certs --hooksdir ''");
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    oracle_log_ = run.out;
    return Listing(r, r);
  }

  static std::string Listing(const std::string& root,
                             const std::string& prefix) {
    std::string certs = root + "/etc/ssl/certs";
    CommandResult list = RunShell(
        "cd " + ShellQuote(certs) +
        " && LC_ALL=C find . -mindepth 1 -printf '%y %m %P -> %l\\n' | sed " +
        ShellQuote(prefix.empty() ? "s| -> $||"
                                  : "s|" + prefix + "||g; s| -> $||") +
        " | LC_ALL=C sort && sha256sum ca-certificates.crt");
    EXPECT_EQ(list.exit_code, 0) << list.err;
    return list.out;
  }

  // Our store: built into a bundle, then unpacked by `imab-verify extract`
  // (verify = true) or by GNU tar straight from the payload.
  std::string Ours(const std::string& flags, bool verify) {
    std::string bundle = dir_.Sub("b.imab");
    CommandResult built = RunBuild(rootfs_, bundle, *keys_, flags);
    EXPECT_EQ(built.exit_code, 0) << built.err;
    build_log_ = built.out + built.err;
    std::string out = dir_.Sub("ours");
    if (verify) {
      CommandResult extracted = RunExtract(bundle, keys_->ca().cert_path, out);
      EXPECT_EQ(extracted.exit_code, 0) << extracted.err;
    } else {
      fs::create_directories(out);
      EXPECT_EQ(
          RunShell("tar -xOf " + ShellQuote(bundle) +
                   " payload.tar.zst | zstd -dc | tar -x -C " + ShellQuote(out))
              .exit_code,
          0);
    }
    return Listing(out, "");
  }

  static size_t CountLines(const std::string& listing, const std::string& p) {
    size_t n = 0;
    for (size_t at = 0; (at = listing.find("\n" + p, at)) != std::string::npos;
         ++at) {
      ++n;
    }
    return n + (listing.rfind(p, 0) == 0 ? 1 : 0);
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  std::string rootfs_;
  std::string oracle_log_;
  std::string build_log_;
  size_t mozilla_count_ = 0;
};

// The full Mozilla set with every kind of input the strict mode accepts.
TEST_F(CaStoreOracleTest, FullMozillaSetWithLocalEditsMatchesTheScript) {
  ASSERT_EQ(RunShell("cp -a /usr/share/ca-certificates/mozilla " +
                     ShellQuote(rootfs_ + "/usr/share/ca-certificates/"))
                .exit_code,
            0);
  // Two CAs sharing one subject (so one subject hash), listed B first.
  fs::create_directories(rootfs_ + "/usr/share/ca-certificates/example");
  CertOptions collision;
  collision.common_name = "Collision Root";
  WriteFile(rootfs_ + "/usr/share/ca-certificates/example/Collision_Root_B.crt",
            Pem("collision-b", collision));
  WriteFile(rootfs_ + "/usr/share/ca-certificates/example/Collision_Root_A.crt",
            Pem("collision-a", collision));
  std::string conf = "# Comment\n#!mozilla/Not_A_Removal.crt\n" +
                     MozillaConf("mozilla/Amazon_Root_CA_2.crt") +
                     "example/Collision_Root_B.crt\n"
                     "example/Collision_Root_A.crt\n"
                     "mozilla/ISRG_Root_X1.crt";  // no newline: ignored
  WriteFile(rootfs_ + "/etc/ca-certificates.conf", conf);
  Local("My Corp (Dev), Root.crt", Pem("corp"));
  Local("sub dir/nested.crt", Pem("nested"));
  Local("sub2/deeper/deepest.crt", Pem("deepest"));
  Local(".hidden.crt", Pem("hidden"));
  Local("ignored.pem", Pem("ignored"));
  // A Mozilla certificate present in the local folder too, under another
  // name: two links, two bundle copies, one hash link.
  Local("globalsign-copy.crt",
        ReadFile(std::string(kMozilla) + "/GlobalSign_Root_CA.crt"));
  CertOptions expired;
  expired.not_before_offset = -7200;
  expired.not_after_offset = -3600;
  Local("expired.crt", Pem("expired", expired));

  std::string oracle = Oracle();
  std::string ours = Ours("", true);
  EXPECT_EQ(ours, oracle);
  size_t links = CountLines(ours, "l ");
  // Mozilla minus one removal, plus 2 example, plus 6 local .crt files.
  size_t selected = mozilla_count_ - 1 + 2 + 6;
  EXPECT_GT(mozilla_count_, 100u);
  EXPECT_EQ(links, 2 * selected - 1);  // one duplicate gets no hash link
  EXPECT_THAT(oracle_log_, HasSubstr(std::to_string(selected) + " added"));
  EXPECT_THAT(build_log_, HasSubstr("expired.pem"));
  std::cout << "[ oracle ] " << mozilla_count_ << " Mozilla files, " << selected
            << " certificates selected, " << links
            << " links: identical to update-ca-certificates\n";
}

// Inputs only --ca-lenient accepts, where the script ships a broken store:
// ours must still be byte-identical to the script's.
TEST_F(CaStoreOracleTest, LenientOddInputsMatchTheScript) {
  fs::create_directories(rootfs_ + "/usr/share/ca-certificates/mozilla");
  std::string shared = rootfs_ + "/usr/share/ca-certificates/mozilla/";
  ASSERT_EQ(RunShell("cp " + std::string(kMozilla) + "/ISRG_Root_X1.crt " +
                     std::string(kMozilla) + "/GlobalSign_Root_CA.crt " +
                     ShellQuote(shared))
                .exit_code,
            0);
  std::string pem = Pem("crlf");
  std::string crlf;
  for (char c : pem) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  }
  WriteFile(shared + "Crlf.crt", crlf);
  std::string same_name = Pem("same-name");
  WriteFile(shared + "Same_Name.crt", same_name);
  WriteFile(rootfs_ + "/etc/ca-certificates.conf",
            "mozilla/ISRG_Root_X1.crt\nmozilla/Missing.crt\n  # indented\n"
            "mozilla/Crlf.crt\nmozilla/Same_Name.crt\n"
            "mozilla/GlobalSign_Root_CA.crt\r\n");
  std::string nl = Pem("no-newline");
  Local("no-newline.crt", nl.substr(0, nl.size() - 1));
  Local("der.crt", std::string("\x30\x82\x01\x0a\x02\x01", 6));
  Local("empty.crt", "");
  Local("garbage.crt", "not a certificate at all");
  Local("truncated.crt", pem.substr(0, 200));
  Local("two.crt", Pem("two-a") + Pem("two-b"));
  Local("key-then-cert.crt",
        ReadFile(MakeRootCa(dir_.Sub(""), "kc").key_path) + Pem("kc2"));
  Local("Same_Name.crt", Pem("same-name-local"));  // local wins the link
  Local("UPPER.CRT", Pem("upper"));

  std::string oracle = Oracle();
  std::string ours = Ours("--ca-lenient", false);
  EXPECT_EQ(ours, oracle);
  EXPECT_THAT(build_log_, HasSubstr("warning"));
  // Strict mode refuses the same inputs, naming a file.
  CommandResult strict = RunBuild(rootfs_, dir_.Sub("strict.imab"), *keys_);
  EXPECT_EQ(strict.exit_code, 2);
  EXPECT_THAT(strict.err, HasSubstr("imab-build: error: "));
  EXPECT_FALSE(fs::exists(dir_.Sub("strict.imab")));
}

}  // namespace
}  // namespace imab::testing
