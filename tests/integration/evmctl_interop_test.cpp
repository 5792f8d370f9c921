// Byte-compatibility with evmctl (ima-evm-utils 1.4): signatures evmctl
// writes equal ours byte for byte (RSA), evmctl verifies what we write, and
// the kernel's keyring code finds our key and accepts our signatures
// (ima-evm-formats.md §8).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/digest_signer.h"
#include "common/read/digest_signature.h"
#include "common/read/entry.h"
#include "common/read/evm_digest.h"
#include "common/read/hex.h"
#include "common/read/ima_xattr.h"
#include "common/read/kernel_profile.h"
#include "common/read/keyid.h"
#include "common/write/ima_xattr_writer.h"
#include "common/write/xattr_order.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using builder::DigestSigner;
using testing::CertOptions;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::KeyType;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::TestIdentity;

constexpr HashAlgo kAlgos[] = {HashAlgo::kSha256, HashAlgo::kSha384,
                               HashAlgo::kSha512};

// ---- xattr and file helpers -------------------------------------------

std::optional<std::string> GetXattr(const std::string& path,
                                    const std::string& name) {
  ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
  if (size < 0) {
    return std::nullopt;
  }
  std::string value(static_cast<size_t>(size), '\0');
  size = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
  if (size < 0) {
    return std::nullopt;
  }
  value.resize(static_cast<size_t>(size));
  return value;
}

bool SetXattr(const std::string& path, const std::string& name,
              const std::string& value, std::string* error) {
  if (::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) !=
      0) {
    *error = name + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void RemoveXattr(const std::string& path, const std::string& name) {
  static_cast<void>(::lremovexattr(path.c_str(), name.c_str()));
}

// Every xattr of `path` except security.ima/security.evm, sorted.
std::vector<Xattr> ListXattrs(const std::string& path) {
  std::vector<Xattr> out;
  ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
  if (size <= 0) {
    return out;
  }
  std::string names(static_cast<size_t>(size), '\0');
  size = ::llistxattr(path.c_str(), names.data(), names.size());
  EXPECT_GE(size, 0);
  names.resize(static_cast<size_t>(std::max<ssize_t>(size, 0)));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    if (name == kImaXattr || name == kEvmXattr) {
      continue;
    }
    std::optional<std::string> value = GetXattr(path, name);
    EXPECT_TRUE(value.has_value()) << name;
    out.push_back({name, value.value_or("")});
  }
  SortXattrs(out);
  return out;
}

std::vector<uint8_t> FileDigest(const std::string& path, HashAlgo algo) {
  const std::string content = testing::ReadFile(path);
  std::vector<uint8_t> out(HashAlgoDigestSize(algo));
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(content.data(), content.size(), out.data(), &len,
                       HashAlgoMd(algo), nullptr),
            1);
  return out;
}

// The Entry the builder would record for `path` (owner, mode, xattrs).
Entry EntryOf(const std::string& path, const std::string& ima) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  Entry e;
  e.path = path;
  e.type = EntryType::kFile;
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.xattrs = ListXattrs(path);
  e.xattrs.push_back({std::string(kImaXattr), ima});
  SortXattrs(e.xattrs);
  return e;
}

// ---- what our code writes -----------------------------------------------

std::string OurIma(const DigestSigner& signer, const std::string& path,
                   HashAlgo algo) {
  Result<std::vector<uint8_t>> sig = signer.Sign(algo, FileDigest(path, algo));
  EXPECT_TRUE(sig.has_value()) << sig.error().message;
  return EncodeSignatureV2(XattrType::kDigsig, algo, signer.keyid(),
                           sig.has_value() ? *sig : std::vector<uint8_t>{});
}

std::vector<uint8_t> OurEvmDigest(const std::string& path,
                                  const std::string& ima,
                                  const KernelProfile& profile, HashAlgo algo) {
  Result<std::vector<uint8_t>> d =
      EvmPortableDigest(EntryOf(path, ima), profile, algo);
  EXPECT_TRUE(d.has_value()) << d.error().message;
  return d.has_value() ? *d : std::vector<uint8_t>{};
}

std::string OurEvm(const DigestSigner& signer, const std::string& path,
                   const std::string& ima, const KernelProfile& profile,
                   HashAlgo algo) {
  Result<std::vector<uint8_t>> sig =
      signer.Sign(algo, OurEvmDigest(path, ima, profile, algo));
  EXPECT_TRUE(sig.has_value()) << sig.error().message;
  return EncodeSignatureV2(XattrType::kEvmPortableDigsig, algo, signer.keyid(),
                           sig.has_value() ? *sig : std::vector<uint8_t>{});
}

