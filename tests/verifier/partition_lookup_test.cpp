// LookUpPartition against real partitions: a GPT image on a loop device
// (root only; skipped elsewhere).
#include "verifier/slots/partition_lookup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "tests/testutil/loop_device.h"
#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using ::imab::testing::LoopDisk;
using ::testing::HasSubstr;

std::string Upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return text;
}

class PartitionLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testing::BlockTestsUnavailable()) {
      GTEST_SKIP() << *why;
    }
    // Labels unique to this run: another disk may carry "imab-a".
    label_ = "imab-lookup-" + std::to_string(::getpid());
    if (auto why = disk_.Attach(dir_.Sub("disk.img"),
                                {{label_ + "-a", 4}, {label_ + "-b", 4}})) {
      GTEST_SKIP() << *why;
    }
  }

  dev_t RdevOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_rdev;
  }

  testing::TempDir dir_;
  LoopDisk disk_;
  std::string label_;
};

TEST_F(PartitionLookupTest, DevicePathIsTakenAsIs) {
  Result<Partition> part = LookUpPartition(disk_.Partition(2));
  ASSERT_TRUE(part.has_value()) << part.error().message;
  EXPECT_EQ(part->path, disk_.Partition(2));
  EXPECT_EQ(part->rdev, RdevOf(disk_.Partition(2)));
}

TEST_F(PartitionLookupTest, PartLabelFindsItsPartition) {
  Result<Partition> part = LookUpPartition("PARTLABEL=" + label_ + "-b");
  ASSERT_TRUE(part.has_value()) << part.error().message;
  EXPECT_EQ(part->path, disk_.Partition(2));
  EXPECT_EQ(part->spelling, "PARTLABEL=" + label_ + "-b");
}

TEST_F(PartitionLookupTest, PartUuidFindsItsPartitionInEitherCase) {
  for (const std::string& uuid :
       {disk_.PartUuid(1), Upper(disk_.PartUuid(1))}) {
    Result<Partition> part = LookUpPartition("PARTUUID=" + uuid);
    ASSERT_TRUE(part.has_value()) << part.error().message;
    EXPECT_EQ(part->path, disk_.Partition(1));
    EXPECT_EQ(part->rdev, RdevOf(disk_.Partition(1)));
  }
}

TEST_F(PartitionLookupTest, ErrorsNameTheSpelling) {
  Result<Partition> label = LookUpPartition("PARTLABEL=" + label_ + "-c");
  ASSERT_FALSE(label.has_value());
  EXPECT_EQ(label.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(label.error().message,
              HasSubstr("slot PARTLABEL=" + label_ + "-c: no partition"));
  Result<Partition> uuid =
      LookUpPartition("PARTUUID=00000000-0000-0000-0000-000000000000");
  ASSERT_FALSE(uuid.has_value());
  EXPECT_THAT(uuid.error().message,
              HasSubstr("PARTUUID=00000000-0000-0000-0000-000000000000"));
  Result<Partition> file = LookUpPartition(dir_.Sub("disk.img"));
  ASSERT_FALSE(file.has_value());
  EXPECT_THAT(file.error().message, HasSubstr("not a block device"));
  Result<Partition> missing = LookUpPartition("/dev/imab-no-such-disk");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message,
              HasSubstr("/dev/imab-no-such-disk: No such file"));
  EXPECT_FALSE(LookUpPartition("LABEL=root").has_value());
  EXPECT_FALSE(LookUpPartition("PARTUUID=").has_value());
}

TEST_F(PartitionLookupTest, AClonedDiskMakesALabelAmbiguous) {
  testing::LoopDisk clone;
  // A second disk with the same labels, as a cloned image would carry.
  if (auto why = clone.Attach(dir_.Sub("clone.img"),
                              {{label_ + "-a", 4}, {label_ + "-b", 4}})) {
    GTEST_SKIP() << *why;
  }
  Result<Partition> part = LookUpPartition("PARTLABEL=" + label_ + "-a");
  ASSERT_FALSE(part.has_value());
  EXPECT_THAT(part.error().message, HasSubstr("matches both"));
}

}  // namespace
}  // namespace imab::verifier
