// Required anchors and the expiry horizon over a CA store section.
#include "common/read/ca_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/pki.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1700000000;
constexpr int64_t kDay = 86400;

CaStoreSection Section() {
  CaStoreSection s;
  s.anchors.push_back({"A.pem", {}, kNow + 400 * kDay, "CN=A"});
  s.anchors.push_back({"B.pem", {}, kNow + 10 * kDay, "CN=B"});
  s.anchors.push_back({"Old.pem", {}, kNow - kDay, "CN=Old"});
  s.anchors[0].sha256[0] = 1;
  s.anchors[1].sha256[0] = 2;
  return s;
}

Status Check(const std::vector<std::string>& names,
             std::optional<int64_t> now = kNow, uint32_t horizon = 365) {
  std::vector<RequiredAnchor> required;
  for (const std::string& n : names) {
    required.push_back({n, std::nullopt});
  }
  return CheckRequiredAnchors(Section(), required, horizon, now,
                              ErrorCode::kKeyRevoked);
}

TEST(CaPolicyTest, FindsAnchorsByLinkNameWithOrWithoutPem) {
  EXPECT_TRUE(Check({"A", "A.pem"}).ok());
}

TEST(CaPolicyTest, RejectsAMissingAnchor) {
  Status s = Check({"A", "Nope"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kKeyRevoked);
  EXPECT_EQ(s.error().message, "required CA Nope is not in the CA store");
  Status none = CheckRequiredAnchors(std::nullopt, {{"A", std::nullopt}}, 365,
                                     kNow, ErrorCode::kKeyRevoked);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message, HasSubstr("declares no CA store"));
}

TEST(CaPolicyTest, RejectsAnAnchorExpiringWithinTheHorizon) {
  Status s = Check({"B"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "required CA B (B.pem, CN=B) expires on 2023-11-24, within the "
            "365-day horizon");
  EXPECT_TRUE(Check({"B"}, kNow, 9).ok());
  EXPECT_FALSE(Check({"B"}, kNow, 10).ok());  // the boundary counts
}

TEST(CaPolicyTest, RejectsAnExpiredAnchorEvenWithoutAHorizon) {
  Status s = Check({"Old"}, kNow, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr("expired on 2023-11-13"));
  EXPECT_TRUE(Check({"Old"}, std::nullopt).ok());  // no clock: presence only
}

TEST(CaPolicyTest, MatchesACertificateFileByFingerprint) {
  testing::TempDir dir;
  testing::TestIdentity ca = testing::MakeRootCa(dir.Sub(""), "x");
  auto required = ResolveRequiredAnchors({ca.cert_path, "A"});
  ASSERT_TRUE(required.has_value()) << required.error().message;
  ASSERT_TRUE((*required)[0].fingerprint.has_value());
  EXPECT_FALSE((*required)[1].fingerprint.has_value());
  CaStoreSection section = Section();
  EXPECT_EQ(FindAnchor(section, (*required)[0]), nullptr);
  section.anchors[1].sha256 = *(*required)[0].fingerprint;
  EXPECT_EQ(FindAnchor(section, (*required)[0]), &section.anchors[1]);
  testing::WriteFile(dir.Sub("junk"), "junk");
  EXPECT_FALSE(ResolveRequiredAnchors({dir.Sub("junk")}).has_value());
}

TEST(CaPolicyTest, ListsExpiringAnchors) {
  CaStoreSection section = Section();
  auto expiring = ExpiringAnchors(section, kNow, 30);
  ASSERT_EQ(expiring.size(), 2u);
  EXPECT_EQ(expiring[0]->link, "B.pem");
  EXPECT_EQ(expiring[1]->link, "Old.pem");
  EXPECT_EQ(ExpiringAnchors(section, kNow, 500).size(), 3u);
  EXPECT_EQ(FormatUtcDate(0), "1970-01-01");
}

}  // namespace
}  // namespace imab
