#include "verifier/slots/directory_slots.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/read/atomic_file.h"
#include "common/read/digest.h"
#include "tests/testutil/temp_dir.h"
#include "verifier/device/install_lock.h"
#include "verifier/device/slot_state_file.h"
#include "verifier/slots/directory_sink.h"

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

Entry FileEntry(const std::string& path, const std::string& content) {
  Entry entry;
  entry.path = path;
  entry.type = EntryType::kFile;
  entry.mode = 0644;
  entry.size = content.size();
  return entry;
}

Entry DirEntry(const std::string& path) {
  Entry entry;
  entry.path = path;
  entry.type = EntryType::kDir;
  entry.mode = 0755;
  return entry;
}

class DirectorySlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(DirectorySlots::Create(dir()).ok());
    auto slots = DirectorySlots::Open(dir());
    ASSERT_TRUE(slots.has_value());
    slots_ = std::move(*slots);
  }
  std::string dir() const { return tmp_.Sub("slots"); }

  // Writes an image holding etc/version = `version` through the backend's
  // sink; commits it when `commit`, else aborts after the file.
  Status WriteImage(const std::string& version, bool commit = true) {
    IMAB_ASSIGN_OR_RETURN(auto sink, slots_->OpenInactiveForWrite(reporter_));
    ManifestHeader header;
    header.image_version = version;
    header.created = 1700000000;
    IMAB_RETURN_IF_ERROR(sink->Start(header));
    Entry etc = DirEntry("etc");
    IMAB_RETURN_IF_ERROR(sink->Begin(etc));
    IMAB_RETURN_IF_ERROR(sink->End(etc));
    Entry file = FileEntry("etc/version", version);
    IMAB_RETURN_IF_ERROR(sink->Begin(file));
    IMAB_RETURN_IF_ERROR(sink->Content(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(version.data()), version.size())));
    IMAB_RETURN_IF_ERROR(sink->End(file));
    if (!commit) {
      sink->Abort();
      return OkStatus();
    }
    return sink->Commit();
  }

  DeviceState State(const std::string& version, uint64_t generation) {
    DeviceState state;
    state.image_version = version;
    state.compatible = "board";
    state.key_generation = generation;
    state.installed_at = 1700000000;
    return state;
  }

  testing::TempDir tmp_;
  NullReporter reporter_;
  std::unique_ptr<DirectorySlots> slots_;
};

TEST_F(DirectorySlotsTest, FreshLayoutHasAnEmptyActiveSlotA) {
  EXPECT_EQ(fs::read_symlink(dir() + "/active"), "slot-a");
  Result<SlotId> active = slots_->ActiveSlot();
  ASSERT_TRUE(active.has_value());
  EXPECT_EQ(*active, SlotId::kA);
  Result<DeviceState> state = slots_->ActiveState();
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->image_version, "");
  EXPECT_EQ(state->key_generation, 0u);
  EXPECT_TRUE(slots_->SlotIsEmpty(SlotId::kA));
  EXPECT_TRUE(slots_->SlotIsEmpty(SlotId::kB));
  EXPECT_TRUE(slots_->CheckConsistency().empty());
  EXPECT_TRUE(slots_->PendingCleanUp().empty());
}

