// One test per check of CaStoreCheck: a consistent store passes, and each
// test breaks exactly one thing the check must notice.
#include "verifier/bundle/ca_store_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "common/read/limits.h"
#include "tests/testutil/pki.h"
#include "tests/testutil/temp_dir.h"

namespace imab::verifier {
namespace {

using ::testing::HasSubstr;

struct Item {
  Entry entry;
  std::string content;
};

Item Dir(const std::string& path) {
  Item i;
  i.entry.path = path;
  i.entry.type = EntryType::kDir;
  i.entry.mode = 0755;
  return i;
}

Item File(const std::string& path, const std::string& content) {
  Item i;
  i.entry.path = path;
  i.entry.type = EntryType::kFile;
  i.entry.mode = 0644;
  i.content = content;
  return i;
}

Item Link(const std::string& path, const std::string& target) {
  Item i;
  i.entry.path = path;
  i.entry.type = EntryType::kSymlink;
  i.entry.mode = 0777;
  i.entry.link_target = target;
  return i;
}

const std::string kMozilla = "usr/share/ca-certificates/mozilla/";
const std::string kCerts = "etc/ssl/certs/";

class CaStoreCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = ReadPem("Root A");
    b_ = ReadPem("Root B");
    c_ = ReadPem("Local C");
    inputs_ = {
        Dir("etc"),
        File("etc/ca-certificates.conf", "mozilla/A.crt\nmozilla/B.crt\n"),
        Dir("etc/ssl"),
        Dir("etc/ssl/certs"),
        Dir("usr"),
        Dir("usr/local"),
        Dir("usr/local/share"),
        Dir("usr/local/share/ca-certificates"),
        File("usr/local/share/ca-certificates/C.crt", c_),
        Dir("usr/share"),
        Dir("usr/share/ca-certificates"),
        Dir("usr/share/ca-certificates/mozilla"),
        File(kMozilla + "A.crt", a_),
        File(kMozilla + "B.crt", b_)};
    CaInputs in;
    in.conf = "mozilla/A.crt\nmozilla/B.crt\n";
    in.dirs = {"usr/share/ca-certificates", "usr/share/ca-certificates/mozilla",
               "usr/local/share/ca-certificates"};
    in.files[kMozilla + "A.crt"] = a_;
    in.files[kMozilla + "B.crt"] = b_;
    in.files["usr/local/share/ca-certificates/C.crt"] = c_;
    NullReporter quiet;
    auto store = ComputeCaStore(in, CaStoreRules{}, quiet);
    ASSERT_TRUE(store.has_value()) << store.error().message;
    for (const CaLink& l : store->links) {
      store_.push_back(Link(kCerts + l.name, l.target));
    }
    for (const CaHashLink& h : store->hash_links) {
      store_.push_back(Link(kCerts + h.name, h.link));
      hash_names_.push_back(h.name);
    }
    store_.push_back(File(kCerts + "ca-certificates.crt", store->bundle));
    auto section = DescribeCaStore(*store);
    ASSERT_TRUE(section.has_value());
    section_ = *section;
  }

  std::string ReadPem(const std::string& cn) {
    testing::CertOptions options;
    options.common_name = cn;
    return testing::ReadFile(
        testing::MakeRootCa(dir_.Sub(""), cn.substr(cn.size() - 1), options)
            .cert_path);
  }

  // Streams the image (store right after etc/ssl/certs, as the builder
  // places it) through a check.
  Status Run(const std::optional<CaStoreSection>& section) {
    std::vector<Item> image;
    for (const Item& i : inputs_) {
      image.push_back(i);
      if (i.entry.path == "etc/ssl/certs") {
        image.insert(image.end(), store_.begin(), store_.end());
      }
    }
    CaStoreCheck check(section);
    for (Item& i : image) {
      if (i.entry.type == EntryType::kFile) {
        i.entry.size = i.content.size();
        i.entry.sha256 = *Sha256Of(std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(i.content.data()),
            i.content.size()));
      }
      IMAB_RETURN_IF_ERROR(check.Begin(i.entry));
      check.Feed(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(i.content.data()),
          i.content.size()));
      check.End(i.entry);
    }
    return check.Finish();
  }

  Item& StoreItem(const std::string& name) {
    auto it = std::find_if(store_.begin(), store_.end(), [&](const Item& i) {
      return i.entry.path == kCerts + name;
    });
    EXPECT_NE(it, store_.end()) << name;
    return *it;
  }

  void EraseStoreItem(const std::string& name) {
    std::erase_if(store_,
                  [&](const Item& i) { return i.entry.path == kCerts + name; });
  }

  void ExpectRejected(const std::string& needle,
                      ErrorCode code = ErrorCode::kMalformed) {
    Status s = Run(section_);
    ASSERT_FALSE(s.ok()) << "accepted; expected '" << needle << "'";
    EXPECT_EQ(s.error().code, code) << s.error().message;
    EXPECT_THAT(s.error().message, HasSubstr(needle));
  }

  testing::TempDir dir_;
  std::string a_, b_, c_;
  std::vector<Item> inputs_;
  std::vector<Item> store_;
  std::vector<std::string> hash_names_;
  CaStoreSection section_;
};

TEST_F(CaStoreCheckTest, AcceptsTheStoreTheRulesProduce) {
  Status s = Run(section_);
  EXPECT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(section_.anchors.size(), 3u);
}

TEST_F(CaStoreCheckTest, ChecksNothingWithoutASection) {
  store_.clear();
  EXPECT_TRUE(Run(std::nullopt).ok());
}

