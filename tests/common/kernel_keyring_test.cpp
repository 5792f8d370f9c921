// The keyring rules per studied kernel (common/read/kernel_keyring_rules.h) and
// the certificate checks built on them (common/read/kernel_keyring.h): each
// rule that differs between 6.1 and 6.12 on both sides, the choice of rule sets
// for a version, and the rules both kernels share.
#include "common/read/kernel_keyring.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "common/read/kernel_keyring_rules.h"
#include "common/read/kernel_version.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using testing::CertOptions;
using ::testing::HasSubstr;
using testing::KeyType;
using ::testing::Not;
using testing::TempDir;
using testing::TestIdentity;

constexpr KernelVersion k61{6, 1};
constexpr KernelVersion k66{6, 6};
constexpr KernelVersion k612{6, 12};

std::vector<std::string> RuleSetNames(const KernelTarget& target) {
  std::vector<std::string> names;
  for (const KernelKeyringRules* r : target.rule_sets()) {
    names.push_back(KernelVersionName(r->kernel));
  }
  return names;
}

const KernelKeyringRules& Studied(KernelVersion version) {
  for (const KernelKeyringRules& r : StudiedKernelKeyringRules()) {
    if (r.kernel == version) {
      return r;
    }
  }
  ADD_FAILURE() << "no studied kernel " << KernelVersionName(version);
  return StudiedKernelKeyringRules().front();
}

TEST(KernelVersionTest, ParsesMajorMinorAndUnameForms) {
  for (const auto& [text, major, minor] :
       {std::tuple{"6.1", 6u, 1u}, std::tuple{"6.12", 6u, 12u},
        std::tuple{"6.1.0-13-amd64", 6u, 1u},
        std::tuple{"6.12.8+deb13-amd64", 6u, 12u},
        std::tuple{"5.15-rc1", 5u, 15u}}) {
    Result<KernelVersion> v = ParseKernelVersion(text);
    ASSERT_TRUE(v.has_value()) << text;
    EXPECT_EQ(*v, (KernelVersion{major, minor})) << text;
  }
  for (const char* bad :
       {"6", "x.y", "", "6.", ".1", "6.1x", "6,1", "1.0", "6.1234", "6.1 "}) {
    Result<KernelVersion> v = ParseKernelVersion(bad);
    ASSERT_FALSE(v.has_value()) << bad;
    EXPECT_EQ(v.error().message, std::string("kernel version \"") + bad +
                                     "\": expected MAJOR.MINOR, e.g. 6.1");
  }
  EXPECT_THAT(ParseKernelVersion("6\n1").error().message, Not(HasSubstr("\n")));
}

// The table as read from the sources: every field that differs, both sides.
TEST(KernelKeyringRulesTest, TheStudiedKernelsDifferWhereTheSourcesDo) {
  ASSERT_EQ(StudiedKernelKeyringRules().size(), 2u);
  const KernelKeyringRules& old = Studied(k61);
  const KernelKeyringRules& now = Studied(k612);
  EXPECT_FALSE(old.signing_usage_only);
  EXPECT_TRUE(now.signing_usage_only);
  EXPECT_FALSE(old.parses_usage_extensions);
  EXPECT_TRUE(now.parses_usage_extensions);
  EXPECT_TRUE(old.akid_issuer_directory_names_only);
  EXPECT_FALSE(now.akid_issuer_directory_names_only);
  EXPECT_FALSE(old.checks_validity_dates);
  EXPECT_FALSE(now.checks_validity_dates);
}

