// One test per way a bundle can be bad (issue "Bad input" list): each makes
// exactly one check fail, and extraction leaves nothing behind.
#include "verifier/bundle/bundle_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/read/limits.h"
#include "common/read/tar_header.h"
#include "tests/testutil/bundle_forge.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/trust_inputs.h"
#include "verifier/slots/directory_sink.h"

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;
using testing::Dir;
using testing::File;
using testing::ForgedBundle;
using testing::ForgedEntry;
using testing::Hardlink;
using testing::Symlink;

constexpr uint64_t kCreated = 1700000000;

class BundleVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = testing::MakeRootCa(dir_.Sub(""), "ca");
    signer_ = testing::MakeIssued(dir_.Sub(""), "signer", ca_);
  }

  std::vector<ForgedEntry> GoodEntries() {
    return {Dir("etc"),
            File("etc/hostname", "device\n"),
            Symlink("etc/link", "hostname"),
            Dir("usr"),
            Dir("usr/lib"),
            File("usr/lib/libc.so.6", std::string(5000, 'c'), 0755),
            Hardlink("usr/lib/libc-hard", "usr/lib/libc.so.6")};
  }

  // Verifies `bytes` as a bundle file and extracts it; both must agree.
  // Returns the extraction status, after checking nothing was left behind.
  Status Check(const std::string& bytes) {
    std::string bundle = dir_.Sub("b.imab");
    testing::WriteFile(bundle, bytes);
    NullSink null_sink;
    VerifyReport report;
    Status verified =
        testing::VerifyFiles(bundle, ca_.cert_path, null_sink, report);

    std::string out_parent = dir_.Sub("out");
    fs::create_directories(out_parent);
    NullReporter reporter;
    auto sink = DirectorySink::Create(out_parent + "/tree", reporter);
    EXPECT_TRUE(sink.has_value());
    VerifyReport report2;
    Status extracted =
        testing::VerifyFiles(bundle, ca_.cert_path, **sink, report2);
    EXPECT_EQ(verified.ok(), extracted.ok());
    if (!extracted.ok()) {
      EXPECT_TRUE(fs::is_empty(out_parent)) << "left behind after rejection";
      EXPECT_EQ(verified.error().message, extracted.error().message);
    }
    fs::remove_all(out_parent);
    return extracted;
  }

  void ExpectRejected(const std::string& bytes, const std::string& needle,
                      ErrorCode code = ErrorCode::kMalformed) {
    Status s = Check(bytes);
    ASSERT_FALSE(s.ok()) << "accepted: expected '" << needle << "'";
    EXPECT_EQ(s.error().code, code) << s.error().message;
    EXPECT_THAT(s.error().message, HasSubstr(needle));
    EXPECT_THAT(s.error().message, Not(HasSubstr("\n")));
  }

  // A signed bundle whose manifest describes `manifest_entries` and whose
  // payload holds `payload_entries`.
  std::string Mismatched(std::vector<ForgedEntry> manifest_entries,
                         std::vector<ForgedEntry> payload_entries,
                         const std::string& tail = "") {
    testing::FillDigests(manifest_entries);
    testing::FillDigests(payload_entries);
    ForgedBundle b;
    b.payload =
        testing::Compress(testing::EncodePayloadTar(payload_entries, kCreated) +
                          std::string(kTarEndBytes, '\0') + tail);
    b.manifest = testing::EncodeManifest(manifest_entries, b.payload, kCreated);
    b.signature = testing::SignWith(b.manifest, signer_);
    return testing::Assemble(b, kCreated);
  }

  std::string Good() {
    return testing::Assemble(testing::Forge(GoodEntries(), signer_, kCreated),
                             kCreated);
  }

  testing::TempDir dir_;
  testing::TestIdentity ca_;
  testing::TestIdentity signer_;
};

TEST_F(BundleVerifierTest, AcceptsAGoodBundleAndExtractsIt) {
  EXPECT_TRUE(Check(Good()).ok());
}

TEST_F(BundleVerifierTest, RejectsAnEmptyFile) {
  ExpectRejected("", "too short");
}

TEST_F(BundleVerifierTest, RejectsADirectoryAsUsageError) {
  NullSink sink;
  VerifyReport report;
  Status s = testing::VerifyFiles(dir_.Sub(""), ca_.cert_path, sink, report);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(IsVerificationFailure(s.error().code));
}

TEST_F(BundleVerifierTest, RejectsAppendedBytes) {
  ExpectRejected(Good() + "x", "after the end");
}

