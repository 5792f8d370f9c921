// The CA store stage over a folder rootfs: where generated entries go,
// what is dropped, kept and replaced, and one test per error the stage
// raises (option problems, strict-mode problems, --ca-require).
#include "builder/ca_store_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <map>

#include "common/read/image_tree.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/temp_dir.h"

namespace imab::builder {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::WriteFile;

class CaStoreStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Sub("rootfs");
    fs::create_directories(root_ + "/usr/share/ca-certificates/mozilla");
    fs::create_directories(root_ + "/usr/local/share/ca-certificates");
    fs::create_directories(root_ + "/etc");
    a_ = Pem("Root_A");
    b_ = Pem("Root_B");
    WriteFile(root_ + "/usr/share/ca-certificates/mozilla/Root_A.crt", a_);
    WriteFile(root_ + "/usr/share/ca-certificates/mozilla/Root_B.crt", b_);
    WriteFile(root_ + "/etc/ca-certificates.conf",
              "# comment\nmozilla/Root_A.crt\nmozilla/Root_B.crt\n");
    options_.now = static_cast<int64_t>(std::time(nullptr));
  }

  // Ten years by default, so only the tests that mean it are near expiry.
  std::string Pem(const std::string& name, testing::CertOptions o = {}) {
    if (o.not_after_offset == testing::CertOptions{}.not_after_offset) {
      o.not_after_offset = 10L * 365 * 24 * 3600;
    }
    o.common_name = name;
    return ReadFile(testing::MakeRootCa(dir_.Sub(""), name, o).cert_path);
  }

  Result<std::optional<CaStagePlan>> Plan() {
    return PlanCaStore(root_, options_, reporter_);
  }

  // Runs the wrapped source; entries by path, checking tree order.
  std::map<std::string, Entry> Walk(CaStagePlan plan) {
    auto inner = OpenRootfs(root_, reporter_);
    EXPECT_TRUE(inner.has_value());
    auto source = WrapWithCaStore(std::move(*inner), std::move(plan));
    std::map<std::string, Entry> out;
    ImageTree tree;
    std::vector<uint8_t> buf(1 << 16);
    while (true) {
      auto next = source->Next();
      EXPECT_TRUE(next.has_value()) << next.error().message;
      if (!next.has_value() || !next->has_value()) {
        break;
      }
      SourceEntry& se = **next;
      Status admitted = tree.Admit(se.entry);
      EXPECT_TRUE(admitted.ok()) << admitted.error().message;
      if (se.entry.type == EntryType::kFile) {
        std::string content;
        while (true) {
          auto n = se.content->Read(buf);
          EXPECT_TRUE(n.has_value());
          if (!n.has_value() || *n == 0) {
            break;
          }
          content.append(reinterpret_cast<const char*>(buf.data()), *n);
        }
        EXPECT_EQ(content.size(), se.entry.size) << se.entry.path;
        contents_[se.entry.path] = content;
      }
      out[se.entry.path] = se.entry;
    }
    return out;
  }

  void ExpectError(const std::string& needle) {
    auto plan = Plan();
    ASSERT_FALSE(plan.has_value()) << "planned; expected '" << needle << "'";
    EXPECT_THAT(plan.error().message, HasSubstr(needle));
  }

  testing::TempDir dir_;
  std::string root_;
  std::string a_, b_;
  CaStoreOptions options_;
  NullReporter reporter_;
  std::map<std::string, std::string> contents_;
};

TEST_F(CaStoreStageTest, CreatesTheStoreAndItsFoldersWhenMissing) {
  auto plan = Plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  ASSERT_TRUE(plan->has_value());
  EXPECT_EQ((*plan)->section.anchors.size(), 2u);
  auto entries = Walk(std::move(**plan));
  ASSERT_EQ(entries.count("etc/ssl"), 1u);
  EXPECT_EQ(entries["etc/ssl/certs"].type, EntryType::kDir);
  EXPECT_EQ(entries["etc/ssl/certs"].mode, 0755u);
  const Entry& link = entries["etc/ssl/certs/Root_A.pem"];
  EXPECT_EQ(link.type, EntryType::kSymlink);
  EXPECT_EQ(link.link_target, "/usr/share/ca-certificates/mozilla/Root_A.crt");
  EXPECT_EQ(link.uid, 0u);
  const Entry& bundle = entries["etc/ssl/certs/ca-certificates.crt"];
  EXPECT_EQ(bundle.type, EntryType::kFile);
  EXPECT_EQ(bundle.mode, 0644u);
  EXPECT_EQ(contents_["etc/ssl/certs/ca-certificates.crt"], a_ + b_);
  size_t hash_links = 0;
  for (const auto& [path, e] : entries) {
    hash_links += path.rfind("etc/ssl/certs/", 0) == 0 &&
                  e.type == EntryType::kSymlink &&
                  e.link_target.find('/') == std::string::npos;
  }
  EXPECT_EQ(hash_links, 2u);
}