TEST(KernelKeyringRulesTest, AVersionGetsItsOwnOrBothNeighbours) {
  using Names = std::vector<std::string>;
  EXPECT_EQ(RuleSetNames(KernelTarget::ForVersion({5, 10})), Names{"6.1"});
  EXPECT_EQ(RuleSetNames(KernelTarget::ForVersion(k61)), Names{"6.1"});
  EXPECT_EQ(RuleSetNames(KernelTarget::ForVersion({6, 2})),
            (Names{"6.1", "6.12"}));
  EXPECT_EQ(RuleSetNames(KernelTarget::ForVersion({6, 11})),
            (Names{"6.1", "6.12"}));
  EXPECT_EQ(RuleSetNames(KernelTarget::ForVersion(k612)), Names{"6.12"});
  EXPECT_EQ(RuleSetNames(KernelTarget::ForVersion({7, 0})), Names{"6.12"});
  EXPECT_EQ(RuleSetNames(KernelTarget::Unknown()), (Names{"6.1", "6.12"}));
  const KernelVersion both[] = {k612, k61, k612};
  KernelTarget two = KernelTarget::ForVersions(both);
  EXPECT_EQ(RuleSetNames(two), (Names{"6.1", "6.12"}));
  EXPECT_EQ(two.Describe(), "6.1, 6.12");
  EXPECT_FALSE(KernelTarget::Unknown().known());
  EXPECT_EQ(KernelTarget::ForVersion(k61).Describe(), "6.1");
  EXPECT_EQ(KernelTarget::ForVersion(k66).Describe(),
            "6.6 (rules of kernels 6.1 and 6.12: between the studied "
            "kernels)");
  EXPECT_EQ(KernelTarget::ForVersion({5, 15}).Describe(),
            "5.15 (rules of kernel 6.1)");
  EXPECT_EQ(KernelTarget::Unknown().Describe(),
            "unknown (rules of every studied kernel: 6.1 and 6.12)");
  EXPECT_EQ(RuleSetName(Studied(k61)), "kernel 6.1 and earlier");
  EXPECT_EQ(RuleSetName(Studied(k612)), "kernel 6.12 and later");
}

class KernelKeyringTest : public ::testing::Test {
 protected:
  // Named apart from the CA: a subject equal to its issuer is another rule.
  TestIdentity Issue(const std::string& name, CertOptions o = {}) {
    if (o.common_name == CertOptions{}.common_name) {
      o.common_name = "leaf " + name;
    }
    return testing::MakeIssued(dir_.path().string(), name, ca_, o);
  }

  // The refusal under `target`, with ca_ (and `more`) built in.
  std::optional<KeyringRefusal> Refusal(const TestIdentity& id,
                                        const KernelTarget& target,
                                        std::vector<X509*> more = {}) {
    std::vector<X509*> cas = {ca_.cert.get()};
    cas.insert(cas.end(), more.begin(), more.end());
    return FindKeyringRefusal(id.cert.get(), cas, target);
  }
  std::optional<KeyringRefusal> Under(const TestIdentity& id,
                                      KernelVersion version) {
    return Refusal(id, KernelTarget::ForVersion(version));
  }

  // Loaded by 6.1, refused by 6.12 (and so by 6.6 and by default), the
  // refusal naming `why`.
  void ExpectOnlySixTwelveRefuses(const TestIdentity& id,
                                  const std::string& why, int error) {
    EXPECT_FALSE(Under(id, k61).has_value()) << Under(id, k61)->message;
    for (const KernelTarget& t :
         {KernelTarget::ForVersion(k612), KernelTarget::ForVersion(k66),
          KernelTarget::Unknown()}) {
      std::optional<KeyringRefusal> r = Refusal(id, t);
      ASSERT_TRUE(r.has_value()) << t.Describe();
      EXPECT_THAT(r->message, HasSubstr(why));
      EXPECT_THAT(r->message, HasSubstr("(rules of kernel 6.12 and later"));
      EXPECT_EQ(r->kernel_error, error) << r->message;
    }
    EXPECT_THAT(Refusal(id, KernelTarget::Unknown())->message,
                HasSubstr("; --kernel-version 6.1 targets an older "
                          "kernel)"));
    EXPECT_THAT(
        Under(id, k66)->message,
        HasSubstr("applied to 6.6: the sources of 6.1 and 6.12 do not show"));
    EXPECT_THAT(Under(id, k612)->message, Not(HasSubstr("--kernel-version")));
  }

  // Refused under every studied kernel alike, without a kernel context.
  void ExpectEveryKernelRefuses(const TestIdentity& id, const std::string& why,
                                int error, std::vector<X509*> more = {}) {
    for (KernelVersion v : {k61, k612}) {
      std::optional<KeyringRefusal> r =
          Refusal(id, KernelTarget::ForVersion(v), more);
      ASSERT_TRUE(r.has_value()) << KernelVersionName(v);
      EXPECT_THAT(r->message, HasSubstr(why));
      EXPECT_THAT(r->message, Not(HasSubstr("rules of")));
      EXPECT_EQ(r->kernel_error, error) << r->message;
    }
  }

