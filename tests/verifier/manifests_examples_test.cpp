// The examples under manifests/ are read by the code they document: an
// example that drifts from what the verifier accepts fails here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/read/byte_source.h"
#include "common/read/integrity_check.h"
#include "common/read/manifest_reader.h"
#include "tests/testutil/memory_byte_source.h"
#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"
#include "verifier/device/device_config.h"
#include "verifier/trust/ima_policy.h"

namespace imab::verifier {
namespace {

using imab::testing::ReadFile;
using imab::testing::SourceDir;
using imab::testing::TempDir;
using ::testing::HasSubstr;

std::filesystem::path ManifestsDir() {
  return std::filesystem::path(SourceDir()) / "manifests";
}

ImaPolicy LoadExamplePolicy(const std::string& name) {
  std::filesystem::path path = ManifestsDir() / "ima-policy" / name;
  // Parsed as the kernels the grammar was taken from read it.
  for (KernelVersion version : {KernelVersion{6, 1}, KernelVersion{6, 12}}) {
    PolicyContext context;
    context.grammar.version = version;
    EXPECT_TRUE(
        ImaPolicy::Parse(ReadFile(path), path.string(), context).has_value());
  }
  Result<ImaPolicy> policy = ImaPolicy::Parse(ReadFile(path), path.string());
  EXPECT_TRUE(policy.has_value()) << policy.error().message;
  return policy.has_value() ? *policy : ImaPolicy();
}

TEST(ManifestsExamplesTest, AppraiseTcbPolicyMatchesTheBuiltInOne) {
  ImaPolicy written = LoadExamplePolicy("appraise-tcb.policy");
  ImaPolicy built_in = ImaPolicy::AppraiseTcb();
  for (uint32_t owner : {0u, 1u, 33u, 1000u, 65534u}) {
    for (uint32_t group : {0u, 5u, 1000u}) {
      Appraisal a = written.Evaluate(owner, group);
      Appraisal b = built_in.Evaluate(owner, group);
      EXPECT_EQ(a.appraised, b.appraised) << owner << ":" << group;
      EXPECT_EQ(a.signature_required, b.signature_required)
          << owner << ":" << group;
    }
  }
  EXPECT_TRUE(written.Evaluate(0, 1000).appraised);
  EXPECT_FALSE(written.Evaluate(1000, 0).appraised);
}

TEST(ManifestsExamplesTest, SignedRootfsPolicyExemptsOnlyTheDataOwner) {
  ImaPolicy policy = LoadExamplePolicy("signed-rootfs.policy");
  Appraisal root = policy.Evaluate(0, 0);
  EXPECT_TRUE(root.appraised);
  EXPECT_TRUE(root.signature_required);
  // Executables of another system user are exec'd and mapped: the
  // BPRM_CHECK rule demands a signature.
  Entry tool;
  tool.path = "usr/sbin/daemon";
  tool.mode = 0755;
  tool.uid = tool.gid = 1;
  Appraisal daemon = policy.Evaluate(tool);
  EXPECT_TRUE(daemon.appraised);
  EXPECT_TRUE(daemon.signature_required);
  EXPECT_THAT(daemon.rule, HasSubstr("BPRM_CHECK"));
  // Its plain files are appraised where they can be mapped executable
  // (ima_file_mmap() takes any file mapped PROT_EXEC), and only there.
  Appraisal plain = policy.Evaluate(1, 1);
  EXPECT_TRUE(plain.appraised);
  EXPECT_TRUE(plain.signature_required);
  ASSERT_EQ(plain.hooks.size(), 1u);
  EXPECT_EQ(plain.hooks[0].access.hook, PolicyHook::kMmapCheck);
  Appraisal data = policy.Evaluate(1000, 1000);
  EXPECT_FALSE(data.appraised);
  tool.uid = tool.gid = 1000;
  EXPECT_FALSE(policy.Evaluate(tool).appraised);
}

TEST(ManifestsExamplesTest, ExampleDeviceConfLoads) {
  TempDir root;
  std::filesystem::create_directories(root.path() / "etc/imabundle");
  std::filesystem::copy_file(ManifestsDir() / "examples/device.conf",
                             root.path() / kDeviceConfigPath);
  Result<DeviceConfig> config = LoadDeviceConfig(root.path().string());
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->compatible, "acme-gateway-v2");
  EXPECT_EQ(config->ima_policy, "etc/ima/signed-rootfs.policy");
  EXPECT_EQ(config->rootfs.magic, std::optional<uint64_t>(0xef53));
  EXPECT_EQ(config->trust_root, "etc/imabundle/trust-root");
  EXPECT_TRUE(config->release_require_eku);
  EXPECT_EQ(config->ca_expiry_horizon_days, 90u);
  EXPECT_EQ(config->initramfs, InitramfsSource::kImage);
  EXPECT_EQ(config->required_anchors,
            std::vector<std::string>{"ISRG_Root_X1.pem"});
  // The example's critical files come on top of the defaults.
  ASSERT_EQ(config->critical.size(), DefaultCriticalFiles().size() + 2);
  EXPECT_EQ(config->critical.back(), "usr/lib/*/libssl.so.*");
  // The policy it names is one of the examples and parses.
  EXPECT_TRUE(std::filesystem::exists(
      ManifestsDir() / "ima-policy" /
      std::filesystem::path(config->ima_policy).filename()));
}

// The example release manifests (scripts/make-example-manifests.sh) parse
// with the current reader to their last byte, and every file's signatures
// verify under the certificates the manifest itself declares over the
// digests and metadata it pins: the examples are real, not illustrations.
class ExampleManifestTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ExampleManifestTest, ParsesAndEverySignatureVerifies) {
  std::string text = ReadFile(ManifestsDir() / "examples" / GetParam());
  ASSERT_FALSE(text.empty());
  MemoryByteSource source(std::vector<uint8_t>(text.begin(), text.end()));
  Result<std::unique_ptr<ManifestReader>> reader =
      ManifestReader::Open(source, 0, text.size());
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  const ManifestHeader& header = (*reader)->header();
  EXPECT_EQ(header.compatible, "demo-board");
  ASSERT_TRUE(header.ima.has_value());
  ASSERT_TRUE(header.keys.has_value());
  Result<ImaChecker> checker = ImaChecker::Create(header.ima);
  ASSERT_TRUE(checker.has_value()) << checker.error().message;
  EXPECT_EQ(checker->certificate_count(), 1u);