TEST_F(CaStoreStageTest, DropsStaleEntriesAndKeepsOthers) {
  std::string certs = root_ + "/etc/ssl/certs";
  fs::create_directories(certs + "/java");
  fs::create_symlink("/usr/share/ca-certificates/mozilla/Old.crt",
                     certs + "/Old.pem");
  fs::create_symlink("Old.pem", certs + "/12345678.0");
  WriteFile(certs + "/ca-certificates.crt", "stale\n");
  std::string snake = Pem("snakeoil");
  WriteFile(certs + "/ssl-cert-snakeoil.pem", snake);
  WriteFile(certs + "/README", "kept\n");
  auto plan = Plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  auto entries = Walk(std::move(**plan));
  EXPECT_EQ(entries.count("etc/ssl/certs/Old.pem"), 0u);
  EXPECT_EQ(entries.count("etc/ssl/certs/12345678.0"), 0u);
  EXPECT_EQ(entries.count("etc/ssl/certs/java"), 1u);
  EXPECT_EQ(entries.count("etc/ssl/certs/README"), 1u);
  EXPECT_EQ(entries.count("etc/ssl/certs/ssl-cert-snakeoil.pem"), 1u);
  EXPECT_EQ(contents_["etc/ssl/certs/ca-certificates.crt"], a_ + b_);
  // A fresh run hashes the kept certificate too.
  bool snake_hashed = false;
  for (const auto& [path, e] : entries) {
    snake_hashed |= e.link_target == "ssl-cert-snakeoil.pem";
  }
  EXPECT_TRUE(snake_hashed);
}

TEST_F(CaStoreStageTest, AddsRemovesAndReplacesTheConf) {
  std::string extra = dir_.Sub("My Corp (Dev), Root.crt");
  WriteFile(extra, Pem("corp"));
  options_.add = {extra};
  options_.remove = {"Root_B"};
  auto plan = Plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  auto entries = Walk(std::move(**plan));
  EXPECT_EQ(contents_["etc/ca-certificates.conf"],
            "# comment\nmozilla/Root_A.crt\n!mozilla/Root_B.crt\n");
  EXPECT_EQ(entries.count("etc/ssl/certs/Root_B.pem"), 0u);
  EXPECT_EQ(
      entries["usr/local/share/ca-certificates/My Corp (Dev), Root.crt"].mode,
      0644u);
  EXPECT_EQ(entries["etc/ssl/certs/My_Corp_=Dev=__Root.pem"].link_target,
            "/usr/local/share/ca-certificates/My Corp (Dev), Root.crt");
  EXPECT_EQ(contents_["etc/ssl/certs/ca-certificates.crt"],
            a_ + ReadFile(extra));
}

TEST_F(CaStoreStageTest, CaConfReplacesTheConf) {
  std::string conf = dir_.Sub("conf");
  WriteFile(conf, "mozilla/Root_B.crt\n");
  options_.conf = conf;
  auto plan = Plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  auto entries = Walk(std::move(**plan));
  EXPECT_EQ(contents_["etc/ca-certificates.conf"], "mozilla/Root_B.crt\n");
  EXPECT_EQ(contents_["etc/ssl/certs/ca-certificates.crt"], b_);
}

TEST_F(CaStoreStageTest, LeavesAnImageWithoutInputsAlone) {
  fs::remove_all(root_ + "/usr");
  fs::remove(root_ + "/etc/ca-certificates.conf");
  auto plan = Plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_FALSE(plan->has_value());
  options_.policy.required = {"Root_A"};
  ExpectError("--ca-require: the image has no CA store inputs");
}

// A trimmed copy of a host (the benchmark rootfs) has the Mozilla folder
// but no conf: nothing selects, so the store is left as the image has it.
TEST_F(CaStoreStageTest, LeavesTheStoreAloneWithoutAConfToSelectFrom) {
  fs::remove(root_ + "/etc/ca-certificates.conf");
  fs::remove_all(root_ + "/usr/local");
  auto plan = Plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_FALSE(plan->has_value());
  // A local certificate is selected without a conf: then it is managed.
  fs::create_directories(root_ + "/usr/local/share/ca-certificates");
  WriteFile(root_ + "/usr/local/share/ca-certificates/Local.crt", Pem("Local"));
  plan = Plan();
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_TRUE(plan->has_value());
}