// ---- the corpus -----------------------------------------------------------

struct CorpusSpec {
  const char* name;
  std::string content;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  std::vector<Xattr> xattrs;
};

std::vector<CorpusSpec> Specs() {
  const std::string cap = std::string("\x01\x00\x00\x02\x00\x20\x00\x00", 8) +
                          std::string(12, '\0');  // VFS_CAP_REVISION_2
  return {
      {"setuid", "#!/bin/sh\necho setuid\n", 04755, 0, 0, {}},
      {"caps", "capable binary\n", 0755, 0, 0, {{"security.capability", cap}}},
      {"smack",
       "smack labelled\n",
       0644,
       0,
       0,
       {{"security.SMACK64", "_"}, {"security.SMACK64EXEC", "System"}}},
      {"apparmor",
       "apparmor labelled\n",
       0644,
       0,
       0,
       {{"security.apparmor", "unconfined"}}},
      {"selinux",
       "selinux labelled\n",
       0644,
       0,
       0,
       {{"security.selinux", std::string("system_u:object_r:bin_t:s0\0", 27)}}},
      {"owned", "owned by 1234:5678\n", 0640, 1234, 5678, {}},
      {"empty", "", 0644, 0, 0, {}},
      {"combo",
       "worked example\n",
       04750,
       1234,
       5678,
       {{"security.SMACK64", "_"},
        {"security.apparmor", "unconfined"},
        {"security.capability", cap}}},
  };
}

// Creates `spec` at `path`: content, owner, mode, then labels (chown would
// clear setuid and capabilities, §4.5). False with a reason when the system
// refuses something (not root, a filesystem without security xattrs).
bool MakeFile(const CorpusSpec& spec, const std::string& path,
              std::string* why) {
  testing::WriteFile(path, spec.content);
  if (::lchown(path.c_str(), spec.uid, spec.gid) != 0) {
    *why = std::string("chown: ") + std::strerror(errno);
    return false;
  }
  if (::chmod(path.c_str(), spec.mode) != 0) {
    *why = std::string("chmod: ") + std::strerror(errno);
    return false;
  }
  for (const Xattr& x : spec.xattrs) {
    if (!SetXattr(path, x.name, x.value, why)) {
      return false;
    }
  }
  return true;
}

// ---- fixture: keys generated once (RSA-4096 keygen is slow) ---------------

struct SignerFiles {
  std::string label;
  TestIdentity id;
  std::string der_path;
  std::unique_ptr<DigestSigner> signer;
};

class EvmctlInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::HaveTool("evmctl")) {
      return;
    }
    dir_ = std::make_unique<TempDir>();
    const std::string d = dir_->path().string();
    CertOptions ca_options;
    ca_options.common_name = "imabundle test IMA CA";
    ca_options.key_type = KeyType::kRsa2048;
    ca_ = std::make_unique<TestIdentity>(
        testing::MakeRootCa(d, "ca", ca_options));
    ca_der_ = ToDer(ca_->cert_path);
    for (auto [label, type] : {std::pair{"rsa2048", KeyType::kRsa2048},
                               std::pair{"rsa3072", KeyType::kRsa3072},
                               std::pair{"rsa4096", KeyType::kRsa4096},
                               std::pair{"p256", KeyType::kEcP256}}) {
      CertOptions o;
      o.common_name = std::string("IMA signing ") + label;
      o.key_type = type;
      auto s = std::make_unique<SignerFiles>();
      s->label = label;
      s->id = testing::MakeIssued(d, label, *ca_, o);
      s->der_path = ToDer(s->id.cert_path);
      Result<std::unique_ptr<DigestSigner>> loaded =
          builder::LoadFileDigestSigner(s->id.key_path, s->der_path);
      if (!loaded.has_value()) {
        ADD_FAILURE() << label << ": " << loaded.error().message;
        continue;
      }
      s->signer = std::move(*loaded);
      signers_.push_back(std::move(s));
    }
  }

  static void TearDownTestSuite() {
    signers_.clear();
    ca_.reset();
    dir_.reset();
  }

  void SetUp() override {
    if (!testing::HaveTool("evmctl")) {
      GTEST_SKIP() << "evmctl (ima-evm-utils) is not installed";
    }
    ASSERT_EQ(signers_.size(), 4u) << "key setup failed";
  }

  // PEM -> DER with the openssl CLI, as a device's /etc/keys file.
  static std::string ToDer(const std::string& pem) {
    const std::string der = pem.substr(0, pem.rfind('.')) + ".der";
    CommandResult r = RunShell("openssl x509 -in " + ShellQuote(pem) +
                               " -outform DER -out " + ShellQuote(der));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return der;
  }

  static const SignerFiles& Signer(const std::string& label) {
    for (const auto& s : signers_) {
      if (s->label == label) {
        return *s;
      }
    }
    ADD_FAILURE() << "no signer " << label;
    return *signers_.front();
  }

  // The corpus in `dir`, skipping (with a note) files the system refuses.
  static std::vector<std::string> MakeCorpus(const TempDir& dir,
                                             const std::string& prefix) {
    std::vector<std::string> paths;
    for (const CorpusSpec& spec : Specs()) {
      const std::string path = dir.Sub(prefix + spec.name);
      std::string why;
      if (!MakeFile(spec, path, &why)) {
        std::cout << "[   NOTE   ] skipping corpus file " << spec.name << ": "
                  << why << "\n";
        continue;
      }
      paths.push_back(path);
    }
    EXPECT_GE(paths.size(), 2u) << "almost the whole corpus was refused";
    return paths;
  }

  static void Evmctl(const std::string& args) {
    CommandResult r = RunShell("evmctl " + args);
    EXPECT_EQ(r.exit_code, 0) << "evmctl " << args << "\n" << r.out << r.err;
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<TestIdentity> ca_;
  static inline std::string ca_der_;
  static inline std::vector<std::unique_ptr<SignerFiles>> signers_;
};

