#include "common/read/x509_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/pem.h>

#include <string>
#include <vector>

#include "common/write/asn1_time.h"
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

// The one trailing-bytes rule, with the source in the message.
TEST(X509UtilTest, ParseCertificateDerNamesTheSourceOfRefusedBytes) {
  TempDir dir;
  TestIdentity ca = MakeRootCa(dir.path().string(), "ca");
  const std::string der = CertificateDer(ca.cert.get()).value();
  Result<Ptr<X509>> trailing = ParseCertificateDer(der + "x", "release-ca 2");
  ASSERT_FALSE(trailing.has_value());
  EXPECT_EQ(trailing.error().message,
            "release-ca 2: 1 trailing byte after the certificate");
  Result<Ptr<X509>> cut =
      ParseCertificateDer(der.substr(0, der.size() - 1), "release-ca 2");
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().message.rfind(
                "release-ca 2: does not parse as a DER certificate", 0),
            0u)
      << cut.error().message;
}

TEST(X509UtilTest, ParseCertificateDerRefusesANonDerLength) {
  TempDir dir;
  TestIdentity ca = MakeRootCa(dir.path().string(), "ca");
  const std::string der = CertificateDer(ca.cert.get()).value();
  // 30 82 HH LL -> 30 83 00 HH LL: the same length with a leading zero,
  // which BER allows and OpenSSL reads, but DER forbids.
  ASSERT_EQ(static_cast<uint8_t>(der[1]), 0x82);
  const std::string ber = std::string("\x30\x83\x00", 3) + der.substr(2);
  Result<Ptr<X509>> parsed = ParseCertificateDer(ber, "kernel CA");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, ErrorCode::kMalformed);
  EXPECT_EQ(parsed.error().message, "kernel CA: not DER-encoded as written");
}

// PEM text of one block `name` holding `der`.
std::string PemBlock(const std::string& name, const std::string& der) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio(bio.get(), name.c_str(), "",
                reinterpret_cast<const unsigned char*>(der.data()),
                static_cast<long>(der.size()));
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

TEST(X509UtilTest, PemCertificatesFollowTheSameDerRule) {
  TempDir dir;
  TestIdentity a = MakeRootCa(dir.path().string(), "a");
  TestIdentity b = MakeRootCa(dir.path().string(), "b");
  const std::string der_a = CertificateDer(a.cert.get()).value();
  const std::string der_b = CertificateDer(b.cert.get()).value();
  // Blocks of other types are skipped; certificates come in order.
  Result<std::vector<Ptr<X509>>> two = ParsePemCertificates(
      PemBlock("CERTIFICATE", der_a) + PemBlock("X509 CRL", "x") +
          PemBlock("CERTIFICATE", der_b),
      "ca.pem");
  ASSERT_TRUE(two.has_value()) << two.error().message;
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ(X509_cmp((*two)[1].get(), b.cert.get()), 0);
  Result<std::vector<Ptr<X509>>> trailing = ParsePemCertificates(
      PemBlock("CERTIFICATE", der_a) + PemBlock("CERTIFICATE", der_b + "xy"),
      "ca.pem");
  ASSERT_FALSE(trailing.has_value());
  EXPECT_EQ(trailing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(trailing.error().message,
            "ca.pem: bad certificate 2: 2 trailing bytes after the "
            "certificate");
  Result<std::vector<Ptr<X509>>> none =
      ParsePemCertificates(PemBlock("X509 CRL", "x"), "ca.pem");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().message, "ca.pem: no PEM certificate found");
}

TEST(X509UtilTest, LoadCertificateReadsPemOrDerUnderTheSameRule) {
  TempDir dir;
  TestIdentity ca = MakeRootCa(dir.path().string(), "ca");
  const std::string der = CertificateDer(ca.cert.get()).value();
  testing::WriteFile(dir.Sub("ca.der"), der);
  testing::WriteFile(dir.Sub("ca.pem"), PemBlock("CERTIFICATE", der));
  testing::WriteFile(dir.Sub("junk.der"), der + "x");
  for (const char* name : {"ca.der", "ca.pem"}) {
    Result<Ptr<X509>> cert = LoadCertificate(dir.Sub(name));
    ASSERT_TRUE(cert.has_value()) << cert.error().message;
    EXPECT_EQ(X509_cmp(cert->get(), ca.cert.get()), 0);
  }
  Result<Ptr<X509>> junk = LoadCertificate(dir.Sub("junk.der"));
  ASSERT_FALSE(junk.has_value());
  EXPECT_EQ(junk.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(junk.error().message,
            dir.Sub("junk.der") +
                ": neither a PEM nor a DER certificate: 1 trailing byte "
                "after the certificate");
}

TEST(X509UtilTest, IsoTimeIsUtcIso8601) {
  Ptr<ASN1_TIME> time(ASN1_TIME_set(nullptr, 1700000000));
  ASSERT_NE(time, nullptr);
  EXPECT_EQ(IsoTime(time.get()), "2023-11-14T22:13:20Z");
  EXPECT_EQ(IsoTime(nullptr), "(invalid time)");
}

}  // namespace
}  // namespace imab
