// The anchor difference `imab-verify inspect` reports.
#include "verifier/bundle/ca_inspect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;

CaAnchorRecord Anchor(const std::string& link, uint8_t id,
                      uint64_t not_after = 4000000000) {
  CaAnchorRecord a{link, {}, not_after, "CN=" + link};
  a.sha256[0] = id;
  return a;
}

TEST(CaInspectTest, ComparesAnchorsByFingerprint) {
  std::optional<CaStoreSection> before = CaStoreSection{};
  before->anchors = {Anchor("A.pem", 1), Anchor("B.pem", 2)};
  std::optional<CaStoreSection> after = CaStoreSection{};
  // A renamed (same certificate), B removed, C added.
  after->anchors = {Anchor("A-renamed.pem", 1), Anchor("C.pem", 3)};
  CaStoreDiff diff = DiffCaStores(after, &before, 1700000000, 365);
  ASSERT_EQ(diff.added.size(), 1u);
  EXPECT_EQ(diff.added[0].link, "C.pem");
  ASSERT_EQ(diff.removed.size(), 1u);
  EXPECT_EQ(diff.removed[0].link, "B.pem");
  EXPECT_TRUE(diff.expiring.empty());
  std::string text = RenderCaDiffText(diff, 365);
  EXPECT_THAT(text,
              HasSubstr("CA store: 2 anchors, 1 added, 1 removed, 0 expiring"));
  EXPECT_THAT(RenderCaDiffJson(diff),
              HasSubstr("\"added\": [{\"link\": \"C.pem\""));
}

TEST(CaInspectTest, ListsExpiringAnchorsWithoutAPreviousBundle) {
  std::optional<CaStoreSection> now = CaStoreSection{};
  now->anchors = {Anchor("Soon.pem", 1, 1700000000 + 86400),
                  Anchor("L.pem", 2)};
  CaStoreDiff diff = DiffCaStores(now, nullptr, 1700000000, 30);
  EXPECT_FALSE(diff.has_previous);
  ASSERT_EQ(diff.expiring.size(), 1u);
  EXPECT_EQ(diff.expiring[0].link, "Soon.pem");
  EXPECT_THAT(RenderCaDiffText(diff, 30),
              HasSubstr("expiring Soon.pem  CN=Soon.pem  "
                        "notAfter 2023-11-15"));
}

TEST(CaInspectTest, SaysWhenNoStoreIsDeclared) {
  std::optional<CaStoreSection> none;
  CaStoreDiff diff = DiffCaStores(none, &none, 0, 365);
  EXPECT_FALSE(diff.has_store);
  EXPECT_THAT(RenderCaDiffText(diff, 365), HasSubstr("not declared"));
}

}  // namespace
}  // namespace imab::verifier