TEST_F(BundleVerifierTest, RejectsAnUnsignedBundle) {
  ForgedBundle b = testing::Forge(GoodEntries(), signer_, kCreated);
  b.signature.clear();
  ExpectRejected(testing::Assemble(b, kCreated), "signature",
                 ErrorCode::kMalformed);
}

TEST_F(BundleVerifierTest, RejectsAnExtraOuterMember) {
  ForgedBundle b = testing::Forge(GoodEntries(), signer_, kCreated);
  std::string sig(b.signature.begin(), b.signature.end());
  ExpectRejected(testing::OuterTar({{"manifest", b.manifest},
                                    {"manifest.sig", sig},
                                    {"payload.tar.zst", b.payload},
                                    {"extra", "x"}},
                                   kCreated),
                 "container");
}

TEST_F(BundleVerifierTest, RejectsAMissingOuterMember) {
  ForgedBundle b = testing::Forge(GoodEntries(), signer_, kCreated);
  std::string sig(b.signature.begin(), b.signature.end());
  ExpectRejected(
      testing::OuterTar(
          {{"manifest", b.manifest}, {"payload.tar.zst", b.payload}}, kCreated),
      "container");
}

TEST_F(BundleVerifierTest, RejectsARenamedOuterMember) {
  ForgedBundle b = testing::Forge(GoodEntries(), signer_, kCreated);
  std::string sig(b.signature.begin(), b.signature.end());
  ExpectRejected(testing::OuterTar({{"manifest", b.manifest},
                                    {"manifest.sig", sig},
                                    {"payload.tar.gz", b.payload}},
                                   kCreated),
                 "container");
}

TEST_F(BundleVerifierTest, RejectsReorderedOuterMembers) {
  ForgedBundle b = testing::Forge(GoodEntries(), signer_, kCreated);
  std::string sig(b.signature.begin(), b.signature.end());
  ExpectRejected(testing::OuterTar({{"manifest.sig", sig},
                                    {"manifest", b.manifest},
                                    {"payload.tar.zst", b.payload}},
                                   kCreated),
                 "container");
}

TEST_F(BundleVerifierTest, RejectsASignerThatDoesNotChainToTheReleaseCa) {
  testing::TestIdentity other_ca = testing::MakeRootCa(dir_.Sub(""), "other");
  testing::TestIdentity other =
      testing::MakeIssued(dir_.Sub(""), "other-signer", other_ca);
  ExpectRejected(testing::Assemble(
                     testing::Forge(GoodEntries(), other, kCreated), kCreated),
                 "signature", ErrorCode::kBadSignature);
}

TEST_F(BundleVerifierTest, RejectsAnExpiredSigner) {
  testing::CertOptions expired;
  expired.not_before_offset = -7200;
  expired.not_after_offset = -3600;
  testing::TestIdentity old =
      testing::MakeIssued(dir_.Sub(""), "expired", ca_, expired);
  ExpectRejected(
      testing::Assemble(testing::Forge(GoodEntries(), old, kCreated), kCreated),
      "expired", ErrorCode::kBadSignature);
}

TEST_F(BundleVerifierTest, RejectsAMissingPayloadEntry) {
  auto payload = GoodEntries();
  payload.erase(payload.begin() + 1);  // etc/hostname
  ExpectRejected(Mismatched(GoodEntries(), payload), "entry 1 'etc/hostname'");
}

TEST_F(BundleVerifierTest, RejectsAnExtraPayloadEntry) {
  auto payload = GoodEntries();
  payload.push_back(File("etc/extra", "x"));
  ExpectRejected(Mismatched(GoodEntries(), payload), "end-of-archive");
}

TEST_F(BundleVerifierTest, RejectsADuplicatedPayloadEntry) {
  auto payload = GoodEntries();
  payload.insert(payload.begin() + 2, payload[1]);
  ExpectRejected(Mismatched(GoodEntries(), payload), "entry 2 'etc/link'");
}

TEST_F(BundleVerifierTest, RejectsReorderedPayloadEntries) {
  auto payload = GoodEntries();
  std::swap(payload[1], payload[2]);
  ExpectRejected(Mismatched(GoodEntries(), payload), "entry 1 'etc/hostname'");
}

TEST_F(BundleVerifierTest, RejectsADuplicateManifestRecord) {
  auto entries = GoodEntries();
  entries.insert(entries.begin() + 2, entries[1]);
  ExpectRejected(Mismatched(entries, entries), "duplicate entry");
}

