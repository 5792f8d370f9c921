#include "verifier/device/boot_control.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/fake_bootloader.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "verifier/slots/directory_slots.h"

namespace imab::verifier {
namespace {

using imab::testing::FakeBootloader;
using imab::testing::StatusIs;
using imab::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A device whose slot a holds a confirmed version 1 (key generation 1)
// and whose slot b holds an update to version 2 (key generation 2), just
// installed: the pointer and the boot loader name b, the system still
// runs a.
class BootControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.root = dir_.path().string();
    const std::string slots_dir = dir_.Sub("slots");
    ASSERT_TRUE(DirectorySlots::Create(slots_dir, SlotId::kB).ok());
    auto slots = DirectorySlots::Open(slots_dir, &loader_);
    ASSERT_TRUE(slots.has_value());
    slots_ = std::move(*slots);
    ASSERT_TRUE(slots_->Activate(State("1", 1, 100)).ok());  // into a
    ASSERT_TRUE(slots_->Activate(State("2", 2, 0)).ok());    // into b
    loader_.log.clear();
  }
  static DeviceState State(const std::string& version, uint64_t generation,
                           uint64_t confirmed_at) {
    DeviceState state;
    state.image_version = version;
    state.key_generation = generation;
    state.confirmed_at = confirmed_at;
    return state;
  }
  BootContext Context(std::optional<SlotId> booted) {
    return BootContext{config_, *slots_, &loader_, booted};
  }
  DeviceState Record(SlotId slot) { return **slots_->ReadState(slot); }

  TempDir dir_;
  DeviceConfig config_;
  FakeBootloader loader_;
  std::unique_ptr<DirectorySlots> slots_;
  NullReporter reporter_;
};

TEST_F(BootControlTest, InstallSwitchesTheBootLoaderBeforeThePointer) {
  EXPECT_EQ(loader_.primary, SlotId::kB);
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kB);
}

TEST_F(BootControlTest, AnUpdateWaitingForItsRebootIsNoFallback) {
  EXPECT_EQ(*DetectFallback(*slots_, &loader_, SlotId::kA), std::nullopt);
  EXPECT_THAT(CheckInstallStart(Context(SlotId::kA)),
              StatusIs(ErrorCode::kInvalidArgument,
                       HasSubstr("slot b waits for a reboot")));
  // Without the booted slot the pointer stands in for it (today's devices).
  EXPECT_TRUE(CheckInstallStart(Context(std::nullopt)).ok());
}

TEST_F(BootControlTest, AFailedBootIsTakenAsAFallbackOnce) {
  loader_.FailBoot(SlotId::kB);
  ASSERT_EQ(loader_.Boot(), SlotId::kA);
  Result<std::optional<Fallback>> taken =
      NoticeFallback(Context(SlotId::kA), 500, reporter_);
  ASSERT_TRUE(taken.has_value()) << taken.error().message;
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ(DescribeFallback(**taken), "fell back from b to a");
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kA);
  EXPECT_THAT(loader_.log, ElementsAre("mark-bad b", "set-primary a"));
  Result<std::optional<Fallback>> recorded = ReadLastFallback(slots_->dir());
  ASSERT_TRUE(recorded.has_value() && recorded->has_value());
  EXPECT_EQ((*recorded)->time, 500u);
  // Slot a's confirmed record is in force again: its floor, 1.
  EXPECT_TRUE(CheckInstallStart(Context(SlotId::kA)).ok());
  EXPECT_EQ(slots_->ActiveState()->key_generation, 1u);
  Result<std::optional<Fallback>> again =
      NoticeFallback(Context(SlotId::kA), 600, reporter_);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value());
}

// verify --root's view: the fallback taken in thought only, then the
// install's own checks; an install after NoticeFallback gets the same.
TEST_F(BootControlTest, TheStateToJudgeAgainstIsTheInstallsAndWritesNothing) {
  EXPECT_THAT(StateToJudgeAgainst(Context(SlotId::kA)),
              StatusIs(ErrorCode::kInvalidArgument,
                       HasSubstr("slot b waits for a reboot")));
  // Unknown booted slot: the pointer's record, confirmed or not.
  Result<DeviceState> pointer = StateToJudgeAgainst(Context(std::nullopt));
  ASSERT_TRUE(pointer.has_value()) << pointer.error().message;
  EXPECT_EQ(pointer->key_generation, 2u);
  loader_.FailBoot(SlotId::kB);
  ASSERT_EQ(loader_.Boot(), SlotId::kA);
  loader_.log.clear();
  Result<DeviceState> judged = StateToJudgeAgainst(Context(SlotId::kA));
  ASSERT_TRUE(judged.has_value()) << judged.error().message;
  EXPECT_EQ(judged->key_generation, 1u);
  EXPECT_TRUE(loader_.log.empty());
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kB);
  EXPECT_FALSE(ReadLastFallback(slots_->dir())->has_value());
  ASSERT_TRUE(NoticeFallback(Context(SlotId::kA), 5, reporter_).has_value());
  EXPECT_EQ(StateToJudgeAgainst(Context(SlotId::kA))->key_generation, 1u);
}