  uint64_t entries = 0;
  uint64_t signed_files = 0;
  std::vector<IntegrityFailure> failures;
  for (;;) {
    Result<std::optional<Entry>> next = (*reader)->Next();
    ASSERT_TRUE(next.has_value()) << next.error().message;
    if (!next->has_value()) {
      break;
    }
    const Entry& entry = **next;
    ++entries;
    if (entry.type == EntryType::kFile && !entry.xattrs.empty()) {
      ASSERT_EQ(checker->ContentDigestAlgo(entry), HashAlgo::kSha256)
          << entry.path;
      checker->Check(entry, entry.sha256, &failures);
      ++signed_files;
    }
  }
  EXPECT_EQ(entries, header.entry_count);
  EXPECT_GE(signed_files, 10u);
  for (const IntegrityFailure& f : failures) {
    ADD_FAILURE() << f.path << " " << f.xattr << ": " << f.reason;
  }
  Result<Sha256Digest> digest = (*reader)->Finish();
  EXPECT_TRUE(digest.has_value()) << digest.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Examples, ExampleManifestTest,
    ::testing::Values("factory-1.0.0.manifest", "rotation-1.1.0.manifest"),
    [](const auto& example) {
      return std::string(example.param).starts_with("factory")
                 ? std::string("Factory")
                 : std::string("Rotation");
    });

}  // namespace
}  // namespace imab::verifier
