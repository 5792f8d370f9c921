// Tests for ImaChecker (common/read/integrity_check.h): xattrs are built here
// from first principles (signature header, EVM digest recipe of
// ima-evm-formats.md §4.2, EVP_PKEY_sign), then one test per rule makes exactly
// that rule fail.
#include "common/read/integrity_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "common/read/ima_xattr.h"
#include "common/read/keyid.h"
#include "common/read/x509_util.h"
#include "common/write/ima_xattr_writer.h"
#include "common/write/xattr_order.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using imab::testing::CertOptions;
using imab::testing::KeyType;
using imab::testing::MakeIssued;
using imab::testing::MakeRootCa;
using imab::testing::StatusIs;
using imab::testing::TempDir;
using imab::testing::TestIdentity;
using ::testing::HasSubstr;

using Bytes = std::vector<uint8_t>;

Bytes Digest(HashAlgo algo, std::string_view data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &len,
                       HashAlgoMd(algo), nullptr),
            1);
  out.resize(len);
  return out;
}

// What the kernel verifies (§2.2): RSA PKCS#1 v1.5 over DigestInfo, or
// ECDSA over the raw digest.
Bytes SignDigest(EVP_PKEY* key, HashAlgo algo, const Bytes& digest) {
  Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(key, nullptr));
  EXPECT_NE(ctx, nullptr);
  EXPECT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), 1);
  }
  EXPECT_EQ(EVP_PKEY_CTX_set_signature_md(ctx.get(), HashAlgoMd(algo)), 1);
  size_t len = 0;
  EXPECT_EQ(
      EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()), 1);
  Bytes sig(len);
  EXPECT_EQ(
      EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()),
      1);
  sig.resize(len);
  return sig;
}

std::string Der(const X509* cert) { return CertificateDer(cert).value(); }

uint32_t KeyIdOf(const TestIdentity& id) {
  Result<uint32_t> keyid = KeyIdFromCertificate(id.cert.get());
  EXPECT_TRUE(keyid.has_value());
  return keyid.has_value() ? *keyid : 0;
}

// The EVM portable digest, recomputed independently of common/evm_digest:
// protected xattr values in kernel order, then the 24-byte LP64
// little-endian hmac_misc (ino 0, generation 0, uid, gid, i_mode, pad).
Bytes EvmDigestLe64(const Entry& e, HashAlgo algo) {
  std::string input;
  for (const std::string& name : AllEvmXattrs()) {
    if (const Xattr* x = FindXattr(e, name); x != nullptr) {
      input += x->value;
    }
  }
  std::string misc(24, '\0');
  uint32_t i_mode = 0100000 | e.mode;
  for (int i = 0; i < 4; ++i) {
    misc[static_cast<size_t>(12 + i)] = static_cast<char>(e.uid >> (8 * i));
    misc[static_cast<size_t>(16 + i)] = static_cast<char>(e.gid >> (8 * i));
  }
  misc[20] = static_cast<char>(i_mode & 0xff);
  misc[21] = static_cast<char>(i_mode >> 8);
  return Digest(algo, input + misc);
}

constexpr std::string_view kContent = "#!/bin/sh\necho hello\n";

class ImaCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeRootCa(dir_.Sub(""), "ca");
    rsa_ = MakeIssued(dir_.Sub(""), "rsa", ca_,
                      CertOptions{.key_type = KeyType::kRsa2048});
    ec_ = MakeIssued(dir_.Sub(""), "ec", ca_,
                     CertOptions{.key_type = KeyType::kEcP256});
    other_ = MakeIssued(dir_.Sub(""), "other", ca_);
    ImaSection section;
    for (const TestIdentity* id : {&rsa_, &ec_}) {
      section.certificates.push_back({KeyIdOf(*id), Der(id->cert.get())});
    }
    std::ranges::sort(section.certificates, {}, &SigningCertificate::keyid);
    section_ = section;
    Result<ImaChecker> checker = ImaChecker::Create(section_);
    ASSERT_TRUE(checker.has_value()) << checker.error().message;
    checker_.emplace(std::move(*checker));
  }

  // A root-owned executable with capability and LSM labels, no IMA yet.
  static Entry BaseFile() {
    Entry e;
    e.path = "usr/bin/hello";
    e.type = EntryType::kFile;
    e.mode = 04755;
    e.uid = 1234;
    e.gid = 5678;
    e.size = kContent.size();
    e.xattrs = {{"security.SMACK64", "_"},
                {"security.apparmor", "unconfined"},
                {"security.capability", std::string(20, '\x01')}};
    SortXattrs(e.xattrs);
    return e;
  }

  static void SetXattr(Entry* e, std::string_view name, std::string value) {
    std::erase_if(e->xattrs, [&](const Xattr& x) { return x.name == name; });
    e->xattrs.push_back({std::string(name), std::move(value)});
    SortXattrs(e->xattrs);
  }

  static std::string ImaSig(const TestIdentity& id, HashAlgo algo,
                            std::string_view content, uint32_t keyid) {
    Bytes sig = SignDigest(id.key.get(), algo, Digest(algo, content));
    return EncodeSignatureV2(XattrType::kDigsig, algo, keyid, sig);
  }

  // Signs security.ima over the content, then security.evm over the entry
  // (with that security.ima), like `evmctl sign --imasig --portable`.
  static Entry SignedFile(const TestIdentity& id,
                          HashAlgo algo = HashAlgo::kSha256) {
    Entry e = BaseFile();
    SetXattr(&e, kImaXattr, ImaSig(id, algo, kContent, KeyIdOf(id)));
    SetXattr(&e, kEvmXattr, EvmSig(e, id, algo, KeyIdOf(id)));
    return e;
  }

  static std::string EvmSig(const Entry& e, const TestIdentity& id,
                            HashAlgo algo, uint32_t keyid) {
    Bytes sig = SignDigest(id.key.get(), algo, EvmDigestLe64(e, algo));
    return EncodeSignatureV2(XattrType::kEvmPortableDigsig, algo, keyid, sig);
  }

  // Runs the checker the way the verifier does: digest chosen first.
  std::vector<IntegrityFailure> Run(const Entry& e,
                                    std::string_view content = kContent) {
    std::optional<HashAlgo> algo = checker_->ContentDigestAlgo(e);
    Bytes digest = algo.has_value() ? Digest(*algo, content) : Bytes();
    std::vector<IntegrityFailure> failures;
    size_t added = checker_->Check(e, digest, &failures);
    EXPECT_EQ(added, failures.size());
    return failures;
  }

  // Exactly one failure, on `xattr`, whose reason contains `needle`.
  ::testing::AssertionResult FailsWith(const std::vector<IntegrityFailure>& f,
                                       std::string_view xattr,
                                       std::string_view needle) {
    if (f.size() != 1) {
      auto result = ::testing::AssertionFailure() << f.size() << " failures:";
      for (const IntegrityFailure& x : f) {
        result << " [" << x.xattr << ": " << x.reason << "]";
      }
      return result;
    }
    if (f[0].xattr != xattr || f[0].reason.find(needle) == std::string::npos ||
        f[0].path != "usr/bin/hello") {
      return ::testing::AssertionFailure()
             << f[0].path << " " << f[0].xattr << ": " << f[0].reason;
    }
    return ::testing::AssertionSuccess();
  }

  TempDir dir_;
  TestIdentity ca_;
  TestIdentity rsa_;
  TestIdentity ec_;
  TestIdentity other_;  // a key the manifest does not declare
  ImaSection section_;
  std::optional<ImaChecker> checker_;
};

// --- Accepted files ---------------------------------------------------------

TEST_F(ImaCheckTest, AcceptsRsaSignedFile) {
  EXPECT_EQ(checker_->certificate_count(), 2u);
  Entry e = SignedFile(rsa_);
  EXPECT_EQ(checker_->ContentDigestAlgo(e), HashAlgo::kSha256);
  EXPECT_TRUE(Run(e).empty());
}

TEST_F(ImaCheckTest, AcceptsEcSignedFileWithSha384) {
  Entry e = SignedFile(ec_, HashAlgo::kSha384);
  EXPECT_EQ(checker_->ContentDigestAlgo(e), HashAlgo::kSha384);
  EXPECT_TRUE(Run(e).empty());
}

TEST_F(ImaCheckTest, AcceptsImaByOneKeyAndEvmByAnother) {
  Entry e = BaseFile();
  SetXattr(&e, kImaXattr,
           ImaSig(rsa_, HashAlgo::kSha256, kContent, KeyIdOf(rsa_)));
  SetXattr(&e, kEvmXattr, EvmSig(e, ec_, HashAlgo::kSha512, KeyIdOf(ec_)));
  EXPECT_TRUE(Run(e).empty());
}