// evmctl signs, we sign the same inputs; RSA v1.5 is deterministic, so
// security.ima and security.evm must be identical bytes.
void CompareWithEvmctl(const SignerFiles& s, const std::string& path,
                       HashAlgo algo, const KernelProfile& profile,
                       const std::string& extra_flags) {
  SCOPED_TRACE(s.label + " " + std::string(HashAlgoName(algo)) + " " +
               KernelProfileName(profile) + " " + path);
  const std::string key = ShellQuote(s.id.key_path);
  const std::string a = std::string(HashAlgoName(algo));
  RemoveXattr(path, std::string(kImaXattr));
  RemoveXattr(path, std::string(kEvmXattr));
  const std::string ours_ima = OurIma(*s.signer, path, algo);

  CommandResult r = RunShell("evmctl ima_sign --key " + key + " -a " + a + " " +
                             extra_flags + " " + ShellQuote(path));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::optional<std::string> ima = GetXattr(path, std::string(kImaXattr));
  ASSERT_TRUE(ima.has_value());
  EXPECT_EQ(HexEncode(*ima), HexEncode(ours_ima));

  r = RunShell(
      "evmctl sign --imasig --portable --generation 0 --smack "
      "--key " +
      key + " -a " + a + " " + extra_flags +
      (profile.word_bits == 32 ? " --m32 " : " ") + ShellQuote(path));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ima = GetXattr(path, std::string(kImaXattr));
  std::optional<std::string> evm = GetXattr(path, std::string(kEvmXattr));
  ASSERT_TRUE(ima.has_value());
  ASSERT_TRUE(evm.has_value());
  EXPECT_EQ(HexEncode(*ima), HexEncode(ours_ima));
  EXPECT_EQ(HexEncode(*evm),
            HexEncode(OurEvm(*s.signer, path, ours_ima, profile, algo)));
}

TEST_F(EvmctlInteropTest, RsaSignaturesByteIdenticalAllAlgos) {
  TempDir dir;
  const std::vector<std::string> corpus = MakeCorpus(dir, "");
  const KernelProfile le64;
  for (const char* label : {"rsa2048", "rsa3072", "rsa4096"}) {
    for (HashAlgo algo : kAlgos) {
      for (const std::string& path : corpus) {
        CompareWithEvmctl(Signer(label), path, algo, le64, "");
      }
    }
  }
}

TEST_F(EvmctlInteropTest, RsaByteIdenticalWithKeyidFromCert) {
  TempDir dir;
  const std::vector<std::string> corpus = MakeCorpus(dir, "");
  const SignerFiles& s = Signer("rsa2048");
  for (const std::string& path : corpus) {
    CompareWithEvmctl(s, path, HashAlgo::kSha256, KernelProfile{},
                      "--keyid-from-cert " + ShellQuote(s.der_path));
  }
}

