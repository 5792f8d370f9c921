// Corruption sweep (leveldb db/corruption_test.cc in spirit): every byte of
// the manifest and signature flipped, 500+ payload positions, truncation at
// every 4 KiB and at every byte of the first and last 4 KiB. Each must be
// rejected, and extraction must leave nothing behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "builder/bundle_builder.h"
#include "common/read/bundle_container.h"
#include "tests/testutil/bundle_fixture.h"
#include "tests/testutil/memory_byte_source.h"
#include "tests/testutil/sample_tree.h"
#include "tests/testutil/trust_inputs.h"
#include "verifier/bundle/bundle_verifier.h"
#include "verifier/slots/directory_sink.h"

namespace imab::testing {
namespace {

namespace fs = std::filesystem;

class CorruptionTest : public ::testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<ReleaseKeys>(dir_.Sub(""), GetParam());
    std::string rootfs = dir_.Sub("rootfs");
    SampleTreeOptions small;
    small.big_file_bytes = 20000;
    MakeSampleTree(rootfs, small);
    builder::BuildOptions options;
    options.rootfs = rootfs;
    options.image_version = "1.0";
    options.compatible = "test-board";
    options.signing_key = keys_->signer().key_path;
    options.signing_cert = keys_->signer().cert_path;
    options.output = dir_.Sub("good.imab");
    options.created = 1700000000;
    NullReporter reporter;
    auto built = builder::BuildBundle(options, reporter);
    ASSERT_TRUE(built.has_value()) << built.error().message;
    good_ = ReadFile(options.output);
    MemoryByteSource source(std::vector<uint8_t>(good_.begin(), good_.end()));
    auto layout = ReadBundleLayout(source);
    ASSERT_TRUE(layout.has_value());
    layout_ = *layout;
    fs::create_directories(dir_.Sub("out"));
  }

  // True when `bytes` is rejected by extract, with nothing left behind.
  ::testing::AssertionResult Rejected(const std::string& bytes) {
    std::string path = dir_.Sub("case.imab");
    WriteFile(path, bytes);
    NullReporter reporter;
    auto sink = verifier::DirectorySink::Create(dir_.Sub("out/tree"), reporter);
    if (!sink.has_value()) {
      return ::testing::AssertionFailure() << sink.error().message;
    }
    verifier::VerifyReport report;
    Status s =
        testing::VerifyFiles(path, keys_->ca().cert_path, **sink, report);
    if (!fs::is_empty(dir_.Sub("out"))) {
      fs::remove_all(dir_.Sub("out"));
      fs::create_directories(dir_.Sub("out"));
      return ::testing::AssertionFailure()
             << (s.ok() ? "accepted" : "rejected") << " with files left behind";
    }
    if (s.ok()) {
      return ::testing::AssertionFailure() << "accepted";
    }
    if (!IsVerificationFailure(s.error().code)) {
      return ::testing::AssertionFailure()
             << "not a verification failure: " << s.error().message;
    }
    return ::testing::AssertionSuccess();
  }

  void SweepFlips(uint64_t begin, uint64_t end, uint64_t step) {
    for (uint64_t pos = begin; pos < end; pos += step) {
      std::string bad = good_;
      bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
      EXPECT_TRUE(Rejected(bad))
          << "flip at offset " << pos << " (signature byte "
          << static_cast<int64_t>(pos - layout_.signature_offset)
          << ", payload byte "
          << static_cast<int64_t>(pos - layout_.payload_offset) << ")";
    }
  }

  TempDir dir_;
  std::unique_ptr<ReleaseKeys> keys_;
  std::string good_;
  BundleLayout layout_;
};

TEST_P(CorruptionTest, TheUntouchedBundleIsAccepted) {
  EXPECT_FALSE(Rejected(good_));
}

TEST_P(CorruptionTest, EveryManifestByteFlipped) {
  SweepFlips(layout_.manifest_offset,
             layout_.manifest_offset + layout_.manifest_size, 1);
}

TEST_P(CorruptionTest, EverySignatureByteFlipped) {
  SweepFlips(layout_.signature_offset,
             layout_.signature_offset + layout_.signature_size, 1);
}

TEST_P(CorruptionTest, FiveHundredPayloadPositionsFlipped) {
  uint64_t step = std::max<uint64_t>(1, layout_.payload_size / 600);
  SweepFlips(layout_.payload_offset,
             layout_.payload_offset + layout_.payload_size, step);
  EXPECT_GE(layout_.payload_size / step, 500u);
}

TEST_P(CorruptionTest, EveryHeaderAndPaddingByteFlipped) {
  SweepFlips(0, layout_.manifest_offset, 1);
  SweepFlips(layout_.manifest_offset + layout_.manifest_size,
             layout_.signature_offset, 1);
  SweepFlips(layout_.signature_offset + layout_.signature_size,
             layout_.payload_offset, 1);
  SweepFlips(layout_.payload_offset + layout_.payload_size, good_.size(), 1);
}

TEST_P(CorruptionTest, TruncatedEverywhere) {
  const size_t size = good_.size();
  for (size_t len = 0; len < size; ++len) {
    bool head = len < 4096;
    bool tail = len + 4096 >= size;
    if (head || tail || len % 4096 == 0) {
      EXPECT_TRUE(Rejected(good_.substr(0, len))) << "truncated to " << len;
    }
  }
}

TEST_P(CorruptionTest, BytesAppended) {
  for (const std::string& tail :
       {std::string(1, '\0'), std::string(512, '\0'), std::string(1024, '\0'),
        std::string("garbage")}) {
    EXPECT_TRUE(Rejected(good_ + tail)) << tail.size() << " bytes appended";
  }
}

INSTANTIATE_TEST_SUITE_P(
    SignerKeys, CorruptionTest,
    ::testing::Values(KeyType::kEcP256, KeyType::kRsa2048),
    [](const ::testing::TestParamInfo<KeyType>& param_info) {
      return param_info.param == KeyType::kEcP256 ? std::string("EcP256")
                                                  : std::string("Rsa2048");
    });

}  // namespace
}  // namespace imab::testing