TEST_F(BundleVerifierTest, RejectsAManifestRecordThatDisagreesInEachField) {
  struct Case {
    const char* field;
    void (*change)(Entry&);
  };
  const Case cases[] = {
      {"mode", [](Entry& e) { e.mode = 0600; }},
      {"uid", [](Entry& e) { e.uid = 7; }},
      {"gid", [](Entry& e) { e.gid = 7; }},
      {"xattr",
       [](Entry& e) {
         e.xattrs.push_back({"user.x", "1"});
       }},
      {"path", [](Entry& e) { e.path = "usr/lib/libd.so.6"; }},
  };
  for (const Case& c : cases) {
    auto payload = GoodEntries();
    auto manifest = GoodEntries();
    c.change(manifest[5].entry);
    ExpectRejected(Mismatched(manifest, payload), c.field);
  }
  // Content, size and link target.
  auto manifest = GoodEntries();
  manifest[5].content[10] = 'X';
  ExpectRejected(Mismatched(manifest, GoodEntries()), "content SHA-256",
                 ErrorCode::kDigestMismatch);
  manifest = GoodEntries();
  manifest[5].content += "more";
  ExpectRejected(Mismatched(manifest, GoodEntries()), "size");
  manifest = GoodEntries();
  manifest[2].entry.link_target = "elsewhere";
  ExpectRejected(Mismatched(manifest, GoodEntries()), "link target");
  manifest = GoodEntries();
  manifest[2] = Dir("etc/link");
  ExpectRejected(Mismatched(manifest, GoodEntries()), "type");
}

TEST_F(BundleVerifierTest, RejectsAnAbsolutePath) {
  auto entries = GoodEntries();
  entries.push_back(File("/etc/passwd", "x"));
  ExpectRejected(Mismatched(entries, entries), "absolute");
}

TEST_F(BundleVerifierTest, RejectsDotDot) {
  auto entries = GoodEntries();
  entries.push_back(File("etc/../../evil", "x"));
  ExpectRejected(Mismatched(entries, entries), "'..'");
}

TEST_F(BundleVerifierTest, RejectsAPathThroughASymlink) {
  auto entries = GoodEntries();
  entries.push_back(Symlink("escape", "/"));
  entries.push_back(File("escape/evil", "x"));
  ExpectRejected(Mismatched(entries, entries), "is a symlink");
}

TEST_F(BundleVerifierTest, RejectsAHardlinkToALaterPath) {
  auto entries = GoodEntries();
  entries.insert(entries.begin() + 1, Hardlink("etc/early", "etc/hostname"));
  ExpectRejected(Mismatched(entries, entries), "not an earlier regular file");
}

TEST_F(BundleVerifierTest, RejectsAnEntryTypeTheFormatDoesNotAllow) {
  // A "socket" record cannot be spelled; a payload header with typeflag 7
  // (contiguous file) must not match a file record.
  ForgedBundle b = testing::Forge(GoodEntries(), signer_, kCreated);
  std::string manifest = b.manifest;
  size_t at = manifest.find("\nfile etc/hostname");
  ASSERT_NE(at, std::string::npos);
  manifest.replace(at + 1, 4, "sock");
  b.manifest = manifest;
  b.signature = testing::SignWith(manifest, signer_);
  ExpectRejected(testing::Assemble(b, kCreated), "manifest line");
}

TEST_F(BundleVerifierTest, RejectsAFieldOverALimit) {
  auto entries = GoodEntries();
  entries.push_back(File("etc/" + std::string(300, 'a'), "x"));
  Status s = Check(Mismatched(entries, entries));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kLimitExceeded) << s.error().message;
}

TEST_F(BundleVerifierTest, RejectsAnXattrOverTheLimit) {
  auto entries = GoodEntries();
  entries[1].entry.xattrs.push_back(
      {"user.big", std::string(kMaxXattrValueBytes + 1, 'v')});
  Status s = Check(Mismatched(entries, entries));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kLimitExceeded) << s.error().message;
}

TEST_F(BundleVerifierTest, RejectsADecompressionBomb) {
  // 64 MiB of zeros after the end blocks compress to a few KiB; the
  // verifier must stop at the first byte the manifest does not account for.
  ExpectRejected(
      Mismatched(GoodEntries(), GoodEntries(), std::string(64u << 20, '\0')),
      "payload");
}

TEST_F(BundleVerifierTest, RejectsAPayloadSizeDifferentFromTheManifest) {
  ForgedBundle b = testing::Forge(GoodEntries(), signer_, kCreated);
  b.payload += std::string(1, '\0');
  ExpectRejected(testing::Assemble(b, kCreated), "payload");
}

}  // namespace
}  // namespace imab::verifier
