// BlockSlots on a loop device (root only; skipped elsewhere): the sink
// formats the inactive partition, writes through DirectorySink, reads the
// image back from a read-only mount, and only a read-back image can be
// activated; the boot loader hears of it in the order slot_backend.h
// gives. These tests run in the test process, which the first install
// moves into a private mount namespace of its own.
#include "verifier/slots/block_slots.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "common/read/digest.h"
#include "tests/testutil/loop_device.h"
#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"
#include "verifier/boot/bootloader.h"
#include "verifier/slots/make_ext4.h"
#include "verifier/slots/private_mounts.h"

namespace imab::verifier {
namespace {

using ::imab::testing::LoopDisk;
using ::imab::testing::ReadFile;
using ::imab::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Values the kernel accepts for security.ima / security.evm (a signature
// type byte first); not real signatures: nothing here appraises them.
const std::string kImaValue = std::string("\x03\x02\x04", 3) + "imasig";
const std::string kEvmValue = std::string("\x05\x02\x04", 3) + "evmsig";

Entry MakeFile(const std::string& path, const std::string& content) {
  Entry entry;
  entry.path = path;
  entry.type = EntryType::kFile;
  entry.mode = 0644;
  entry.size = content.size();
  entry.sha256 = *Sha256Of(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(content.data()), content.size()));
  entry.xattrs = {{"security.evm", kEvmValue},
                  {"security.ima", kImaValue},
                  {"user.note", "kept"}};
  return entry;
}

Entry MakeDir(const std::string& path, uint32_t mode) {
  Entry entry;
  entry.path = path;
  entry.type = EntryType::kDir;
  entry.mode = mode;
  return entry;
}

// Remembers what the backend asked of it, in order.
class RecordingBootloader : public Bootloader {
 public:
  const char* Name() const override { return "recording"; }
  Result<SlotId> Primary() const override { return primary; }
  Result<BootSlotStatus> SlotStatus(SlotId) const override {
    return BootSlotStatus{};
  }
  Status SetPrimary(SlotId slot) override {
    calls.push_back(std::string("primary ") + SlotName(slot));
    primary = slot;
    return OkStatus();
  }
  Status MarkGood(SlotId slot) override {
    calls.push_back(std::string("good ") + SlotName(slot));
    return OkStatus();
  }
  Status MarkBad(SlotId slot) override {
    calls.push_back(std::string("bad ") + SlotName(slot));
    return OkStatus();
  }
  SlotId primary = SlotId::kA;
  std::vector<std::string> calls;
};

// Forwards everything but one xattr of one entry: a writer that loses
// metadata without noticing.
class DroppingSink : public EntrySink {
 public:
  DroppingSink(std::unique_ptr<EntrySink> inner, std::string path,
               std::string xattr)
      : inner_(std::move(inner)),
        path_(std::move(path)),
        xattr_(std::move(xattr)) {}
  Status Start(const ManifestHeader& h) override { return inner_->Start(h); }
  Status Begin(const Entry& e) override { return inner_->Begin(e); }
  Status Content(std::span<const uint8_t> d) override {
    return inner_->Content(d);
  }
  Status End(const Entry& entry) override {
    if (entry.path != path_) {
      return inner_->End(entry);
    }
    Entry less = entry;
    std::erase_if(less.xattrs,
                  [&](const Xattr& x) { return x.name == xattr_; });
    return inner_->End(less);
  }
  Status Commit() override { return inner_->Commit(); }
  void Abort() override { inner_->Abort(); }