TEST_F(EvmctlInteropTest, Rsa32BitProfileMatchesM32) {
  TempDir dir;
  const std::vector<std::string> corpus = MakeCorpus(dir, "");
  Result<KernelProfile> le32 = ParseKernelProfile("le32");
  ASSERT_TRUE(le32.has_value());
  for (HashAlgo algo : {HashAlgo::kSha256, HashAlgo::kSha512}) {
    for (const std::string& path : corpus) {
      CompareWithEvmctl(Signer("rsa2048"), path, algo, *le32, "");
    }
  }
}

TEST_F(EvmctlInteropTest, EvmctlEcdsaSignaturesVerifyWithOurCode) {
  // ECDSA is randomised: compare headers and verify evmctl's signatures
  // over the digests we compute.
  TempDir dir;
  const std::vector<std::string> corpus = MakeCorpus(dir, "");
  const SignerFiles& s = Signer("p256");
  EVP_PKEY* pub = X509_get0_pubkey(s.signer->certificate());
  for (HashAlgo algo : kAlgos) {
    for (const std::string& path : corpus) {
      SCOPED_TRACE(std::string(HashAlgoName(algo)) + " " + path);
      Evmctl("sign --imasig --portable --generation 0 --smack --key " +
             ShellQuote(s.id.key_path) + " -a " +
             std::string(HashAlgoName(algo)) + " " + ShellQuote(path));
      std::optional<std::string> ima = GetXattr(path, std::string(kImaXattr));
      std::optional<std::string> evm = GetXattr(path, std::string(kEvmXattr));
      ASSERT_TRUE(ima.has_value() && evm.has_value());
      Result<SignatureV2> ima_sig = ParseSignatureV2(*ima, XattrType::kDigsig);
      ASSERT_TRUE(ima_sig.has_value()) << ima_sig.error().message;
      EXPECT_EQ(ima_sig->keyid, s.signer->keyid());
      EXPECT_EQ(ima_sig->algo, algo);
      Status ok = VerifyDigestSignature(pub, algo, FileDigest(path, algo),
                                        ima_sig->signature);
      EXPECT_TRUE(ok.ok()) << ok.error().message;
      Result<SignatureV2> evm_sig =
          ParseSignatureV2(*evm, XattrType::kEvmPortableDigsig);
      ASSERT_TRUE(evm_sig.has_value()) << evm_sig.error().message;
      EXPECT_EQ(evm_sig->keyid, s.signer->keyid());
      ok = VerifyDigestSignature(
          pub, algo, OurEvmDigest(path, *ima, KernelProfile{}, algo),
          evm_sig->signature);
      EXPECT_TRUE(ok.ok()) << ok.error().message;
    }
  }
}

TEST_F(EvmctlInteropTest, EvmctlVerifiesOurSignatures) {
  TempDir dir;
  const std::vector<std::string> corpus = MakeCorpus(dir, "ours_");
  for (const char* label : {"rsa2048", "p256"}) {
    const SignerFiles& s = Signer(label);
    for (const std::string& path : corpus) {
      SCOPED_TRACE(std::string(label) + " " + path);
      const std::string ima = OurIma(*s.signer, path, HashAlgo::kSha256);
      const std::string evm =
          OurEvm(*s.signer, path, ima, KernelProfile{}, HashAlgo::kSha256);
      std::string why;
      ASSERT_TRUE(SetXattr(path, std::string(kImaXattr), ima, &why)) << why;
      ASSERT_TRUE(SetXattr(path, std::string(kEvmXattr), evm, &why)) << why;
      Evmctl("ima_verify --key " + ShellQuote(s.der_path) + " " +
             ShellQuote(path));
      Evmctl("verify --key " + ShellQuote(s.der_path) + " --smack " +
             ShellQuote(path));
    }
  }
}

TEST_F(EvmctlInteropTest, EvmctlRejectsOurSignatureAfterModeChange) {
  // Guards the test above against a vacuous pass: a changed mode bit must
  // make evmctl's own EVM verification fail.
  TempDir dir;
  const std::string path = dir.Sub("tampered");
  std::string why;
  ASSERT_TRUE(MakeFile(Specs()[0], path, &why)) << why;
  const SignerFiles& s = Signer("rsa2048");
  const std::string ima = OurIma(*s.signer, path, HashAlgo::kSha256);
  ASSERT_TRUE(SetXattr(path, std::string(kImaXattr), ima, &why)) << why;
  ASSERT_TRUE(SetXattr(
      path, std::string(kEvmXattr),
      OurEvm(*s.signer, path, ima, KernelProfile{}, HashAlgo::kSha256), &why))
      << why;
  ASSERT_EQ(::chmod(path.c_str(), 0755), 0);  // setuid bit dropped
  CommandResult r = RunShell("evmctl verify --key " + ShellQuote(s.der_path) +
                             " --smack " + ShellQuote(path));
  EXPECT_NE(r.exit_code, 0) << r.out;
}

