#include "common/read/x509_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/asn1.h>

#include "tests/testutil/pki.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using imab::testing::CertOptions;
using imab::testing::MakeIssued;
using imab::testing::MakeRootCa;
using imab::testing::TempDir;
using imab::testing::TestIdentity;
using ::testing::HasSubstr;

TEST(X509UtilTest, IssuerLineNamesTheIssuer) {
  TempDir dir;
  CertOptions ca_options;
  ca_options.common_name = "Kernel CA, test";
  TestIdentity ca = MakeRootCa(dir.path().string(), "ca", ca_options);
  CertOptions leaf_options;
  leaf_options.common_name = "IMA signing";
  TestIdentity leaf = MakeIssued(dir.path().string(), "leaf", ca, leaf_options);
  EXPECT_EQ(IssuerLine(leaf.cert.get()), SubjectLine(ca.cert.get()));
  EXPECT_THAT(IssuerLine(leaf.cert.get()), HasSubstr("CN=\"Kernel CA, test\""));
  EXPECT_THAT(SubjectLine(leaf.cert.get()), HasSubstr("CN=IMA signing"));
  EXPECT_EQ(IssuerLine(nullptr), "(no certificate)");
}

TEST(X509UtilTest, CertificateDerRoundTrips) {
  TempDir dir;
  TestIdentity ca = MakeRootCa(dir.path().string(), "ca");
  Result<std::string> der = CertificateDer(ca.cert.get());
  ASSERT_TRUE(der.has_value()) << der.error().message;
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  Ptr<X509> back(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(X509_cmp(back.get(), ca.cert.get()), 0);
  EXPECT_EQ(CertificateDer(nullptr).error().code, ErrorCode::kInternal);
}

TEST(X509UtilTest, ParseCertificateDerTakesExactlyOneCertificate) {
  TempDir dir;
  TestIdentity ca = MakeRootCa(dir.path().string(), "ca");
  const std::string der = CertificateDer(ca.cert.get()).value();
  Result<Ptr<X509>> parsed = ParseCertificateDer(der);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(X509_cmp(parsed->get(), ca.cert.get()), 0);
  EXPECT_EQ(ParseCertificateDer(der + "x").error().code, ErrorCode::kMalformed);
  EXPECT_EQ(ParseCertificateDer(der.substr(0, der.size() - 1)).error().code,
            ErrorCode::kMalformed);
  EXPECT_EQ(ParseCertificateDer("").error().code, ErrorCode::kMalformed);
}

TEST(X509UtilTest, IsoTimeIsUtcIso8601) {
  Ptr<ASN1_TIME> time(ASN1_TIME_set(nullptr, 1700000000));
  ASSERT_NE(time, nullptr);
  EXPECT_EQ(IsoTime(time.get()), "2023-11-14T22:13:20Z");
  EXPECT_EQ(IsoTime(nullptr), "(invalid time)");
}

}  // namespace
}  // namespace imab