TEST_F(ImaCheckTest, AcceptsFilesWithoutIntegrityXattrs) {
  Entry e = BaseFile();
  EXPECT_EQ(checker_->ContentDigestAlgo(e), std::nullopt);
  EXPECT_TRUE(Run(e).empty());
  Entry dir;
  dir.path = "usr";
  dir.type = EntryType::kDir;
  dir.mode = 0755;
  EXPECT_TRUE(Run(dir).empty());
}

// --- Keys
// ---------------------------------------------------------------------

TEST_F(ImaCheckTest, RejectsUnknownKeyId) {
  Entry e = SignedFile(other_);
  std::vector<IntegrityFailure> f = Run(e);
  ASSERT_EQ(f.size(), 2u);
  std::string expected = "signed by keyid " + KeyIdHex(KeyIdOf(other_)) +
                         ", not declared by the manifest {" +
                         KeyIdHex(section_.certificates[0].keyid) + ", " +
                         KeyIdHex(section_.certificates[1].keyid) + "}";
  EXPECT_EQ(f[0].xattr, kImaXattr);
  EXPECT_EQ(f[0].reason, expected);
  EXPECT_EQ(f[1].xattr, kEvmXattr);
  EXPECT_EQ(f[1].reason, expected);
}

TEST_F(ImaCheckTest, WithoutSectionEveryKeyIsUnknown) {
  Result<ImaChecker> bare = ImaChecker::Create(std::nullopt);
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->certificate_count(), 0u);
  Entry e = SignedFile(rsa_);
  std::vector<IntegrityFailure> failures;
  Bytes digest = Digest(HashAlgo::kSha256, kContent);
  ASSERT_EQ(bare->Check(e, digest, &failures), 2u);
  EXPECT_EQ(failures[0].reason, "signed by keyid " + KeyIdHex(KeyIdOf(rsa_)) +
                                    ", not declared by the manifest {}");
}

TEST_F(ImaCheckTest, RejectsRightKeyIdWrongKey) {
  // Signed by an undeclared key but naming a declared keyid: the lookup
  // finds the declared key and its verification must fail.
  Entry e = BaseFile();
  SetXattr(&e, kImaXattr,
           ImaSig(other_, HashAlgo::kSha256, kContent, KeyIdOf(ec_)));
  std::vector<IntegrityFailure> f = Run(e);
  EXPECT_TRUE(FailsWith(f, kImaXattr,
                        "signature does not verify over the content digest"));
}

// --- security.ima
// -------------------------------------------------------------

TEST_F(ImaCheckTest, RejectsChangedContent) {
  Entry e = SignedFile(rsa_);
  EXPECT_TRUE(FailsWith(Run(e, "#!/bin/sh\necho hellO\n"), kImaXattr,
                        "signature does not verify over the content digest"));
}

TEST_F(ImaCheckTest, RejectsTruncatedImaXattr) {
  std::string value = ImaSig(rsa_, HashAlgo::kSha256, kContent, KeyIdOf(rsa_));
  Entry e = BaseFile();
  SetXattr(&e, kImaXattr, value.substr(0, 100));
  EXPECT_TRUE(FailsWith(Run(e), kImaXattr,
                        "malformed: sig_size 256 but 91 bytes follow"));
  SetXattr(&e, kImaXattr, value.substr(0, 5));
  EXPECT_TRUE(FailsWith(Run(e), kImaXattr, "malformed: "));
  // security.evm covers security.ima, so a signed file fails both.
  Entry both = SignedFile(rsa_);
  SetXattr(&both, kImaXattr, value.substr(0, 100));
  EXPECT_EQ(Run(both).size(), 2u);
}

TEST_F(ImaCheckTest, RejectsWrongImaTypeByte) {
  Entry e = SignedFile(rsa_);
  std::string value = FindXattr(e, kImaXattr)->value;
  value[0] = 0x05;
  SetXattr(&e, kImaXattr, value);
  // EVM signed the old security.ima, so only the IMA reason is checked here.
  std::vector<IntegrityFailure> f = Run(e);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].xattr, kImaXattr);
  EXPECT_EQ(f[0].reason.rfind("malformed: ", 0), 0u) << f[0].reason;
}