// ---- kernel keyring ---------------------------------------------------------

TEST_F(EvmctlInteropTest, KernelKeyringFindsKeyAndVerifies) {
  if (!testing::HaveTool("keyctl")) {
    GTEST_SKIP() << "keyctl (keyutils) is not installed";
  }
  TempDir dir;
  const std::string ca = ShellQuote(ca_der_);
  CommandResult probe = RunShell(
      "keyctl session - bash -c 'R=$(keyctl newring imab_probe @s) && "
      "keyctl padd asymmetric \"\" $R < " +
      ca + "'");
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "kernel asymmetric keys unavailable here: " << probe.err;
  }
  const SignerFiles& s = Signer("rsa2048");
  TestIdentity self = testing::MakeRootCa(
      dir.path().string(), "self", CertOptions{.key_type = KeyType::kRsa2048});
  const std::string self_der = ToDer(self.cert_path);

  const std::string file = dir.Sub("payload");
  testing::WriteFile(file, "kernel checked content\n");
  const std::vector<uint8_t> file_digest = FileDigest(file, HashAlgo::kSha256);
  const std::string ima = OurIma(*s.signer, file, HashAlgo::kSha256);
  const std::vector<uint8_t> evm_digest =
      OurEvmDigest(file, ima, KernelProfile{}, HashAlgo::kSha256);
  const std::string evm =
      OurEvm(*s.signer, file, ima, KernelProfile{}, HashAlgo::kSha256);
  auto bytes = [](const std::vector<uint8_t>& v) {
    return std::string(v.begin(), v.end());
  };
  testing::WriteFile(dir.Sub("ima_digest.bin"), bytes(file_digest));
  testing::WriteFile(dir.Sub("ima_sig.bin"),
                     ima.substr(kSignatureV2HeaderBytes));
  testing::WriteFile(dir.Sub("evm_digest.bin"), bytes(evm_digest));
  testing::WriteFile(dir.Sub("evm_sig.bin"),
                     evm.substr(kSignatureV2HeaderBytes));
  std::vector<uint8_t> wrong = file_digest;
  wrong[0] ^= 1;
  testing::WriteFile(dir.Sub("wrong_digest.bin"), bytes(wrong));

  const std::string script =
      "set -e; cd " + ShellQuote(dir.path().string()) +
      "\n"
      "A=$(keyctl newring imab_ca @s)\n"
      "keyctl padd asymmetric '' $A < " +
      ca +
      " >/dev/null\n"
      "B=$(keyctl newring imab_ima @s)\n"
      "keyctl restrict_keyring $B asymmetric key_or_keyring:$A\n"
      "K=$(keyctl padd asymmetric '' $B < " +
      ShellQuote(s.der_path) +
      ")\n"
      "F=$(keyctl search $B asymmetric id:" +
      KeyIdHex(s.signer->keyid()) +
      ")\n"
      "[ \"$K\" = \"$F\" ] || { echo \"search found $F, added $K\" >&2; "
      "exit 3; }\n"
      "keyctl pkey_verify $K 0 ima_digest.bin ima_sig.bin enc=pkcs1 "
      "hash=sha256\n"
      "keyctl pkey_verify $K 0 evm_digest.bin evm_sig.bin enc=pkcs1 "
      "hash=sha256\n"
      "if keyctl pkey_verify $K 0 wrong_digest.bin ima_sig.bin enc=pkcs1 "
      "hash=sha256 2>/dev/null; then echo 'wrong digest accepted' >&2; "
      "exit 4; fi\n"
      "if keyctl padd asymmetric '' $B < " +
      ShellQuote(self_der) +
      " 2>/dev/null; then echo 'self-signed accepted' >&2; exit 5; fi\n"
      "echo ok\n";
  testing::WriteFile(dir.Sub("keyring.sh"), script);
  CommandResult r =
      RunShell("keyctl session - bash " + ShellQuote(dir.Sub("keyring.sh")));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok")) << r.out << r.err;
}

}  // namespace
}  // namespace imab
