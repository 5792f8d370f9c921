// Tests for the trust root codec and its threshold and successor checks
// (FORMAT.md §8).
#include "common/read/trust_root.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/hex.h"
#include "common/read/limits.h"
#include "common/read/x509_util.h"
#include "common/write/trust_root_writer.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using imab::testing::StatusIs;
using ::testing::HasSubstr;
using testing::KeyType;

Ptr<EVP_PKEY> NewKey(bool rsa) {
  return Ptr<EVP_PKEY>(
      rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                              static_cast<size_t>(2048))
          : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

std::string Spki(const EVP_PKEY* key) {
  int len = i2d_PUBKEY(key, nullptr);
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key, &p);
  return der;
}

std::string CertDer(const X509* cert) { return CertificateDer(cert).value(); }

std::string KeyId(const std::string& spki) {
  auto d = Sha256Of(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(spki.data()), spki.size()));
  return HexEncode(*d);
}

std::string SignBytes(EVP_PKEY* key, const std::string& data) {
  Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key),
            1);
  size_t len = 0;
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, d, data.size()), 1);
  std::string sig(len, '\0');
  EXPECT_EQ(
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()),
                     &len, d, data.size()),
      1);
  sig.resize(len);
  return sig;
}

// Adds `key`'s signature, keeping the list sorted.
void AddSignature(SignedTrustRoot& root, EVP_PKEY* key) {
  std::string id = KeyId(Spki(key));
  root.signatures.push_back({id, SignBytes(key, root.body_bytes)});
  std::sort(root.signatures.begin(), root.signatures.end(),
            [](const auto& a, const auto& b) { return a.key_id < b.key_id; });
}

class TrustRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca1_ = CertDer(testing::MakeRootCa(dir_.path().string(), "ca1").cert.get());
    testing::CertOptions rsa;
    rsa.key_type = KeyType::kRsa2048;
    ca2_ = CertDer(
        testing::MakeRootCa(dir_.path().string(), "ca2", rsa).cert.get());
    for (int i = 0; i < 3; ++i) {
      keys_.push_back(NewKey(/*rsa=*/i == 1));
    }
  }

  // A root over `keys` (sorted), with body_bytes set and no signatures.
  SignedTrustRoot Make(uint64_t version, uint32_t threshold,
                       const std::vector<EVP_PKEY*>& keys) {
    SignedTrustRoot root;
    root.body.version = version;
    root.body.threshold = threshold;
    root.body.release_cas = {ca1_, ca2_};
    std::sort(root.body.release_cas.begin(), root.body.release_cas.end());
    for (EVP_PKEY* k : keys) {
      root.body.keys.push_back(Spki(k));
    }
    std::sort(root.body.keys.begin(), root.body.keys.end());
    root.body_bytes = EncodeTrustRootBody(root.body);
    return root;
  }

  std::vector<EVP_PKEY*> Three() {
    return {keys_[0].get(), keys_[1].get(), keys_[2].get()};
  }

  testing::TempDir dir_;
  std::string ca1_, ca2_;
  std::vector<Ptr<EVP_PKEY>> keys_;
};

Status Parse(const std::string& bytes) {
  Result<SignedTrustRoot> r = ParseSignedTrustRoot(bytes);
  if (!r.has_value()) {
    return std::move(r).error();
  }
  return OkStatus();
}

void ExpectRejected(const std::string& bytes, ErrorCode code,
                    const std::string& what) {
  Status s = Parse(bytes);
  ASSERT_FALSE(s.ok()) << what;
  EXPECT_EQ(s.error().code, code) << what << ": " << s.error().message;
  EXPECT_THAT(s.error().message, HasSubstr("trust root"));
}

std::string Replace(std::string s, const std::string& from,
                    const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST_F(TrustRootTest, CanonicalRoundTrip) {
  SignedTrustRoot root = Make(7, 2, Three());
  AddSignature(root, keys_[0].get());
  AddSignature(root, keys_[2].get());
  std::string bytes = EncodeSignedTrustRoot(root);
  EXPECT_EQ(bytes.rfind("imabundle-trust-root 1\nversion 7\nthreshold 2\n", 0),
            0u);
  Result<SignedTrustRoot> parsed = ParseSignedTrustRoot(bytes);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->body, root.body);
  EXPECT_EQ(parsed->body_bytes, root.body_bytes);
  EXPECT_EQ(parsed->signatures, root.signatures);
  EXPECT_EQ(EncodeSignedTrustRoot(*parsed), bytes);
  EXPECT_TRUE(CheckTrustRootSelfSigned(*parsed).ok());
}