TEST_F(ImaCheckTest, RejectsWrongSignatureVersion) {
  Entry e = BaseFile();
  std::string value = ImaSig(rsa_, HashAlgo::kSha256, kContent, KeyIdOf(rsa_));
  value[1] = 1;
  SetXattr(&e, kImaXattr, value);
  EXPECT_TRUE(FailsWith(Run(e), kImaXattr, "malformed: "));
  EXPECT_THAT(Run(e)[0].reason, HasSubstr("version 1"));
}

TEST_F(ImaCheckTest, RejectsSha1Signature) {
  Entry e = BaseFile();
  Bytes sig = SignDigest(rsa_.key.get(), HashAlgo::kSha1,
                         Digest(HashAlgo::kSha1, kContent));
  SetXattr(&e, kImaXattr,
           EncodeSignatureV2(XattrType::kDigsig, HashAlgo::kSha1, KeyIdOf(rsa_),
                             sig));
  EXPECT_EQ(checker_->ContentDigestAlgo(e), std::nullopt);
  EXPECT_TRUE(FailsWith(Run(e), kImaXattr, "malformed: "));
}

TEST_F(ImaCheckTest, RejectsSigSizeMismatch) {
  Entry e = BaseFile();
  std::string value = ImaSig(ec_, HashAlgo::kSha256, kContent, KeyIdOf(ec_));
  value.push_back('\0');  // one byte more than sig_size announces
  SetXattr(&e, kImaXattr, value);
  EXPECT_TRUE(FailsWith(Run(e), kImaXattr, "malformed: "));
  value.resize(value.size() - 2);  // one byte fewer
  SetXattr(&e, kImaXattr, value);
  EXPECT_TRUE(FailsWith(Run(e), kImaXattr, "malformed: "));
}

TEST_F(ImaCheckTest, AcceptsMatchingDigestForm) {
  Entry e = BaseFile();
  SetXattr(
      &e, kImaXattr,
      EncodeImaDigest(HashAlgo::kSha256, Digest(HashAlgo::kSha256, kContent)));
  EXPECT_EQ(checker_->ContentDigestAlgo(e), HashAlgo::kSha256);
  EXPECT_TRUE(Run(e).empty());
  // The legacy SHA-1 form is a digest the kernel recomputes, not a signature.
  SetXattr(&e, kImaXattr,
           EncodeImaDigest(HashAlgo::kSha1, Digest(HashAlgo::kSha1, kContent)));
  EXPECT_EQ(checker_->ContentDigestAlgo(e), HashAlgo::kSha1);
  EXPECT_TRUE(Run(e).empty());
}

TEST_F(ImaCheckTest, RejectsMismatchingDigestForm) {
  Entry e = BaseFile();
  SetXattr(&e, kImaXattr,
           EncodeImaDigest(HashAlgo::kSha512, Digest(HashAlgo::kSha512, "x")));
  EXPECT_TRUE(
      FailsWith(Run(e), kImaXattr, "sha512 digest does not match the content"));
}

// --- security.evm
// -------------------------------------------------------------

TEST_F(ImaCheckTest, RejectsEvmAfterModeChange) {
  Entry e = SignedFile(rsa_);
  e.mode = 0755;  // setuid dropped after signing
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr,
                        "EVM signature does not verify over the file's "
                        "metadata (mode, owner or protected xattrs changed "
                        "after signing)"));
}

TEST_F(ImaCheckTest, RejectsEvmAfterOwnerChange) {
  Entry e = SignedFile(ec_);
  e.uid = 0;
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr, "EVM signature does not verify"));
  e = SignedFile(ec_);
  e.gid = 0;
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr, "EVM signature does not verify"));
}

TEST_F(ImaCheckTest, RejectsEvmAfterCapabilityChange) {
  Entry e = SignedFile(rsa_);
  SetXattr(&e, "security.capability", std::string(20, '\x02'));
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr, "EVM signature does not verify"));
}

TEST_F(ImaCheckTest, RejectsEvmAfterSmackLabelChange) {
  Entry e = SignedFile(rsa_);
  SetXattr(&e, "security.SMACK64", "*");
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr, "EVM signature does not verify"));
  // Adding a protected label that was absent at signing time also counts.
  e = SignedFile(rsa_);
  SetXattr(&e, "security.SMACK64EXEC", "_");
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr, "EVM signature does not verify"));
}