TEST_F(DirectorySlotsTest, CreateRefusesAnExistingLayout) {
  Status again = DirectorySlots::Create(dir());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(DirectorySlotsTest, OpenRefusesAFolderWithoutPointer) {
  auto slots = DirectorySlots::Open(tmp_.Sub(""));
  ASSERT_FALSE(slots.has_value());
  EXPECT_THAT(slots.error().message, HasSubstr("not initialised"));
}

TEST_F(DirectorySlotsTest, ActivateSwitchesImageAndStateTogether) {
  ASSERT_TRUE(WriteImage("1.0").ok());
  // Written but not active yet: the device still runs the empty slot a.
  EXPECT_EQ(slots_->ActiveSlot().value(), SlotId::kA);
  EXPECT_EQ(testing::ReadFile(dir() + "/slot-b/etc/version"), "1.0");
  ASSERT_TRUE(slots_->Activate(State("1.0", 3)).ok());
  EXPECT_EQ(slots_->ActiveSlot().value(), SlotId::kB);
  DeviceState state = slots_->ActiveState().value();
  EXPECT_EQ(state.active_slot, "b");
  EXPECT_EQ(state.image_version, "1.0");
  EXPECT_EQ(state.key_generation, 3u);
  EXPECT_TRUE(slots_->CheckConsistency().empty());

  // The next image goes to the other slot and leaves slot b alone until
  // the switch.
  ASSERT_TRUE(WriteImage("2.0").ok());
  EXPECT_EQ(testing::ReadFile(dir() + "/slot-b/etc/version"), "1.0");
  ASSERT_TRUE(slots_->Activate(State("2.0", 3)).ok());
  EXPECT_EQ(slots_->ActiveSlot().value(), SlotId::kA);
  EXPECT_EQ(testing::ReadFile(dir() + "/slot-a/etc/version"), "2.0");
  EXPECT_EQ(slots_->ActiveState()->image_version, "2.0");
  EXPECT_EQ(slots_->ReadState(SlotId::kB).value()->image_version, "1.0");
}

// mark-active and a fallback switch the pointer back to a slot that holds
// a complete image, never to an empty or half-written one.
TEST_F(DirectorySlotsTest, SetActiveNeedsACompleteImage) {
  Status refused = slots_->SetActive(SlotId::kB);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(refused.error().message,
              HasSubstr("slot-b: no complete image to activate"));
  ASSERT_TRUE(WriteImage("1.0").ok());
  ASSERT_TRUE(slots_->Activate(State("1.0", 1)).ok());
  ASSERT_TRUE(WriteImage("2.0").ok());
  ASSERT_TRUE(slots_->Activate(State("2.0", 2)).ok());
  EXPECT_EQ(slots_->ActiveSlot().value(), SlotId::kA);
  ASSERT_TRUE(slots_->SetActive(SlotId::kA).ok());
  ASSERT_TRUE(slots_->SetActive(SlotId::kB).ok());
  EXPECT_EQ(slots_->ActiveSlot().value(), SlotId::kB);
  EXPECT_EQ(slots_->ActiveState()->image_version, "1.0");
  EXPECT_EQ(slots_->StateDir(), dir());
  EXPECT_TRUE(slots_->CheckConsistency().empty());
}

TEST_F(DirectorySlotsTest, AbortLeavesNothingAndKeepsTheOldInactiveImage) {
  ASSERT_TRUE(WriteImage("1.0").ok());
  ASSERT_TRUE(slots_->Activate(State("1.0", 0)).ok());
  ASSERT_TRUE(WriteImage("2.0").ok());
  ASSERT_TRUE(slots_->Activate(State("2.0", 0)).ok());
  // A sink that is never started (bundle refused before its first entry)
  // must not touch the inactive image.
  ASSERT_TRUE(slots_->OpenInactiveForWrite(reporter_).has_value());
  EXPECT_EQ(testing::ReadFile(dir() + "/slot-b/etc/version"), "1.0");
  // Aborted mid-image: the old inactive image and its state stay (it is
  // replaced only at Commit), and no staging remains.
  ASSERT_TRUE(WriteImage("3.0", /*commit=*/false).ok());
  EXPECT_EQ(testing::ReadFile(dir() + "/slot-b/etc/version"), "1.0");
  EXPECT_EQ(slots_->ReadState(SlotId::kB)->value().image_version, "1.0");
  EXPECT_TRUE(slots_->PendingCleanUp().empty());
  EXPECT_EQ(slots_->ActiveState()->image_version, "2.0");
}

TEST_F(DirectorySlotsTest, CleanUpRemovesWhatACrashLeaves) {
  ASSERT_TRUE(WriteImage("1.0").ok());
  ASSERT_TRUE(slots_->Activate(State("1.0", 0)).ok());
  // What a SIGKILL can leave: a staging tree, temporaries of the state and
  // the pointer, a half-written inactive image without its state.
  fs::create_directories(dir() + "/slot-a" + std::string(kStagingInfix) +
                         "abc123/usr");
  testing::WriteFile(
      dir() + "/slot-a.state" + std::string(kTemporaryInfix) + "x1",
      "imabundle-slot-state 1\n");
  fs::create_symlink("slot-a",
                     dir() + "/active" + std::string(kTemporaryInfix) + "99");
  testing::WriteFile(dir() + "/slot-a/partial", "half");
  EXPECT_EQ(slots_->PendingCleanUp().size(), 4u);
  EXPECT_TRUE(slots_->CheckConsistency().empty());

  ASSERT_TRUE(slots_->CleanUp().ok());
  EXPECT_TRUE(slots_->PendingCleanUp().empty());
  EXPECT_TRUE(slots_->SlotIsEmpty(SlotId::kA));
  EXPECT_EQ(slots_->ActiveSlot().value(), SlotId::kB);
  EXPECT_EQ(testing::ReadFile(dir() + "/slot-b/etc/version"), "1.0");
  EXPECT_EQ(slots_->ActiveState()->image_version, "1.0");
}

TEST_F(DirectorySlotsTest, CleanUpDropsAStateWithoutItsImage) {
  ASSERT_TRUE(WriteImage("1.0").ok());
  ASSERT_TRUE(slots_->Activate(State("1.0", 0)).ok());
  DeviceState orphan = State("9.9", 0);
  orphan.active_slot = "a";
  ASSERT_TRUE(WriteFileAtomically(slots_->StatePath(SlotId::kA),
                                  EncodeSlotState(orphan))
                  .ok());
  fs::remove(dir() + "/slot-a");
  EXPECT_FALSE(slots_->PendingCleanUp().empty());
  ASSERT_TRUE(slots_->CleanUp().ok());
  EXPECT_FALSE(fs::exists(slots_->StatePath(SlotId::kA)));
  EXPECT_TRUE(slots_->SlotIsEmpty(SlotId::kA));
}

TEST_F(DirectorySlotsTest, CleanUpDropsADamagedInactiveState) {
  ASSERT_TRUE(WriteImage("1.0").ok());
  ASSERT_TRUE(slots_->Activate(State("1.0", 0)).ok());
  testing::WriteFile(slots_->StatePath(SlotId::kA), "imabundle-slot-state 1\n");
  ASSERT_TRUE(slots_->CleanUp().ok());
  EXPECT_FALSE(fs::exists(slots_->StatePath(SlotId::kA)));
  EXPECT_TRUE(slots_->CheckConsistency().empty());
}

TEST_F(DirectorySlotsTest, DamagedActiveStateIsReportedNeverIgnored) {
  ASSERT_TRUE(WriteImage("1.0").ok());
  ASSERT_TRUE(slots_->Activate(State("1.0", 5)).ok());
  std::string text = testing::ReadFile(slots_->StatePath(SlotId::kB));
  text.resize(text.size() / 2);
  testing::WriteFile(slots_->StatePath(SlotId::kB), text);
  // A floor must never silently fall back to 0.
  Result<DeviceState> state = slots_->ActiveState();
  ASSERT_FALSE(state.has_value());
  EXPECT_EQ(state.error().code, ErrorCode::kIo);
  EXPECT_FALSE(slots_->CheckConsistency().empty());
}

TEST_F(DirectorySlotsTest, PointerOutsideTheSlotsIsRefused) {
  fs::remove(dir() + "/active");
  fs::create_symlink("/etc", dir() + "/active");
  Result<SlotId> active = slots_->ActiveSlot();
  ASSERT_FALSE(active.has_value());
  EXPECT_THAT(active.error().message, HasSubstr("not slot-a or slot-b"));
  EXPECT_FALSE(slots_->CheckConsistency().empty());
}

TEST_F(DirectorySlotsTest, ActivateRefusesAMissingImage) {
  fs::remove(dir() + "/slot-b");
  Status status = slots_->Activate(State("1.0", 0));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(slots_->ActiveSlot().value(), SlotId::kA);
}

TEST(InstallLockTest, SecondHolderIsRefusedAtOnce) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("lock");
  Result<InstallLock> first = InstallLock::Acquire(path);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(InstallLock::IsHeld(path));
  Result<InstallLock> second = InstallLock::Acquire(path);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().message,
            "another install is running (lock held on " + path + ")");
}

}  // namespace
}  // namespace imab::verifier