TEST_F(CaStoreCheckTest, RejectsALinkThatResolvesToNothing) {
  StoreItem("A.pem").entry.link_target =
      "/usr/share/ca-certificates/mozilla/Gone.crt";
  ExpectRejected(
      "link etc/ssl/certs/A.pem -> "
      "/usr/share/ca-certificates/mozilla/Gone.crt does not "
      "resolve to a regular file in the image");
}

TEST_F(CaStoreCheckTest, RejectsALinkResolvingOutsideTheInputs) {
  StoreItem("A.pem").entry.link_target =
      "/usr/share/ca-certificates/../../../etc/passwd";
  ExpectRejected("does not resolve to a regular file");
}

TEST_F(CaStoreCheckTest, RejectsALinkToAFileThatIsNotACertificate) {
  inputs_.back().content = "garbage\n";  // mozilla/B.crt
  ExpectRejected(
      "link etc/ssl/certs/B.pem -> "
      "/usr/share/ca-certificates/mozilla/B.crt is not a "
      "certificate");
}

TEST_F(CaStoreCheckTest, RejectsAMissingLink) {
  EraseStoreItem("B.pem");
  ExpectRejected(
      "link etc/ssl/certs/B.pem -> "
      "/usr/share/ca-certificates/mozilla/B.crt is missing");
}

TEST_F(CaStoreCheckTest, RejectsALinkTheRulesDoNotSelect) {
  inputs_[1].content = "mozilla/A.crt\n";  // B no longer selected
  std::erase_if(store_, [](const Item& i) {
    return i.entry.link_target == "B.pem";  // its hash link
  });
  ExpectRejected(
      "link etc/ssl/certs/B.pem -> "
      "/usr/share/ca-certificates/mozilla/B.crt is not one the "
      "rules produce");
}

TEST_F(CaStoreCheckTest, RejectsALinkPointingElsewhere) {
  StoreItem("A.pem").entry.link_target =
      "/usr/share/ca-certificates/mozilla/B.crt";
  ExpectRejected(
      "link etc/ssl/certs/A.pem points to "
      "/usr/share/ca-certificates/mozilla/B.crt; the rules give "
      "/usr/share/ca-certificates/mozilla/A.crt");
}

TEST_F(CaStoreCheckTest, RejectsAHashLinkPointingElsewhere) {
  Item& hash = StoreItem(hash_names_[0]);
  hash.entry.link_target =
      hash.entry.link_target == "A.pem" ? "B.pem" : "A.pem";
  ExpectRejected("hash link etc/ssl/certs/" + hash_names_[0] + " points to");
}

TEST_F(CaStoreCheckTest, RejectsAHashLinkWithAWrongName) {
  Item& hash = StoreItem(hash_names_[0]);
  hash.entry.path = kCerts + "00000000.0";
  ExpectRejected("hash link etc/ssl/certs/" + hash_names_[0]);
}

TEST_F(CaStoreCheckTest, RejectsAnExtraHashLink) {
  store_.push_back(Link(kCerts + hash_names_[0].substr(0, 9) + "7", "A.pem"));
  ExpectRejected("hash link etc/ssl/certs/" + hash_names_[0].substr(0, 9) +
                 "7 -> A.pem is not one the rules produce");
}

TEST_F(CaStoreCheckTest, RejectsABundleThatIsNotTheConcatenation) {
  StoreItem("ca-certificates.crt").content = a_ + c_ + b_;
  ExpectRejected(
      "etc/ssl/certs/ca-certificates.crt differs from the "
      "concatenation the rules produce",
      ErrorCode::kDigestMismatch);
}

TEST_F(CaStoreCheckTest, RejectsAMissingBundle) {
  EraseStoreItem("ca-certificates.crt");
  ExpectRejected("etc/ssl/certs/ca-certificates.crt is missing");
}

TEST_F(CaStoreCheckTest, RejectsASectionWithAnotherBundleDigest) {
  section_.bundle_sha256[0] ^= 1;
  ExpectRejected("manifest section ca-store: bundle digest");
}

TEST_F(CaStoreCheckTest, RejectsASectionAnchorThatDiffersFromTheImage) {
  section_.anchors[0].not_after += 1;
  ExpectRejected(
      "manifest section ca-store: anchor A.pem (fingerprint, "
      "notAfter or subject) differs");
}

TEST_F(CaStoreCheckTest, RejectsASectionMissingAnAnchor) {
  section_.anchors.pop_back();
  ExpectRejected("anchor C.pem is in the image but not declared");
}

TEST_F(CaStoreCheckTest, RejectsASectionDeclaringAnExtraAnchor) {
  CaAnchorRecord extra = section_.anchors.back();
  extra.link = "Z.pem";
  section_.anchors.push_back(extra);
  ExpectRejected("anchor Z.pem is declared but not in the image");
}

TEST_F(CaStoreCheckTest, RejectsAConfThatIsNotAFile) {
  inputs_[1] = Link("etc/ca-certificates.conf", "elsewhere");
  ExpectRejected("etc/ca-certificates.conf is not a regular file");
}

TEST_F(CaStoreCheckTest, RejectsInputsOverTheMemoryBound) {
  std::optional<CaStoreSection> section = section_;
  CaStoreCheck check(section);
  Entry huge;
  huge.path = kMozilla + "huge.crt";
  huge.type = EntryType::kFile;
  huge.size = kMaxCaInputBytes + 1;
  Status s = check.Begin(huge);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kLimitExceeded);
}

TEST_F(CaStoreCheckTest, RejectsAStoreTheRulesCannotRecompute) {
  inputs_[1].content = "!mozilla/A.crt\n!mozilla/B.crt\n";
  inputs_.erase(inputs_.begin() + 8);  // local C.crt
  store_.clear();
  ExpectRejected("the CA store cannot be recomputed from the image");
}

}  // namespace
}  // namespace imab::verifier