 private:
  std::unique_ptr<EntrySink> inner_;
  std::string path_;
  std::string xattr_;
};

class BlockSlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testing::BlockTestsUnavailable()) {
      GTEST_SKIP() << *why;
    }
    if (auto why = disk_.Attach(dir_.Sub("disk.img"), {{"", 16}, {"", 16}})) {
      GTEST_SKIP() << *why;
    }
    state_dir_ = dir_.Sub("state");
    ASSERT_TRUE(BlockSlots::Create(state_dir_, SlotId::kA).ok());
    auto a = LookUpPartition(disk_.Partition(1));
    auto b = LookUpPartition(disk_.Partition(2));
    ASSERT_TRUE(a.has_value() && b.has_value());
    auto slots = BlockSlots::Open(state_dir_, *a, *b, &bootloader_);
    ASSERT_TRUE(slots.has_value()) << slots.error().message;
    slots_ = std::move(*slots);
  }

  std::vector<Entry> Image(const std::string& hostname) {
    Entry link;
    link.path = "etc/hostname.link";
    link.type = EntryType::kSymlink;
    link.mode = 0777;
    link.link_target = "hostname";
    link.xattrs = {{"security.ima", kImaValue}};
    Entry hard = MakeFile("etc/hostname.hard", "");
    hard.type = EntryType::kHardlink;
    hard.link_target = "etc/hostname";
    hard.size = 0;
    hard.sha256 = {};
    hard.xattrs.clear();
    return {MakeDir("etc", 0755), MakeFile("etc/hostname", hostname), link,
            hard, MakeDir("var", 0700)};
  }

  // Streams `entries` into the inactive slot; the sink's Commit().
  Status Write(const std::vector<Entry>& entries) {
    IMAB_ASSIGN_OR_RETURN(auto sink, slots_->OpenInactiveForWrite(reporter_));
    ManifestHeader header;
    header.created = 1700000000;
    Status status = [&]() -> Status {
      IMAB_RETURN_IF_ERROR(sink->Start(header));
      for (const Entry& entry : entries) {
        IMAB_RETURN_IF_ERROR(sink->Begin(entry));
        if (entry.type == EntryType::kFile && entry.size > 0) {
          // The content was made from the path's last component.
          std::string content = entry.path == "etc/hostname" ? hostname_ : "";
          IMAB_RETURN_IF_ERROR(sink->Content(std::span<const uint8_t>(
              reinterpret_cast<const uint8_t*>(content.data()),
              content.size())));
        }
        IMAB_RETURN_IF_ERROR(sink->End(entry));
      }
      return sink->Commit();
    }();
    if (!status.ok()) {
      sink->Abort();
    }
    return status;
  }

  DeviceState StateFor(const std::string& version) {
    DeviceState state;
    state.image_version = version;
    state.compatible = "acme";
    return state;
  }

  testing::TempDir dir_;
  LoopDisk disk_;
  std::string state_dir_;
  RecordingBootloader bootloader_;
  NullReporter reporter_;
  std::unique_ptr<BlockSlots> slots_;
  std::string hostname_ = "image-1\n";
};

TEST_F(BlockSlotsTest, FreshLayoutHasAnEmptyActiveSlotA) {
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kA);
  EXPECT_FALSE(slots_->ReadState(SlotId::kA)->has_value());
  EXPECT_FALSE(slots_->ReadState(SlotId::kB)->has_value());
  EXPECT_TRUE(slots_->CheckConsistency().empty());
  EXPECT_TRUE(slots_->PendingCleanUp().empty());
  EXPECT_EQ(ReadFile(state_dir_ + "/active"), "a\n");
  EXPECT_FALSE(BlockSlots::Create(state_dir_, SlotId::kA).ok());
}

TEST_F(BlockSlotsTest, InstallFormatsWritesReadsBackAndActivates) {
  Status written = Write(Image(hostname_));
  ASSERT_TRUE(written.ok()) << written.error().message;
  ASSERT_TRUE(slots_->Activate(StateFor("1.0")).ok());
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kB);
  EXPECT_EQ((*slots_->ReadState(SlotId::kB))->image_version, "1.0");
  EXPECT_THAT(bootloader_.calls, ElementsAre("bad b", "primary b"));
  // What the partition holds, seen through a mount of the test's own.
  const std::string mnt = dir_.Sub("mnt");
  std::filesystem::create_directory(mnt);
  ASSERT_TRUE(MountExt4(disk_.Partition(2), mnt, true).ok());
  EXPECT_EQ(ReadFile(mnt + "/etc/hostname"), hostname_);
  char value[64];
  ssize_t n = ::lgetxattr((mnt + "/etc/hostname").c_str(), "security.evm",
                          value, sizeof value);
  EXPECT_EQ(std::string(value, n > 0 ? static_cast<size_t>(n) : 0), kEvmValue);
  struct stat st {};
  ASSERT_EQ(::stat((mnt + "/var").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_FALSE(std::filesystem::exists(mnt + "/lost+found"));
  EXPECT_TRUE(Unmount(mnt, false).ok());
  // The state folder keeps only its files and empty mount folders.
  EXPECT_TRUE(std::filesystem::is_empty(state_dir_ + "/slot-b"));
  EXPECT_TRUE(slots_->PendingCleanUp().empty());
}

TEST_F(BlockSlotsTest, ReadBackCatchesADroppedXattrAndTheOldSlotStays) {
  ASSERT_TRUE(Write(Image(hostname_)).ok());
  ASSERT_TRUE(slots_->Activate(StateFor("1.0")).ok());
  bootloader_.calls.clear();
  slots_->WrapWriterForTest([](std::unique_ptr<EntrySink> inner) {
    return std::make_unique<DroppingSink>(std::move(inner), "etc/hostname",
                                          "security.evm");
  });
  hostname_ = "image-2\n";
  Status written = Write(Image(hostname_));
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(written.error().message,
              HasSubstr("read-back of slot a (" + disk_.Partition(1) +
                        "): etc/hostname: security.evm is missing"));
  EXPECT_FALSE(slots_->Activate(StateFor("2.0")).ok());
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kB);
  EXPECT_EQ((*slots_->ReadState(SlotId::kB))->image_version, "1.0");
  EXPECT_FALSE(slots_->ReadState(SlotId::kA)->has_value());
  EXPECT_THAT(bootloader_.calls, ElementsAre("bad a"));
  EXPECT_TRUE(slots_->PendingCleanUp().empty());
  EXPECT_TRUE(slots_->CheckConsistency().empty());
}