  void ExpectEveryKernelLoads(const TestIdentity& id,
                              std::vector<X509*> more = {}) {
    for (const KernelTarget& t :
         {KernelTarget::ForVersion(k61), KernelTarget::ForVersion(k612),
          KernelTarget::Unknown()}) {
      std::optional<KeyringRefusal> r = Refusal(id, t, more);
      EXPECT_FALSE(r.has_value()) << t.Describe() << ": " << r->message;
    }
  }

  TempDir dir_;
  TestIdentity ca_ = testing::MakeRootCa(dir_.path().string(), "ca");
};

TEST_F(KernelKeyringTest, AProperSigningCertificateLoadsEverywhere) {
  ExpectEveryKernelLoads(Issue("good"));
}

TEST_F(KernelKeyringTest, DigitalSignatureIsASixTwelveRule) {
  CertOptions no_ku;
  no_ku.omit_key_usage = true;
  ExpectOnlySixTwelveRefuses(Issue("noku", no_ku), "no keyUsage extension",
                             kKernelNoKey);
  CertOptions other;
  other.key_usage = "critical,keyEncipherment";
  ExpectOnlySixTwelveRefuses(Issue("nods", other),
                             "keyUsage lacks digitalSignature", kKernelNoKey);
}

TEST_F(KernelKeyringTest, ACaIsRefusedOnlyBySixTwelve) {
  CertOptions ca;
  ca.is_ca = true;
  ca.key_usage = "critical,digitalSignature";
  ExpectOnlySixTwelveRefuses(Issue("ca-true", ca), "basicConstraints CA:TRUE",
                             kKernelNoKey);
  CertOptions sign;
  sign.key_usage = "critical,digitalSignature,keyCertSign";
  ExpectOnlySixTwelveRefuses(Issue("certsign", sign),
                             "keyUsage has keyCertSign", kKernelNoKey);
}

TEST_F(KernelKeyringTest, OnlySixTwelveParsesTheUsageExtensions) {
  // basicConstraints { pathLenConstraint 0 } without cA.
  CertOptions path_len;
  path_len.basic_constraints = "none";
  path_len.raw_extensions = {
      {NID_basic_constraints, std::string("\x30\x03\x02\x01\x00", 5)}};
  ExpectOnlySixTwelveRefuses(Issue("pathlen", path_len),
                             "basicConstraints is neither empty",
                             kKernelBadMessage);
  // An explicit cA FALSE, which DER omits.
  CertOptions explicit_false;
  explicit_false.basic_constraints = "none";
  explicit_false.raw_extensions = {
      {NID_basic_constraints, std::string("\x30\x03\x01\x01\x00", 5)}};
  ExpectOnlySixTwelveRefuses(Issue("false", explicit_false),
                             "basicConstraints is neither empty",
                             kKernelBadMessage);
  // A keyUsage BIT STRING without a byte.
  CertOptions empty_usage;
  empty_usage.omit_key_usage = true;
  empty_usage.raw_extensions = {
      {NID_key_usage, std::string("\x03\x01\x00", 3)}};
  ExpectOnlySixTwelveRefuses(Issue("empty-ku", empty_usage),
                             "keyUsage is not a BIT STRING", kKernelBadMessage);
}

TEST_F(KernelKeyringTest, TheCaIsFoundByEveryAkidFormAndWithoutOne) {
  for (const char* akid : {"keyid:always", "issuer:always",
                           "keyid:always,issuer:always", "none"}) {
    CertOptions o;
    o.authority_key_id = akid;
    ExpectEveryKernelLoads(Issue(std::string("akid-") + akid, o));
  }
}

TEST_F(KernelKeyringTest, AnAkidNamingAnotherKeyOrNoCaSubjectIsRefused) {
  TestIdentity other = testing::MakeRootCa(dir_.path().string(), "other-ca");
  TestIdentity stranger =
      testing::MakeIssued(dir_.path().string(), "stranger", other);
  ExpectEveryKernelRefuses(stranger,
                           "no kernel CA's subjectKeyIdentifier is its "
                           "authorityKeyIdentifier keyid",
                           kKernelNoKey);
  CertOptions o;
  o.authority_key_id = "none";
  o.issuer_common_name = "nobody";
  ExpectEveryKernelRefuses(Issue("no-akid", o),
                           "it has no authorityKeyIdentifier and no kernel "
                           "CA's subject is its issuer",
                           kKernelNoKey);
}

