// The update-ca-certificates / openssl rehash rules, without I/O: conf
// parsing, link names, the strict one-certificate check, selection order,
// bundle bytes and hash-link numbering.
#include "common/read/ca_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testutil/pki.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using testing::CertOptions;
using ::testing::HasSubstr;
using testing::MakeRootCa;
using testing::ReadFile;
using testing::TempDir;

class RecordingReporter : public Reporter {
 public:
  void Info(std::string_view) override {}
  void Warn(std::string_view message) override {
    warnings.emplace_back(message);
  }
  std::vector<std::string> warnings;
};

std::vector<std::string> Names(const std::vector<CaConfLine>& lines,
                               bool deselect) {
  std::vector<std::string> out;
  for (const CaConfLine& l : lines) {
    if (l.deselect == deselect) {
      out.push_back(l.name);
    }
  }
  return out;
}

TEST(CaConfTest, SkipsOnlyEmptyLinesAndFirstByteHash) {
  auto lines = ParseCaConf("# comment\n\nmozilla/A.crt\n  # indented\n   \n");
  EXPECT_EQ(Names(lines, false),
            (std::vector<std::string>{"mozilla/A.crt", "# indented", ""}));
}

TEST(CaConfTest, IgnoresALastLineWithoutNewline) {
  auto lines = ParseCaConf("mozilla/A.crt\nmozilla/B.crt");
  EXPECT_EQ(Names(lines, false), std::vector<std::string>{"mozilla/A.crt"});
  EXPECT_TRUE(ParseCaConf("!mozilla/A.crt").empty());
}

TEST(CaConfTest, DeselectsOnlyWithAFirstByteBang) {
  auto lines = ParseCaConf("!mozilla/A.crt\n !mozilla/B.crt\n");
  EXPECT_EQ(Names(lines, true), std::vector<std::string>{"mozilla/A.crt"});
  EXPECT_EQ(Names(lines, false), std::vector<std::string>{"!mozilla/B.crt"});
}

TEST(CaConfTest, ReadBuiltinTrimsBlanksDropsBackslashesKeepsCr) {
  auto lines = ParseCaConf(
      " \tmozilla/A.crt \t\nmo\\zilla/B\\ .crt\r\n"
      "part\\\nrest.crt\n");
  EXPECT_EQ(Names(lines, false),
            (std::vector<std::string>{"mozilla/A.crt", "mozilla/B .crt\r",
                                      "partrest.crt"}));
  EXPECT_EQ(lines[1].line, 2u);
}

TEST(CaLinkNameTest, ManglesLikeTheScript) {
  EXPECT_EQ(CaLinkName("/usr/local/share/ca-certificates/My Corp (Dev), "
                       "Root.crt"),
            "My_Corp_=Dev=__Root.pem");
  EXPECT_EQ(CaLinkName("/usr/share/ca-certificates/mozilla/x.pem"),
            "x.pem.pem");
  EXPECT_EQ(CaLinkName("/a/.crt"), ".crt.pem");
  EXPECT_EQ(CaLinkName("/a/weird'&[x]*.crt"), "weird'&[x]*.pem");
}

TEST(CaLinkNameTest, RecognisesHashLinks) {
  EXPECT_TRUE(IsHashLinkName("4042bcee.0"));
  EXPECT_TRUE(IsHashLinkName("4042BCEE.12"));
  EXPECT_TRUE(IsHashLinkName("4042bcee.r1"));
  EXPECT_FALSE(IsHashLinkName("4042bcee.pem"));
  EXPECT_FALSE(IsHashLinkName("4042bce.0"));
  EXPECT_FALSE(IsHashLinkName("4042bcee."));
  EXPECT_TRUE(IsCaStoreOwned("ca-certificates.crt", std::nullopt));
  EXPECT_TRUE(IsCaStoreOwned("X.pem", "/usr/share/ca-certificates/m/X.crt"));
  EXPECT_FALSE(IsCaStoreOwned("X.pem", std::nullopt));
  EXPECT_FALSE(IsCaStoreOwned("snakeoil.pem", "/etc/other.pem"));
}

class CaStoreTest : public ::testing::Test {
 protected:
  std::string Pem(const std::string& name, CertOptions options = {}) {
    options.common_name =
        options.common_name == "imabundle test" ? name : options.common_name;
    return ReadFile(MakeRootCa(dir_.Sub(""), name, options).cert_path);
  }
  std::string Key(const std::string& name) {
    return ReadFile(MakeRootCa(dir_.Sub(""), name).key_path);
  }