TEST_F(CaStoreStageTest, RefusesACaAddNotNamedCrt) {
  std::string extra = dir_.Sub("extra.pem");
  WriteFile(extra, Pem("extra"));
  options_.add = {extra};
  ExpectError("the name must end in .crt");
}

TEST_F(CaStoreStageTest, RefusesACaAddAlreadyInTheImage) {
  WriteFile(root_ + "/usr/local/share/ca-certificates/extra.crt", a_);
  std::string extra = dir_.Sub("extra.crt");
  WriteFile(extra, Pem("extra"));
  options_.add = {extra};
  ExpectError(
      "usr/local/share/ca-certificates/extra.crt is already in the "
      "image");
}

TEST_F(CaStoreStageTest, RefusesACaAddThatIsNotOneCertificate) {
  std::string extra = dir_.Sub("extra.crt");
  WriteFile(extra, a_ + b_);
  options_.add = {extra};
  ExpectError(
      "usr/local/share/ca-certificates/extra.crt: holds 2 "
      "certificates");
}

TEST_F(CaStoreStageTest, RefusesACaRemoveThatDeselectsNothing) {
  options_.remove = {"Nope"};
  ExpectError(
      "--ca-remove Nope: etc/ca-certificates.conf selects no "
      "certificate of that name");
}

TEST_F(CaStoreStageTest, RefusesACaRemoveOfALastLineTheScriptIgnores) {
  WriteFile(root_ + "/etc/ca-certificates.conf",
            "mozilla/Root_A.crt\nmozilla/Root_B.crt");
  options_.remove = {"Root_B"};
  ExpectError(
      "--ca-remove Root_B: etc/ca-certificates.conf selects no "
      "certificate of that name");
}

TEST_F(CaStoreStageTest, RefusesAConfEntryNamingAMissingFileUnlessLenient) {
  WriteFile(root_ + "/etc/ca-certificates.conf",
            "mozilla/Root_A.crt\nmozilla/Gone.crt\n");
  ExpectError(
      "etc/ca-certificates.conf line 2: "
      "usr/share/ca-certificates/mozilla/Gone.crt not found");
  options_.lenient = true;
  auto plan = Plan();
  EXPECT_TRUE(plan.has_value());
}

TEST_F(CaStoreStageTest, RefusesAFolderWhereTheStorePutsAFile) {
  fs::create_directories(root_ + "/etc/ssl/certs/ca-certificates.crt");
  ExpectError(
      "etc/ssl/certs/ca-certificates.crt: a folder where the CA "
      "store puts a file");
}

TEST_F(CaStoreStageTest, RequiresANamedAnchor) {
  options_.policy.required = {"Root_A.pem", "Root_B"};
  EXPECT_TRUE(Plan().has_value());
  options_.remove = {"Root_B"};
  ExpectError("--ca-require: required CA Root_B is not in the CA store");
}

TEST_F(CaStoreStageTest, RequiresAnAnchorGivenAsAFile) {
  std::string other = dir_.Sub("other.pem");
  WriteFile(other, Pem("other"));
  options_.policy.required = {other};
  ExpectError("required CA " + other + " is not in the CA store");
}

TEST_F(CaStoreStageTest, RefusesARequiredAnchorExpiringWithinTheHorizon) {
  testing::CertOptions soon;
  soon.not_after_offset = 10L * 24 * 3600;
  WriteFile(root_ + "/usr/local/share/ca-certificates/soon.crt",
            Pem("soon", soon));
  options_.policy.required = {"soon"};
  ExpectError(
      "required CA soon (soon.pem, O=imabundle tests, CN=soon) expires on");
  options_.policy.expiry_horizon_days = 5;
  EXPECT_TRUE(Plan().has_value());
}

TEST_F(CaStoreStageTest, RefusesAnExpiredRequiredAnchor) {
  testing::CertOptions old;
  old.not_before_offset = -7200;
  old.not_after_offset = -3600;
  WriteFile(root_ + "/usr/local/share/ca-certificates/old.crt",
            Pem("old", old));
  options_.policy.required = {"old"};
  options_.policy.expiry_horizon_days = 0;
  ExpectError(
      "required CA old (old.pem, O=imabundle tests, CN=old) expired on");
}

}  // namespace
}  // namespace imab::builder