// Without an AKID the kernel finds the CA by its subject; one of two CAs
// sharing that subject that did not sign is as good as a bad signature.
TEST_F(KernelKeyringTest, EveryCaTheLookupFindsMustHaveSigned) {
  CertOptions twin_options;
  twin_options.common_name = "imabundle test";  // ca_'s subject
  TestIdentity twin =
      testing::MakeRootCa(dir_.path().string(), "twin", twin_options);
  CertOptions o;
  o.authority_key_id = "none";
  TestIdentity cert = Issue("by-ca", o);
  ExpectEveryKernelLoads(cert);
  ExpectEveryKernelRefuses(cert, "its signature does not verify",
                           kKernelRejected, {twin.cert.get()});
}

// authorityCertIssuer holding an rfc822Name: 6.1's grammar cannot read it.
TEST_F(KernelKeyringTest, SixOneReadsOnlyDirectoryNamesInTheAkid) {
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(ca_.cert.get());
  ASSERT_NE(skid, nullptr);
  ASSERT_EQ(ASN1_STRING_length(skid), 20);
  std::string akid = "\x30\x23\x80\x14";
  akid.append(reinterpret_cast<const char*>(ASN1_STRING_get0_data(skid)), 20);
  akid += std::string("\xa1\x07\x81\x05") + "a@b.c" + "\x82\x02\x01\x01";
  ASSERT_EQ(akid.size(), 0x25u);
  CertOptions o;
  o.authority_key_id = "none";
  o.raw_extensions = {{NID_authority_key_identifier, akid}};
  TestIdentity cert = Issue("rfc822", o);
  EXPECT_FALSE(Under(cert, k612).has_value()) << Under(cert, k612)->message;
  for (const KernelTarget& t :
       {KernelTarget::ForVersion(k61), KernelTarget::ForVersion(k66),
        KernelTarget::Unknown()}) {
    std::optional<KeyringRefusal> r = Refusal(cert, t);
    ASSERT_TRUE(r.has_value()) << t.Describe();
    EXPECT_THAT(r->message, HasSubstr("other than a directoryName"));
    EXPECT_THAT(r->message, HasSubstr("(rules of kernel 6.1 and earlier"));
    EXPECT_EQ(r->kernel_error, kKernelBadMessage);
  }
  EXPECT_THAT(Refusal(cert, KernelTarget::Unknown())->message,
              HasSubstr("--kernel-version 6.12 targets a newer kernel"));
}

TEST_F(KernelKeyringTest, ValidityDatesAreNotCheckedButTheirFormIs) {
  CertOptions expired;
  expired.not_before_offset = -7200;
  expired.not_after_offset = -3600;
  ExpectEveryKernelLoads(Issue("expired", expired));
  CertOptions future;
  future.not_before_offset = 3600;
  ExpectEveryKernelLoads(Issue("future", future));
  CertOptions before_1970;
  before_1970.not_before_text = "600101000000Z";
  ExpectEveryKernelRefuses(Issue("1960", before_1970),
                           "notBefore the kernel cannot read: a year before "
                           "1970",
                           kKernelBadMessage);
  CertOptions generalized;
  generalized.not_after_text = "20300101000000Z";
  ExpectEveryKernelRefuses(Issue("gentime", generalized),
                           "notAfter the kernel cannot read: GeneralizedTime",
                           kKernelBadMessage);
  CertOptions late;
  late.not_after_text = "20500101000000Z";
  ExpectEveryKernelLoads(Issue("2050", late));
}

