// Tests for `imab-build trust-root create|sign|show` through the library
// entry points, with key and certificate files on disk.
#include "builder/trust_root_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <filesystem>
#include <string>
#include <tuple>
#include <utility>

#include "common/read/handles.h"
#include "common/read/trust_root.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace imab::builder {
namespace {

using imab::testing::CertOptions;
using imab::testing::KeyType;
using imab::testing::ReadFile;
using imab::testing::StatusIs;
using imab::testing::TempDir;
using imab::testing::TestIdentity;
using ::testing::HasSubstr;

// Writes the public half of `key` as a PEM PUBLIC KEY file.
std::string WritePublicPem(const std::string& path, EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new_file(path.c_str(), "wb"));
  EXPECT_NE(bio, nullptr);
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
  return path;
}

class TrustRootCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.path().string();
    ca_ = imab::testing::MakeRootCa(d, "release-ca");
    CertOptions rsa;
    rsa.key_type = KeyType::kRsa2048;
    k1_ = imab::testing::MakeRootCa(d, "k1", rsa);  // RSA
    k2_ = imab::testing::MakeRootCa(d, "k2");       // EC
    k3_ = imab::testing::MakeRootCa(d, "k3");       // EC
  }

  // v1: 2-of-3 over k1 (private key file), k2 (certificate), k3 (public key).
  TrustRootCreateOptions V1() {
    TrustRootCreateOptions o;
    o.version = 1;
    o.threshold = 2;
    o.release_cas = {ca_.cert_path};
    o.keys = {k1_.key_path, k2_.cert_path,
              WritePublicPem(dir_.Sub("k3.pub"), k3_.key.get())};
    o.out = dir_.Sub("v1.trust");
    return o;
  }

  Status Sign(const std::string& root, const std::string& key) {
    TrustRootSignOptions o;
    o.root = root;
    o.key = key;
    o.out = root;  // in place, replaced atomically
    Result<std::string> r = SignTrustRoot(o);
    if (!r.has_value()) {
      return std::move(r).error();
    }
    return OkStatus();
  }

  std::pair<std::string, bool> Show(const std::string& root,
                                    const std::string& previous = {},
                                    bool json = false) {
    Result<std::pair<std::string, bool>> r =
        ShowTrustRoot({root, previous, json});
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r.has_value() ? *r : std::make_pair(std::string(), false);
  }

  TempDir dir_;
  TestIdentity ca_, k1_, k2_, k3_;
};

TEST_F(TrustRootCommandsTest, CreateSignShowEndToEnd) {
  TrustRootCreateOptions o = V1();
  Result<std::string> created = CreateTrustRoot(o);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  Result<SignedTrustRoot> root = ParseSignedTrustRoot(ReadFile(o.out));
  ASSERT_TRUE(root.has_value()) << root.error().message;
  EXPECT_EQ(root->body.keys.size(), 3u);
  EXPECT_EQ(root->body.release_cas.size(), 1u);
  EXPECT_TRUE(root->signatures.empty());

  auto [text, ok] = Show(o.out);
  EXPECT_FALSE(ok);
  EXPECT_THAT(text, HasSubstr("self-threshold: FAIL"));

  ASSERT_TRUE(Sign(o.out, k1_.key_path).ok());
  EXPECT_FALSE(Show(o.out).second);
  // Signing again with the same key replaces its line: still one.
  ASSERT_TRUE(Sign(o.out, k1_.key_path).ok());
  EXPECT_EQ(ParseSignedTrustRoot(ReadFile(o.out))->signatures.size(), 1u);
  EXPECT_FALSE(Show(o.out).second);

  ASSERT_TRUE(Sign(o.out, k3_.key_path).ok());
  std::tie(text, ok) = Show(o.out);
  EXPECT_TRUE(ok) << text;
  EXPECT_THAT(text, HasSubstr("self-threshold: ok"));
  EXPECT_THAT(text, HasSubstr("(signed)"));
  EXPECT_THAT(text, HasSubstr("(not signed)"));
  EXPECT_THAT(text, HasSubstr("CN=imabundle test"));

  auto json = Show(o.out, {}, true);
  EXPECT_TRUE(json.second);
  EXPECT_EQ(json.first.rfind("{\"version\": 1, \"threshold\": 2", 0), 0u)
      << json.first;
  EXPECT_THAT(json.first, HasSubstr("\"self_threshold\": \"ok\""));
  EXPECT_THAT(json.first, HasSubstr("\"not_after\": "));
}