  Result<CaStore> Compute(bool strict = true) {
    CaStoreRules rules;
    rules.strict = strict;
    return ComputeCaStore(inputs_, rules, reporter_);
  }

  void AddDirs() {
    inputs_.dirs.insert(std::string(kCaSharedDir));
    inputs_.dirs.insert(std::string(kCaSharedDir) + "/mozilla");
    inputs_.dirs.insert(std::string(kCaLocalDir));
  }

  TempDir dir_;
  CaInputs inputs_;
  RecordingReporter reporter_;
};

const std::string kShared = "usr/share/ca-certificates/";
const std::string kLocal = "usr/local/share/ca-certificates/";

TEST_F(CaStoreTest, BundleFollowsConfOrderThenSortedLocalCertificates) {
  AddDirs();
  std::string a = Pem("A");
  std::string b = Pem("B");
  std::string c = Pem("C");
  std::string d = Pem("D");
  inputs_.files[kShared + "mozilla/A.crt"] = a;
  inputs_.files[kShared + "mozilla/B.crt"] = b;
  inputs_.files[kLocal + "z.crt"] = c;
  inputs_.files[kLocal + "sub/a b.crt"] = d;
  inputs_.files[kLocal + "ignored.pem"] = d;
  inputs_.dirs.insert(kLocal + "sub");
  inputs_.conf = "mozilla/B.crt\nmozilla/A.crt\n";
  auto store = Compute();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_EQ(store->bundle, b + a + d + c);
  ASSERT_EQ(store->links.size(), 4u);
  EXPECT_EQ(store->links[0].name, "A.pem");
  EXPECT_EQ(store->links[0].target, "/" + kShared + "mozilla/A.crt");
  EXPECT_EQ(store->links[3].name, "z.pem");
  EXPECT_EQ(store->links[2].name, "a_b.pem");
  EXPECT_EQ(store->links[2].target, "/" + kLocal + "sub/a b.crt");
  EXPECT_EQ(store->hash_links.size(), 4u);
  EXPECT_EQ(store->anchors.size(), 4u);
  EXPECT_EQ(store->anchors[0].link, "A.pem");
  EXPECT_EQ(store->added, 4u);
}

TEST_F(CaStoreTest, AddsOneNewlineOnlyWhenMissing) {
  AddDirs();
  std::string a = Pem("A");
  ASSERT_EQ(a.back(), '\n');
  std::string trimmed = a.substr(0, a.size() - 1);
  inputs_.files[kLocal + "a.crt"] = trimmed;
  inputs_.files[kLocal + "b.crt"] = a;
  auto store = Compute();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_EQ(store->bundle, a + a);
}

TEST_F(CaStoreTest, NumbersSameSubjectHashesInLinkNameOrder) {
  AddDirs();
  CertOptions same;
  same.common_name = "Collision Root";
  inputs_.files[kShared + "mozilla/Root_B.crt"] = Pem("b", same);
  inputs_.files[kShared + "mozilla/Root_A.crt"] = Pem("a", same);
  inputs_.conf = "mozilla/Root_B.crt\nmozilla/Root_A.crt\n";
  auto store = Compute();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  ASSERT_EQ(store->hash_links.size(), 2u);
  EXPECT_EQ(store->hash_links[0].name.substr(9), "0");
  EXPECT_EQ(store->hash_links[0].link, "Root_A.pem");
  EXPECT_EQ(store->hash_links[1].name.substr(9), "1");
  EXPECT_EQ(store->hash_links[1].link, "Root_B.pem");
  EXPECT_EQ(store->hash_links[0].name.substr(0, 8),
            store->hash_links[1].name.substr(0, 8));
}

TEST_F(CaStoreTest, SameCertificateTwiceGetsOneHashLinkAndTwoBundleCopies) {
  AddDirs();
  std::string a = Pem("A");
  inputs_.files[kShared + "mozilla/ISRG.crt"] = a;
  inputs_.files[kLocal + "isrg-copy.crt"] = a;
  inputs_.conf = "mozilla/ISRG.crt\n";
  auto store = Compute();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_EQ(store->bundle, a + a);
  ASSERT_EQ(store->hash_links.size(), 1u);
  EXPECT_EQ(store->hash_links[0].link, "ISRG.pem");
  EXPECT_EQ(store->links.size(), 2u);
}