// A fallback to a slot that holds no image is refused, in thought and in
// deed, and nothing is changed.
TEST_F(BootControlTest, AFallbackToAnEmptySlotIsRefused) {
  ASSERT_TRUE(DirectorySlots::Create(dir_.Sub("odd"), SlotId::kA).ok());
  auto odd = DirectorySlots::Open(dir_.Sub("odd"), &loader_);
  ASSERT_TRUE(odd.has_value());
  ASSERT_TRUE((*odd)->Activate(State("2", 2, 0)).ok());  // into b
  loader_.FailBoot(SlotId::kB);
  loader_.log.clear();
  const BootContext booted_a{config_, **odd, &loader_, SlotId::kA};
  EXPECT_THAT(StateToJudgeAgainst(booted_a),
              StatusIs(ErrorCode::kInvalidArgument,
                       HasSubstr("slot a holds no complete image: cannot "
                                 "take the fallback to it")));
  EXPECT_THAT(NoticeFallback(booted_a, 5, reporter_),
              StatusIs(ErrorCode::kInvalidArgument,
                       HasSubstr("cannot take the fallback to it")));
  EXPECT_TRUE(loader_.log.empty());
  EXPECT_EQ(*(*odd)->ActiveSlot(), SlotId::kB);
}

// Boot loader variables that cannot be read stop every command that must
// look for a fallback (fail closed): nothing is judged or changed.
TEST_F(BootControlTest, UnreadableBootVariablesStopEverything) {
  loader_.fail_reads = true;
  const BootContext booted_a = Context(SlotId::kA);
  const auto damaged = StatusIs(ErrorCode::kIo, HasSubstr("fake: variables"));
  EXPECT_THAT(StateToJudgeAgainst(booted_a), damaged);
  EXPECT_THAT(NoticeFallback(booted_a, 5, reporter_), damaged);
  EXPECT_THAT(MarkGood(booted_a, 5, reporter_), damaged);
  EXPECT_THAT(MarkBad(booted_a, 5, reporter_), damaged);
  EXPECT_THAT(MarkActive(booted_a, SlotId::kA, 5, reporter_), damaged);
  EXPECT_TRUE(loader_.log.empty());
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kB);
}

// A boot loader write failing while a fallback is taken stops the command
// before the pointer moves; the next command finds the fallback again.
TEST_F(BootControlTest, AFallbackInterruptedByAWriteFailureIsTakenLater) {
  loader_.FailBoot(SlotId::kB);
  ASSERT_EQ(loader_.Boot(), SlotId::kA);
  loader_.fail_mark_bad = true;
  EXPECT_THAT(NoticeFallback(Context(SlotId::kA), 5, reporter_),
              StatusIs(ErrorCode::kIo, HasSubstr("fake: cannot write")));
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kB);
  EXPECT_THAT(MarkGood(Context(SlotId::kA), 6, reporter_),
              StatusIs(ErrorCode::kIo));
  loader_.fail_mark_bad = false;
  Result<std::optional<Fallback>> taken =
      NoticeFallback(Context(SlotId::kA), 7, reporter_);
  ASSERT_TRUE(taken.has_value()) << taken.error().message;
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kA);
  EXPECT_EQ((*ReadLastFallback(slots_->dir()))->time, 7u);
}