TEST_F(TrustRootCommandsTest, RotationShowsSuccessorVerdict) {
  TrustRootCreateOptions o = V1();
  ASSERT_TRUE(CreateTrustRoot(o).has_value());
  ASSERT_TRUE(Sign(o.out, k1_.key_path).ok());
  ASSERT_TRUE(Sign(o.out, k2_.key_path).ok());

  TestIdentity next = imab::testing::MakeRootCa(dir_.path().string(), "k4");
  TrustRootCreateOptions o2;
  o2.version = 2;
  o2.threshold = 1;
  o2.release_cas = {ca_.cert_path};
  o2.keys = {next.key_path};
  o2.out = dir_.Sub("v2.trust");
  ASSERT_TRUE(CreateTrustRoot(o2).has_value());
  ASSERT_TRUE(Sign(o2.out, k1_.key_path).ok());  // old key, not in v2
  ASSERT_TRUE(Sign(o2.out, next.key_path).ok());
  auto [text, ok] = Show(o2.out, o.out);
  EXPECT_FALSE(ok);
  EXPECT_THAT(text, HasSubstr("successor: FAIL"));
  EXPECT_THAT(text, HasSubstr("keys of version 1"));

  ASSERT_TRUE(Sign(o2.out, k3_.key_path).ok());
  std::tie(text, ok) = Show(o2.out, o.out);
  EXPECT_TRUE(ok) << text;
  EXPECT_THAT(text, HasSubstr("successor: ok"));

  // Reversed: v1 is no successor of v2.
  std::tie(text, ok) = Show(o.out, o2.out, true);
  EXPECT_FALSE(ok);
  EXPECT_THAT(text, HasSubstr("\"successor\": \"FAIL\""));
  EXPECT_THAT(text, HasSubstr("not newer"));
}

TEST_F(TrustRootCommandsTest, CreateRefusesBadInput) {
  TrustRootCreateOptions o = V1();
  o.threshold = 0;
  EXPECT_FALSE(CreateTrustRoot(o).has_value());
  o.threshold = 4;
  EXPECT_FALSE(CreateTrustRoot(o).has_value());
  o = V1();
  o.keys.push_back(k1_.cert_path);  // same key as k1.key
  o.threshold = 1;
  Result<std::string> r = CreateTrustRoot(o);
  ASSERT_THAT(
      r, StatusIs(ErrorCode::kInvalidArgument, HasSubstr("duplicate key")));
  o = V1();
  o.release_cas.push_back(ca_.cert_path);
  r = CreateTrustRoot(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("duplicate release CA"));
  o = V1();
  o.release_cas.clear();
  EXPECT_FALSE(CreateTrustRoot(o).has_value());
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

TEST_F(TrustRootCommandsTest, SignRefusesMissingOrCorruptInput) {
  TrustRootCreateOptions o = V1();
  ASSERT_TRUE(CreateTrustRoot(o).has_value());
  EXPECT_FALSE(Sign(o.out, dir_.Sub("missing.key")).ok());
  EXPECT_FALSE(Sign(o.out, k1_.cert_path).ok());  // not a private key
  imab::testing::WriteFile(dir_.Sub("bad.trust"), ReadFile(o.out) + "x");
  Status s = Sign(dir_.Sub("bad.trust"), k1_.key_path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kMalformed);
}

}  // namespace
}  // namespace imab::builder