TEST_F(CaStoreTest, DeselectedAndUnlistedCertificatesStayOut) {
  AddDirs();
  inputs_.files[kShared + "mozilla/A.crt"] = Pem("A");
  inputs_.files[kShared + "mozilla/B.crt"] = Pem("B");
  inputs_.conf = "mozilla/A.crt\n!mozilla/B.crt\n";
  auto store = Compute();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  ASSERT_EQ(store->links.size(), 1u);
  EXPECT_EQ(store->links[0].name, "A.pem");
  EXPECT_EQ(store->deselected, 1u);
}

TEST_F(CaStoreTest, FollowsSymlinksWithinTheInputFolders) {
  AddDirs();
  std::string a = Pem("A");
  inputs_.files[kShared + "mozilla/A.crt"] = a;
  inputs_.symlinks[kShared + "alias.crt"] = "mozilla/A.crt";
  inputs_.symlinks[kLocal + "local.crt"] = "/" + kShared + "mozilla/A.crt";
  inputs_.symlinks[kLocal + "dangling.crt"] = "nothing.crt";
  inputs_.conf = "alias.crt\nmozilla/../mozilla/A.crt\n";
  auto store = Compute(false);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_EQ(store->bundle, a + a + a);
  ASSERT_EQ(store->links.size(), 3u);
  EXPECT_EQ(store->links[1].name, "alias.pem");
  EXPECT_EQ(store->links[1].target, "/" + kShared + "alias.crt");
  EXPECT_EQ(store->links[1].source, kShared + "mozilla/A.crt");
}

TEST_F(CaStoreTest, RefusesALinkLeadingOutsideTheInputFolders) {
  AddDirs();
  inputs_.files[kShared + "mozilla/A.crt"] = Pem("A");
  inputs_.symlinks[kLocal + "x.crt"] = "/etc/x.crt";
  inputs_.conf = "mozilla/A.crt\n";
  auto store = Compute(false);
  ASSERT_FALSE(store.has_value());
  EXPECT_THAT(store.error().message, HasSubstr("leads outside"));
}

TEST_F(CaStoreTest, RefusesASymlinkLoop) {
  AddDirs();
  inputs_.files[kShared + "mozilla/A.crt"] = Pem("A");
  inputs_.symlinks[kLocal + "x.crt"] = "y.crt";
  inputs_.symlinks[kLocal + "y.crt"] = "x.crt";
  auto store = Compute(false);
  ASSERT_FALSE(store.has_value());
  EXPECT_THAT(store.error().message, HasSubstr("levels of symbolic links"));
}

TEST_F(CaStoreTest, RefusesASymlinkedLocalFolder) {
  AddDirs();
  inputs_.files[kShared + "mozilla/A.crt"] = Pem("A");
  inputs_.symlinks[kLocal + "more"] = "/" + kShared + "mozilla";
  auto store = Compute(false);
  ASSERT_FALSE(store.has_value());
  EXPECT_THAT(store.error().message, HasSubstr("symlinked folder"));
}

TEST_F(CaStoreTest, RefusesAnEmptyStore) {
  AddDirs();
  inputs_.files[kShared + "mozilla/A.crt"] = Pem("A");
  inputs_.conf = "!mozilla/A.crt\n";
  auto store = Compute(false);
  ASSERT_FALSE(store.has_value());
  EXPECT_THAT(store.error().message, HasSubstr("no certificate selected"));
}

TEST_F(CaStoreTest, StrictRefusesAConfEntryNamingNoFile) {
  AddDirs();
  inputs_.files[kShared + "mozilla/A.crt"] = Pem("A");
  inputs_.conf = "mozilla/A.crt\nmozilla/Gone.crt\n";
  auto store = Compute();
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().message,
            "etc/ca-certificates.conf line 2: "
            "usr/share/ca-certificates/mozilla/Gone.crt not found (no such "
            "regular file)");
  auto lenient = Compute(false);
  ASSERT_TRUE(lenient.has_value());
  EXPECT_EQ(lenient->links.size(), 1u);
  EXPECT_EQ(reporter_.warnings.size(), 1u);
}

