// The device binary's trusted base holds no writer: imab-verify, as built
// (unstripped, in the build tree), defines or calls no bundle, manifest,
// cpio, initramfs or zstd writer, no signing call, no libarchive or
// PKCS#11 symbol, and needs none of libarchive, libxml2, ICU or libp11.
// The same checker run on imab-build must flag it, so a checker that sees
// nothing (a stripped binary, a tool missing) cannot pass for a clean one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testutil/run.h"

namespace imab {
namespace {

using ::imab::testing::RunShell;
using ::imab::testing::ShellQuote;
using ::testing::Contains;
using ::testing::HasSubstr;

// Symbol names (demangled, version suffix removed) that are writer code.
const std::regex kWriterSymbol(
    "(^|::)WriteBundle\\b|(^|::)AppendManifest\\w*|(^|::)EncodeStrToken\\b|"
    "(^|::)WriteCpioStream\\b|(^|::)AppendCpioArchive\\b|"
    "(^|::)SetInitramfsKeys\\b|(^|::)EncodeInitramfsSegment\\b|"
    "(^|::)CompressInitramfsSegment\\b|(^|::)ZstdFileWriter\\b|"
    "^ZSTD_compress|^ZSTD_createCCtx|^ZSTD_CCtx|^archive_|"
    "^CMS_sign$|^X509_sign$|^X509_sign_ctx$|^EVP_DigestSign|^EVP_PKEY_sign|"
    "PKCS11|^p11_");
// Libraries the device must not load: libarchive brings libxml2 and ICU,
// libp11 is the release pipeline's hardware-key access.
const std::regex kForbiddenLibrary("^(libarchive|libxml2|libicu|libp11)");

// The name part of one `nm -C` line ("ADDR T name" or "   U name").
std::string SymbolName(const std::string& line) {
  static const std::regex kLine("^\\s*(?:[0-9a-fA-F]+\\s+)?\\S\\s+(.+)$");
  std::smatch m;
  if (!std::regex_match(line, m, kLine)) {
    return "";
  }
  std::string name = m[1];
  const size_t at = name.find('@');  // CMS_sign@OPENSSL_3.0.0
  return at == std::string::npos || name.find('(') < at ? name
                                                        : name.substr(0, at);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

struct LinkReport {
  std::vector<std::string> symbols;   // every symbol name nm lists
  std::vector<std::string> findings;  // "writer symbol: ...", ...
};

// Every writer symbol and forbidden library of `binary`, one finding each.
LinkReport CheckBinary(const std::string& binary) {
  LinkReport report;
  testing::CommandResult nm = RunShell("nm -C " + ShellQuote(binary));
  EXPECT_EQ(nm.exit_code, 0) << nm.err;
  for (const std::string& line : Lines(nm.out)) {
    std::string name = SymbolName(line);
    if (name.empty()) {
      continue;
    }
    if (std::regex_search(name, kWriterSymbol)) {
      report.findings.push_back("writer symbol: " + name);
    }
    report.symbols.push_back(std::move(name));
  }
  testing::CommandResult dyn = RunShell("readelf -d " + ShellQuote(binary));
  EXPECT_EQ(dyn.exit_code, 0) << dyn.err;
  static const std::regex kNeeded("\\(NEEDED\\).*\\[(.+)\\]");
  for (const std::string& line : Lines(dyn.out)) {
    std::smatch m;
    if (std::regex_search(line, m, kNeeded) &&
        std::regex_search(m[1].str(), kForbiddenLibrary)) {
      report.findings.push_back("NEEDED " + m[1].str());
    }
  }
  // What the loader brings in, NEEDED of NEEDED included.
  testing::CommandResult ldd = RunShell("ldd " + ShellQuote(binary));
  EXPECT_EQ(ldd.exit_code, 0) << ldd.err;
  static const std::regex kLoaded("^\\s*(\\S+) => ");
  for (const std::string& line : Lines(ldd.out)) {
    std::smatch m;
    if (std::regex_search(line, m, kLoaded) &&
        std::regex_search(m[1].str(), kForbiddenLibrary)) {
      report.findings.push_back("loaded " + m[1].str());
    }
  }
  return report;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    out += "  " + l + "\n";
  }
  return out;
}

TEST(TrustedBase, VerifierLinksNoWriter) {
  const LinkReport report = CheckBinary(testing::VerifyBin());
  // A symbol table is there to read (an unstripped build-tree binary):
  // the verifier's own kernel scan is listed.
  ASSERT_THAT(report.symbols, Contains(HasSubstr("imab::ScanKernelImage")))
      << testing::VerifyBin() << " has no symbol table to check";
  EXPECT_TRUE(report.findings.empty())
      << testing::VerifyBin() << " links writer code or libraries:\n"
      << Joined(report.findings);
}

// The checker is known to work: the builder, which writes bundles with
// libarchive and signs through libp11, is flagged for each kind of
// finding.
TEST(TrustedBase, CheckerFlagsTheBuilder) {
  const LinkReport report = CheckBinary(testing::BuildBin());
  EXPECT_THAT(report.findings,
              Contains(HasSubstr("writer symbol: imab::WriteBundle")));
  EXPECT_THAT(report.findings, Contains(HasSubstr("writer symbol: archive_")));
  EXPECT_THAT(report.findings, Contains(HasSubstr("writer symbol: PKCS11_")));
  EXPECT_THAT(report.findings, Contains("writer symbol: CMS_sign"));
  EXPECT_THAT(report.findings, Contains("writer symbol: EVP_DigestSign"));
  EXPECT_THAT(report.findings, Contains("NEEDED libarchive.so.13"));
  EXPECT_THAT(report.findings, Contains(HasSubstr("NEEDED libp11")));
  EXPECT_THAT(report.findings, Contains(HasSubstr("loaded libxml2")));
  EXPECT_THAT(report.findings, Contains(HasSubstr("loaded libicuuc")));
}

}  // namespace
}  // namespace imab
