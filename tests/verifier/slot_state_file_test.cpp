#include "verifier/device/slot_state_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;

DeviceState FullState() {
  DeviceState state;
  state.active_slot = std::string(1, 'b');
  state.image_version = "2.4.1";
  state.compatible = "acme-gateway";
  state.key_generation = 7;
  state.trust_root_version = 3;
  state.trust_root = std::string("imabundle-trust-root 1\n\0x", 25);
  state.installed_at = 1700000123;
  state.bundle_sha256 = std::string(64, 'a');
  state.confirmed_at = 1700000456;
  state.kernel_cas = {"ca-der"};
  state.kernel_profile = "le32";
  state.kernel_version = "6.6";
  return state;
}

void ExpectSame(const DeviceState& a, const DeviceState& b) {
  EXPECT_EQ(a.active_slot, b.active_slot);
  EXPECT_EQ(a.image_version, b.image_version);
  EXPECT_EQ(a.compatible, b.compatible);
  EXPECT_EQ(a.key_generation, b.key_generation);
  EXPECT_EQ(a.trust_root_version, b.trust_root_version);
  EXPECT_EQ(a.trust_root, b.trust_root);
  EXPECT_EQ(a.installed_at, b.installed_at);
  EXPECT_EQ(a.bundle_sha256, b.bundle_sha256);
  EXPECT_EQ(a.confirmed_at, b.confirmed_at);
  EXPECT_EQ(a.kernel_cas, b.kernel_cas);
  EXPECT_EQ(a.kernel_profile, b.kernel_profile);
  EXPECT_EQ(a.kernel_version, b.kernel_version);
}

TEST(SlotStateFileTest, RoundTripsEveryField) {
  DeviceState state = FullState();
  Result<DeviceState> parsed = ParseSlotState(EncodeSlotState(state), "f");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  ExpectSame(state, *parsed);
}

TEST(SlotStateFileTest, RoundTripsAnEmptyState) {
  DeviceState state;
  state.active_slot = "a";
  Result<DeviceState> parsed = ParseSlotState(EncodeSlotState(state), "f");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  ExpectSame(state, *parsed);
}

TEST(SlotStateFileTest, AStateWithoutConfirmationReadsAsUnconfirmed) {
  DeviceState state = FullState();
  state.confirmed_at = 0;
  const std::string text = EncodeSlotState(state);
  EXPECT_EQ(text.find("confirmed-at"), std::string::npos);
  Result<DeviceState> parsed = ParseSlotState(text, "f");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->confirmed_at, 0u);
}

TEST(SlotStateFileTest, RefusesEveryTruncation) {
  // A state cut short by a crash must never read as a valid (lower) state.
  std::string text = EncodeSlotState(FullState());
  for (size_t size = 0; size < text.size(); ++size) {
    EXPECT_FALSE(ParseSlotState(text.substr(0, size), "f").has_value())
        << "accepted the first " << size << " bytes";
  }
}

TEST(SlotStateFileTest, RefusesDamage) {
  std::string text = EncodeSlotState(FullState());
  const std::vector<std::pair<std::string, std::string>> damage = {
      {"slot b", "slot c"},
      {"key-generation 7", "key-generation -1"},
      {"key-generation 7", "key-generation 07"},
      {"trust-root-version 3", "trust-root-version 0"},
      {"end\n", "end\nextra\n"},
      {"imabundle-slot-state 1", "imabundle-slot-state 2"},
      {"kernel-version 6.6\n", "kernel-version 6.6\nkernel-version 6.7\n"},
      {"kernel-version 6.6\n", "kernel-version 6.6\nkernel-profile le64\n"},
      {"kernel-profile le32\n", "kernel-profile le32\nkernel-ca 30\n"},
      {"kernel-version 6.6", "kernel-version "},
      // An empty value would be a second spelling of "-" (found by
      // tests/fuzz/slot_state_file_fuzz.cpp).
      {"compatible acme-gateway", "compatible "},
      {"version 2.4.1", "version "},
      // Unconfirmed has one spelling: no line.
      {"confirmed-at 1700000456", "confirmed-at 0"},
      {"confirmed-at 1700000456", "confirmed-at yes"},
      {"confirmed-at 1700000456\n", "confirmed-at 1\nconfirmed-at 2\n"},
  };
  for (const auto& [from, to] : damage) {
    std::string bad = text;
    bad.replace(bad.find(from), from.size(), to);
    Result<DeviceState> parsed = ParseSlotState(bad, "slot-b.state");
    ASSERT_FALSE(parsed.has_value()) << to;
    EXPECT_EQ(parsed.error().code, ErrorCode::kIo);
    EXPECT_THAT(parsed.error().message, HasSubstr("slot-b.state line"));
  }
}

}  // namespace
}  // namespace imab::verifier