TEST_F(CaStoreTest, StrictRefusesTwoFilesTakingOneLinkName) {
  AddDirs();
  inputs_.files[kShared + "mozilla/A.crt"] = Pem("A");
  inputs_.files[kLocal + "A.crt"] = Pem("A2");
  inputs_.conf = "mozilla/A.crt\n";
  auto store = Compute();
  ASSERT_FALSE(store.has_value());
  EXPECT_THAT(store.error().message, HasSubstr("etc/ssl/certs/A.pem: both"));
  // The script re-points the link to the last add(): the local file.
  auto lenient = Compute(false);
  ASSERT_TRUE(lenient.has_value());
  ASSERT_EQ(lenient->links.size(), 1u);
  EXPECT_EQ(lenient->links[0].source, kLocal + "A.crt");
  EXPECT_EQ(lenient->hash_links.size(), 1u);
}

TEST_F(CaStoreTest, KeptFilesTakePartInHashingOnly) {
  AddDirs();
  std::string a = Pem("A");
  inputs_.files[kLocal + "a.crt"] = a;
  inputs_.kept["snakeoil.pem"] = Pem("snake");
  auto store = Compute();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_EQ(store->bundle, a);
  EXPECT_EQ(store->hash_links.size(), 2u);
  EXPECT_EQ(store->anchors.size(), 2u);
}

// Each way a .crt can fail to be exactly one PEM certificate: an error in
// strict mode naming the file, and in lenient mode the script's behaviour
// (linked, copied into the bundle verbatim, no hash link).
struct BadCrt {
  const char* name;
  const char* expected;  // part of the message
};

class StrictCrtTest : public CaStoreTest,
                      public ::testing::WithParamInterface<BadCrt> {
 protected:
  std::string Content(const std::string& kind) {
    std::string pem = Pem("good");
    if (kind == "der") {
      std::string b64 = pem.substr(pem.find('\n') + 1);
      return "\x30\x82\x01\x00" + b64;  // binary, no PEM armour
    }
    if (kind == "empty") {
      return "";
    }
    if (kind == "garbage") {
      return "this is not a certificate\n";
    }
    if (kind == "truncated") {
      return pem.substr(0, pem.size() / 2);
    }
    if (kind == "key") {
      return Key("k");
    }
    return pem + Pem("second");  // "two"
  }
};

TEST_P(StrictCrtTest, IsAnErrorNamingTheFileUnlessLenient) {
  AddDirs();
  std::string good = Pem("fine");
  std::string bad = Content(GetParam().name);
  inputs_.files[kLocal + "a-fine.crt"] = good;
  inputs_.files[kLocal + "bad.crt"] = bad;
  auto store = Compute();
  ASSERT_FALSE(store.has_value()) << GetParam().name;
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store.error().message.rfind(kLocal + "bad.crt: ", 0), 0u)
      << store.error().message;
  EXPECT_THAT(store.error().message, HasSubstr(GetParam().expected));
  auto lenient = Compute(false);
  ASSERT_TRUE(lenient.has_value()) << lenient.error().message;
  std::string expected_bundle = good + bad;
  if (!bad.empty() && bad.back() != '\n') {
    expected_bundle += '\n';
  }
  EXPECT_EQ(lenient->bundle, expected_bundle);
  EXPECT_EQ(lenient->links.size(), 2u);
  EXPECT_EQ(lenient->hash_links.size(), 1u);  // rehash skips the bad one
  EXPECT_EQ(lenient->anchors.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, StrictCrtTest,
    ::testing::Values(BadCrt{"der", "no PEM block"},
                      BadCrt{"empty", "empty file"},
                      BadCrt{"garbage", "no PEM block"},
                      BadCrt{"truncated", "truncated or malformed"},
                      BadCrt{"key", "PRIVATE KEY"},
                      BadCrt{"two", "holds 2 certificates"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(CheckOnePemCertificateTest, AcceptsTextAroundOneCertificate) {
  TempDir dir;
  std::string pem = ReadFile(MakeRootCa(dir.Sub(""), "x").cert_path);
  EXPECT_TRUE(
      CheckOnePemCertificate("subject=CN x\n" + pem + "trailer\n").ok());
}

TEST(DescribeCaStoreTest, DigestsTheBundleAndCarriesAnchors) {
  CaStore store;
  store.bundle = "abc";
  store.anchors.push_back({"A.pem", {}, 5, "CN=A"});
  auto section = DescribeCaStore(store);
  ASSERT_TRUE(section.has_value());
  EXPECT_EQ(section->bundle_sha256[0], 0xba);  // SHA-256("abc") = ba7816bf...
  EXPECT_EQ(section->anchors, store.anchors);
}

}  // namespace
}  // namespace imab