TEST_F(ImaCheckTest, IgnoresUnprotectedXattrChange) {
  Entry e = SignedFile(rsa_);
  SetXattr(&e, "user.comment", "not hashed by EVM");
  EXPECT_TRUE(Run(e).empty());
}

TEST_F(ImaCheckTest, RejectsHmacEvm) {
  Entry e = SignedFile(rsa_);
  SetXattr(&e, kEvmXattr, "\x02" + std::string(20, '\x11'));
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr, "type 0x02 (HMAC) is not portable"));
}

TEST_F(ImaCheckTest, RejectsNonPortableEvmSignature) {
  Entry e = SignedFile(rsa_);
  std::string value = FindXattr(e, kEvmXattr)->value;
  value[0] = 0x03;
  SetXattr(&e, kEvmXattr, value);
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr, "type 0x03"));
}

TEST_F(ImaCheckTest, RejectsMalformedEvm) {
  Entry e = SignedFile(rsa_);
  std::string value = FindXattr(e, kEvmXattr)->value;
  SetXattr(&e, kEvmXattr, value.substr(0, value.size() - 1));
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr, "malformed: "));
  SetXattr(&e, kEvmXattr, "");
  EXPECT_TRUE(FailsWith(Run(e), kEvmXattr, "malformed: "));
}

TEST_F(ImaCheckTest, RejectsEvmWithoutIma) {
  Entry e = SignedFile(rsa_);
  std::erase_if(e.xattrs, [](const Xattr& x) { return x.name == kImaXattr; });
  EXPECT_TRUE(
      FailsWith(Run(e), kEvmXattr, "security.evm without security.ima"));
}

// --- Entry types
// --------------------------------------------------------------

TEST_F(ImaCheckTest, RejectsImaOnDirectoryOrSymlink) {
  Entry signed_file = SignedFile(rsa_);
  Entry dir = BaseFile();
  dir.type = EntryType::kDir;
  dir.xattrs = {*FindXattr(signed_file, kImaXattr)};
  dir.path = "usr/bin/hello";
  EXPECT_TRUE(FailsWith(Run(dir), kImaXattr, "not allowed on a dir"));

  Entry link = BaseFile();
  link.type = EntryType::kSymlink;
  link.mode = 0777;
  link.link_target = "busybox";
  link.xattrs = signed_file.xattrs;
  std::vector<IntegrityFailure> f = Run(link);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].xattr, kImaXattr);
  EXPECT_EQ(f[1].xattr, kEvmXattr);
  EXPECT_THAT(f[1].reason, HasSubstr("not allowed on a symlink"));
}

// --- Create
// -------------------------------------------------------------------

TEST_F(ImaCheckTest, CreateRejectsDuplicateKeyIds) {
  ImaSection section = section_;
  section.certificates.push_back(section.certificates[0]);
  Result<ImaChecker> checker = ImaChecker::Create(section);
  ASSERT_THAT(checker, StatusIs(ErrorCode::kMalformed,
                                HasSubstr("keyid declared twice")));
}

TEST_F(ImaCheckTest, CreateRejectsKeyIdDisagreeingWithSkid) {
  ImaSection section;
  section.certificates = {{KeyIdOf(rsa_) ^ 1u, Der(rsa_.cert.get())}};
  Result<ImaChecker> checker = ImaChecker::Create(section);
  ASSERT_FALSE(checker.has_value());
  EXPECT_EQ(checker.error().code, ErrorCode::kMalformed);
  EXPECT_THAT(
      checker.error().message,
      HasSubstr("subjectKeyIdentifier gives keyid " + KeyIdHex(KeyIdOf(rsa_))));
}

TEST_F(ImaCheckTest, CreateRejectsUnparsableCertificate) {
  std::string der = Der(ec_.cert.get());
  for (std::string bad :
       {der.substr(0, der.size() - 1), der + std::string(1, '\0'),
        std::string("\x30\x00", 2)}) {
    ImaSection section;
    section.certificates = {{KeyIdOf(ec_), bad}};
    Result<ImaChecker> checker = ImaChecker::Create(section);
    ASSERT_FALSE(checker.has_value()) << bad.size();
    EXPECT_EQ(checker.error().code, ErrorCode::kMalformed);
  }
}

}  // namespace
}  // namespace imab