TEST_F(BlockSlotsTest, ASecondInstallGoesToTheOtherSlot) {
  ASSERT_TRUE(Write(Image(hostname_)).ok());
  ASSERT_TRUE(slots_->Activate(StateFor("1.0")).ok());
  hostname_ = "image-2, longer\n";
  ASSERT_TRUE(Write(Image(hostname_)).ok());
  ASSERT_TRUE(slots_->Activate(StateFor("2.0")).ok());
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kA);
  EXPECT_EQ((*slots_->ReadState(SlotId::kA))->image_version, "2.0");
  EXPECT_EQ((*slots_->ReadState(SlotId::kB))->image_version, "1.0");
  EXPECT_THAT(bootloader_.calls,
              ElementsAre("bad b", "primary b", "bad a", "primary a"));
  // Back to the older slot, as a fallback would.
  EXPECT_TRUE(slots_->SetActive(SlotId::kB).ok());
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kB);
}

TEST_F(BlockSlotsTest, RewriteStateReplacesOnlyAnExistingRecord) {
  DeviceState state = StateFor("1.0");
  state.active_slot = "b";
  EXPECT_FALSE(slots_->RewriteState(SlotId::kB, state).ok());
  ASSERT_TRUE(Write(Image(hostname_)).ok());
  ASSERT_TRUE(slots_->Activate(StateFor("1.0")).ok());
  state.installed_at = 42;
  ASSERT_TRUE(slots_->RewriteState(SlotId::kB, state).ok());
  EXPECT_EQ((*slots_->ReadState(SlotId::kB))->installed_at, 42u);
  state.active_slot = "a";
  EXPECT_FALSE(slots_->RewriteState(SlotId::kB, state).ok());
  EXPECT_EQ(*slots_->ActiveSlot(), SlotId::kB);
}

TEST_F(BlockSlotsTest, ActivateNeedsAReadBackImage) {
  Status status = slots_->Activate(StateFor("1.0"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(slots_->SetActive(SlotId::kB).ok());
}

TEST_F(BlockSlotsTest, CleanUpRemovesWhatACrashLeaves) {
  std::filesystem::create_directory(state_dir_ + "/slot-b.imab-staging-x1y2z3");
  WriteFile(state_dir_ + "/active.imab-tmp-123", "b\n");
  WriteFile(state_dir_ + "/slot-b.state", "damaged");
  std::filesystem::remove(state_dir_ + "/slot-a");
  EXPECT_EQ(slots_->PendingCleanUp().size(), 4u);
  ASSERT_TRUE(slots_->CleanUp().ok());
  EXPECT_TRUE(slots_->PendingCleanUp().empty());
  EXPECT_FALSE(slots_->ReadState(SlotId::kB)->has_value());
  EXPECT_TRUE(std::filesystem::is_directory(state_dir_ + "/slot-a"));
}

TEST_F(BlockSlotsTest, AStateDirOnASlotPartitionIsRefused) {
  // The state folder on slot b's file system: what a device whose
  // state-dir sits on its root file system would have.
  ASSERT_EQ(std::system(("mkfs.ext4 -F -q " + disk_.Partition(2)).c_str()), 0);
  ASSERT_TRUE(EnterPrivateMountNamespace().ok());
  const std::string mnt = dir_.Sub("slot-b-root");
  std::filesystem::create_directory(mnt);
  ASSERT_TRUE(MountExt4(disk_.Partition(2), mnt, false).ok());
  Status refused = CheckStateDirOffSlots(mnt, slots_->PartitionOf(SlotId::kA),
                                         slots_->PartitionOf(SlotId::kB));
  EXPECT_TRUE(Unmount(mnt, false).ok());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message,
              HasSubstr("is on slot partition " + disk_.Partition(2)));
}

}  // namespace
}  // namespace imab::verifier

namespace imab::verifier {
namespace {

// mkfs.ext4 refusing an option: one line naming the device, the exit
// status and what mkfs said.
TEST(MakeExt4Test, AFailureNamesDeviceStatusAndMkfsMessage) {
  if (!testing::HaveTool("mkfs.ext4")) {
    GTEST_SKIP() << "mkfs.ext4 not installed (apt-get install e2fsprogs)";
  }
  testing::TempDir dir;
  const std::string image = dir.Sub("fs.img");
  testing::WriteFile(image, std::string(8u << 20, '\0'));
  Status made = MakeExt4(image, {"-O", "no_such_feature"});
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, ErrorCode::kIo);
  EXPECT_THAT(made.error().message,
              ::testing::StartsWith("mkfs.ext4 " + image + ": exit status "));
  EXPECT_THAT(made.error().message, ::testing::HasSubstr("no_such_feature"));
  EXPECT_EQ(made.error().message.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace imab::verifier