TEST_F(BootControlTest, TheFloorIsFinalOnlyAtMarkGood) {
  loader_.Boot();  // b
  const BootContext booted_b = Context(SlotId::kB);
  EXPECT_THAT(CheckInstallStart(booted_b),
              StatusIs(ErrorCode::kInvalidArgument,
                       HasSubstr("the booted slot b is not confirmed")));
  Result<BootChange> good = MarkGood(booted_b, 700, reporter_);
  ASSERT_TRUE(good.has_value()) << good.error().message;
  EXPECT_FALSE(good->already);
  EXPECT_EQ(Record(SlotId::kB).confirmed_at, 700u);
  EXPECT_EQ(Record(SlotId::kB).key_generation, 2u);
  EXPECT_THAT(loader_.log, ElementsAre("mark-good b"));
  EXPECT_TRUE(CheckInstallStart(booted_b).ok());
  // Again: nothing more to record, the first time is kept.
  good = MarkGood(booted_b, 800, reporter_);
  ASSERT_TRUE(good.has_value());
  EXPECT_TRUE(good->already);
  EXPECT_EQ(Record(SlotId::kB).confirmed_at, 700u);
}

TEST_F(BootControlTest, MarkBadGivesTheBootedSlotUpForTheOther) {
  loader_.Boot();  // b
  Result<BootChange> bad = MarkBad(Context(SlotId::kB), 900, reporter_);
  ASSERT_TRUE(bad.has_value()) << bad.error().message;
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kA);
  EXPECT_EQ(loader_.primary, SlotId::kA);
  EXPECT_FALSE(loader_.SlotStatus(SlotId::kB)->bootable);
  EXPECT_EQ(bad->state->image_version, "1");
  // The system still runs b until it reboots: no install meanwhile.
  EXPECT_FALSE(CheckInstallStart(Context(SlotId::kB)).ok());
}

TEST_F(BootControlTest, MarkActiveNeedsACompleteImage) {
  Result<BootChange> active =
      MarkActive(Context(SlotId::kA), SlotId::kA, 1000, reporter_);
  ASSERT_TRUE(active.has_value()) << active.error().message;
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kA);
  EXPECT_EQ(loader_.primary, SlotId::kA);
  EXPECT_TRUE(CheckInstallStart(Context(SlotId::kA)).ok());
  // An empty slot is never made active, and nothing changes.
  ASSERT_TRUE(slots_->CleanUp().ok());
  ASSERT_TRUE(DirectorySlots::Create(dir_.Sub("empty")).ok());
  auto empty = DirectorySlots::Open(dir_.Sub("empty"), &loader_);
  loader_.log.clear();
  const BootContext fresh{config_, **empty, &loader_, SlotId::kA};
  EXPECT_THAT(MarkActive(fresh, SlotId::kB, 1100, reporter_),
              StatusIs(ErrorCode::kInvalidArgument,
                       HasSubstr("slot b holds no complete image")));
  EXPECT_THAT(
      MarkGood(fresh, 1100, reporter_),
      StatusIs(ErrorCode::kInvalidArgument, HasSubstr("nothing to mark good")));
  EXPECT_THAT(MarkBad(fresh, 1100, reporter_),
              StatusIs(ErrorCode::kInvalidArgument,
                       HasSubstr("nothing to fall back to")));
  EXPECT_TRUE(loader_.log.empty());
  // Booted a while the pointer names the empty b: no fallback, and no
  // install (it would write the running slot).
  ASSERT_TRUE(DirectorySlots::Create(dir_.Sub("odd"), SlotId::kB).ok());
  auto odd = DirectorySlots::Open(dir_.Sub("odd"), &loader_);
  ASSERT_TRUE(DetectFallback(**odd, &loader_, SlotId::kA).has_value());
  EXPECT_FALSE(DetectFallback(**odd, &loader_, SlotId::kA)->has_value());
  EXPECT_THAT(CheckInstallStart({config_, **odd, &loader_, SlotId::kA}),
              StatusIs(ErrorCode::kInvalidArgument,
                       HasSubstr("an install would write the running slot")));
}

TEST_F(BootControlTest, ABootLoaderNeedsTheBootedSlotToConfirm) {
  EXPECT_THAT(MarkGood(Context(std::nullopt), 1, reporter_),
              StatusIs(ErrorCode::kInvalidArgument,
                       HasSubstr("cannot tell the booted slot")));
  // Without a boot loader the active slot stands in.
  const BootContext none{config_, *slots_, nullptr, std::nullopt};
  Result<BootChange> good = MarkGood(none, 5, reporter_);
  ASSERT_TRUE(good.has_value()) << good.error().message;
  EXPECT_EQ(good->slot, SlotId::kB);
}

}  // namespace
}  // namespace imab::verifier