TEST_F(TrustRootTest, RejectsEachMalformedField) {
  SignedTrustRoot root = Make(3, 2, Three());
  AddSignature(root, keys_[0].get());
  AddSignature(root, keys_[1].get());
  const std::string good = EncodeSignedTrustRoot(root);
  ASSERT_TRUE(Parse(good).ok());
  const auto M = ErrorCode::kMalformed;

  ExpectRejected(
      Replace(good, "imabundle-trust-root 1", "imabundle-trust-rot 1"), M,
      "bad magic");
  ExpectRejected(
      Replace(good, "imabundle-trust-root 1", "imabundle-trust-root 2"), M,
      "format version");
  ExpectRejected(Replace(good, "version 3\n", "version 0\n"), M, "version 0");
  ExpectRejected(Replace(good, "version 3\n", "version 03\n"), M,
                 "leading zero");
  ExpectRejected(Replace(good, "threshold 2\n", "threshold 0\n"), M,
                 "threshold 0");
  ExpectRejected(Replace(good, "threshold 2\n", "threshold 4\n"), M,
                 "threshold > keys");
  ExpectRejected(Replace(good, "version 3\n", "version  3\n"), M,
                 "double space");
  ExpectRejected(Replace(good, "end-body\n", ""), M, "missing end-body");
  ExpectRejected(Replace(good, "end-body\n", "end-body \n"), M,
                 "trailing space");
  ExpectRejected(good + "x", M, "trailing bytes");
  ExpectRejected(good + "end\n", M, "second end");
  ExpectRejected(good.substr(0, good.size() - 1), M, "no final newline");
  ExpectRejected(Replace(good, "end\n", ""), M, "missing end");
  ExpectRejected(std::string(kMaxTrustRootBytes + 1, 'a'),
                 ErrorCode::kLimitExceeded, "oversize");

  // Unsorted and duplicate CAs and keys.
  std::string ca_a = "release-ca " + HexEncode(root.body.release_cas[0]) + "\n";
  std::string ca_b = "release-ca " + HexEncode(root.body.release_cas[1]) + "\n";
  ExpectRejected(Replace(good, ca_a + ca_b, ca_b + ca_a), M, "unsorted CAs");
  ExpectRejected(Replace(good, ca_a + ca_b, ca_a + ca_a), M, "duplicate CA");
  ExpectRejected(Replace(good, ca_a + ca_b, ""), M, "no CA");
  std::string k0 = "key " + HexEncode(root.body.keys[0]) + "\n";
  std::string k1 = "key " + HexEncode(root.body.keys[1]) + "\n";
  ExpectRejected(Replace(good, k0 + k1, k1 + k0), M, "unsorted keys");
  ExpectRejected(Replace(good, k0 + k1, k0 + k0), M, "duplicate key");

  // Bad hex: upper case, odd length, empty spelling, not DER.
  std::string upper = HexEncode(root.body.keys[0]);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](char c) { return static_cast<char>(std::toupper(c)); });
  ExpectRejected(Replace(good, k0, "key " + upper + "\n"), M, "upper-case hex");
  ExpectRejected(
      Replace(good, k0, "key " + HexEncode(root.body.keys[0]) + "0\n"), M,
      "odd hex");
  ExpectRejected(Replace(good, k0, "key -\n"), M, "empty key");
  ExpectRejected(
      Replace(good, k0, "key " + HexEncode(root.body.keys[0]) + "00\n"), M,
      "trailing byte in SPKI");
  ExpectRejected(Replace(good, ca_a, "release-ca 3000\n"), M, "not a cert");

  // Signature lines: unsorted, duplicate, bad KEYID, bad hex.
  std::string s0 = "signature " + root.signatures[0].key_id + " " +
                   HexEncode(root.signatures[0].signature) + "\n";
  std::string s1 = "signature " + root.signatures[1].key_id + " " +
                   HexEncode(root.signatures[1].signature) + "\n";
  ExpectRejected(Replace(good, s0 + s1, s1 + s0), M, "unsorted signatures");
  ExpectRejected(Replace(good, s0 + s1, s0 + s0), M, "duplicate signature");
  std::string short_id = "signature " + root.signatures[0].key_id.substr(2);
  ExpectRejected(
      Replace(good, "signature " + root.signatures[0].key_id, short_id), M,
      "short KEYID");
  ExpectRejected(
      Replace(good, s0, "signature " + root.signatures[0].key_id + " zz\n"), M,
      "bad signature hex");
}

TEST_F(TrustRootTest, RejectsTooManyEntries) {
  SignedTrustRoot root = Make(1, 1, {keys_[0].get()});
  std::string good = EncodeSignedTrustRoot(root);
  std::string sig_lines;
  for (int i = 0; i < 17; ++i) {
    char id[65];
    std::snprintf(id, sizeof(id), "%064x", i);
    sig_lines += std::string("signature ") + id + " 00\n";
  }
  ExpectRejected(Replace(good, "end-body\n", "end-body\n" + sig_lines),
                 ErrorCode::kLimitExceeded, "17 signatures");
}