TEST_F(KernelKeyringTest, KeysAndSignatureAlgorithmsTheKernelCannotUse) {
  CertOptions ed;
  ed.key_type = KeyType::kEd25519;
  ExpectEveryKernelRefuses(Issue("ed25519", ed), "ED25519", kKernelNoPackage);
  CertOptions rsa1024;
  rsa1024.key_type = KeyType::kRsa1024;
  // The kernel loads it; imabundle never signs with it.
  ExpectEveryKernelRefuses(Issue("rsa1024", rsa1024), "RSA-1024", 0);
  CertOptions ed_ca_options;
  ed_ca_options.key_type = KeyType::kEd25519;
  TestIdentity ed_ca =
      testing::MakeRootCa(dir_.path().string(), "ed-ca", ed_ca_options);
  TestIdentity by_ed =
      testing::MakeIssued(dir_.path().string(), "by-ed", ed_ca);
  std::vector<X509*> cas = {ed_ca.cert.get()};
  std::optional<KeyringRefusal> r =
      FindKeyringRefusal(by_ed.cert.get(), cas, KernelTarget::Unknown());
  ASSERT_TRUE(r.has_value());
  EXPECT_THAT(r->message, HasSubstr("signed with ED25519"));
  EXPECT_EQ(r->kernel_error, kKernelNoPackage);
  for (KeyType type : {KeyType::kRsa2048, KeyType::kRsa3072, KeyType::kRsa4096,
                       KeyType::kEcP256, KeyType::kEcP384}) {
    CertOptions o;
    o.key_type = type;
    ExpectEveryKernelLoads(Issue("type", o));
  }
}

// x509_check_for_self_signed: a subject equal to its issuer without an
// AKID naming another key makes the kernel check the certificate's own
// signature with its own key.
TEST_F(KernelKeyringTest, ASubjectEqualToItsIssuerMustBeSelfSigned) {
  CertOptions same_name;
  same_name.common_name = CertOptions{}.common_name;  // ca_'s subject
  same_name.authority_key_id = "none";
  TestIdentity cert =
      testing::MakeIssued(dir_.path().string(), "same", ca_, same_name);
  ExpectEveryKernelRefuses(cert, "takes it as self-signed", kKernelRejected);
  // An AKID keyid naming the CA's key keeps it from being self-signed.
  same_name.authority_key_id = "keyid:always";
  ExpectEveryKernelLoads(
      testing::MakeIssued(dir_.path().string(), "same-akid", ca_, same_name));
  // A real self-signed certificate passes this rule, not the chain.
  CertOptions leaf_like;
  leaf_like.basic_constraints = "critical,CA:FALSE";
  leaf_like.key_usage = "critical,digitalSignature";
  TestIdentity self =
      testing::MakeRootCa(dir_.path().string(), "self", leaf_like);
  ExpectEveryKernelRefuses(self, "no kernel CA's subjectKeyIdentifier",
                           kKernelNoKey);
}

TEST_F(KernelKeyringTest, WithoutASkidNoSignatureCanNameTheKey) {
  CertOptions o;
  o.subject_key_id = "none";
  ExpectEveryKernelRefuses(Issue("noskid", o), "no subjectKeyIdentifier", 0);
  CertOptions short_skid;
  short_skid.subject_key_id = "0102";
  ExpectEveryKernelRefuses(Issue("short", short_skid),
                           "shorter than the 4-byte keyid", 0);
}

TEST_F(KernelKeyringTest, EvaluationListsEveryRuleInKernelOrder) {
  CertOptions no_ku;
  no_ku.omit_key_usage = true;
  TestIdentity cert = Issue("order", no_ku);
  std::vector<X509*> cas = {ca_.cert.get()};
  std::vector<KeyringRuleOutcome> all =
      EvaluateKeyringRules(cert.cert.get(), std::span<X509* const>(cas));
  std::vector<std::string> names;
  for (const KeyringRuleOutcome& o : all) {
    names.push_back(o.name);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "validity_times", "usage_encoding", "akid_issuer_names",
                "signature_algorithm", "key_type", "self_signature",
                "digital_signature", "not_ca", "chains_to_ca", "has_skid"}));
  ASSERT_EQ(all[6].broken_under.size(), 1u);
  EXPECT_EQ(all[6].broken_under[0]->kernel, k612);
  std::vector<KeyringRuleOutcome> unchecked =
      EvaluateKeyringRules(cert.cert.get(), std::nullopt);
  EXPECT_FALSE(unchecked[8].checked);
  EXPECT_TRUE(unchecked[8].broken_under.empty());
}

}  // namespace
}  // namespace imab