TEST_F(TrustRootTest, CountsDistinctValidSignersOnly) {
  SignedTrustRoot root = Make(1, 2, Three());
  // One valid signature, one forged (right key id, wrong bytes), one by a
  // key that is not in the root.
  AddSignature(root, keys_[0].get());
  Ptr<EVP_PKEY> stranger = NewKey(false);
  AddSignature(root, stranger.get());
  std::string forged = SignBytes(keys_[1].get(), root.body_bytes + "x");
  root.signatures.push_back({KeyId(Spki(keys_[1].get())), forged});
  std::sort(root.signatures.begin(), root.signatures.end(),
            [](const auto& a, const auto& b) { return a.key_id < b.key_id; });
  Status s = CheckTrustRootSelfSigned(root);
  ASSERT_THAT(s, StatusIs(ErrorCode::kBadSignature, HasSubstr("1 of 2")));

  // The encoded form parses and still fails the same way.
  Result<SignedTrustRoot> parsed =
      ParseSignedTrustRoot(EncodeSignedTrustRoot(root));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_FALSE(CheckTrustRootSelfSigned(*parsed).ok());

  // Replacing the forgery with a valid signature meets the threshold.
  for (auto& sig : root.signatures) {
    if (sig.key_id == KeyId(Spki(keys_[1].get()))) {
      sig.signature = SignBytes(keys_[1].get(), root.body_bytes);
    }
  }
  EXPECT_TRUE(CheckTrustRootSelfSigned(root).ok());
}

TEST_F(TrustRootTest, SameKeySigningTwiceCountsOnce) {
  SignedTrustRoot root = Make(1, 2, Three());
  AddSignature(root, keys_[0].get());
  AddSignature(root, keys_[0].get());
  EXPECT_FALSE(CheckTrustRootSelfSigned(root).ok());
  // Listing the signer twice does not help either.
  std::vector<std::string> signers = {Spki(keys_[0].get()),
                                      Spki(keys_[0].get())};
  EXPECT_FALSE(CheckTrustRootSignatures(root, signers, 2, "twice").ok());
  EXPECT_TRUE(CheckTrustRootSignatures(root, signers, 1, "once").ok());
}

TEST_F(TrustRootTest, SignatureOverOtherBytesFails) {
  SignedTrustRoot root = Make(1, 1, {keys_[1].get()});  // RSA
  AddSignature(root, keys_[1].get());
  EXPECT_TRUE(CheckTrustRootSelfSigned(root).ok());
  root.body_bytes.back() = 'X';
  EXPECT_FALSE(CheckTrustRootSelfSigned(root).ok());
}

TEST_F(TrustRootTest, SuccessorRules) {
  SignedTrustRoot v1 = Make(1, 2, Three());
  AddSignature(v1, keys_[0].get());
  AddSignature(v1, keys_[1].get());
  ASSERT_TRUE(CheckTrustRootSelfSigned(v1).ok());

  Ptr<EVP_PKEY> new_key = NewKey(true);
  SignedTrustRoot v2 = Make(2, 1, {new_key.get()});
  AddSignature(v2, keys_[0].get());  // EC, old
  AddSignature(v2, keys_[1].get());  // RSA, old
  // Missing the new key's own signature.
  Status s = CheckTrustRootSuccessor(v1, v2);
  ASSERT_THAT(s, StatusIs(ErrorCode::kBadSignature, HasSubstr("its own keys")));

  AddSignature(v2, new_key.get());
  EXPECT_TRUE(CheckTrustRootSuccessor(v1, v2).ok())
      << CheckTrustRootSuccessor(v1, v2).error().message;
  EXPECT_TRUE(CheckTrustRootSelfSigned(v2).ok());
  // Round trip through the encoding keeps it valid.
  auto p1 = ParseSignedTrustRoot(EncodeSignedTrustRoot(v1));
  auto p2 = ParseSignedTrustRoot(EncodeSignedTrustRoot(v2));
  ASSERT_TRUE(p1.has_value() && p2.has_value());
  EXPECT_TRUE(CheckTrustRootSuccessor(*p1, *p2).ok());

  // Only one old signature: below the old threshold of 2.
  SignedTrustRoot weak = Make(2, 1, {new_key.get()});
  AddSignature(weak, keys_[2].get());
  AddSignature(weak, new_key.get());
  s = CheckTrustRootSuccessor(v1, weak);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr("keys of version 1"));

  // v3 directly after v1 skips a version.
  SignedTrustRoot v3 = Make(3, 1, {new_key.get()});
  AddSignature(v3, keys_[0].get());
  AddSignature(v3, keys_[1].get());
  AddSignature(v3, new_key.get());
  s = CheckTrustRootSuccessor(v1, v3);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kMalformed);

  // v1 after v2, and v2 after v2, are rollbacks.
  s = CheckTrustRootSuccessor(v2, v1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kRollback);
  s = CheckTrustRootSuccessor(v2, v2);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kRollback);
}

TEST_F(TrustRootTest, ZeroThresholdFailsClosed) {
  SignedTrustRoot root = Make(1, 1, {keys_[0].get()});
  std::vector<std::string> none;
  EXPECT_FALSE(CheckTrustRootSignatures(root, none, 0, "nobody").ok());
}

}  // namespace
}  // namespace imab
