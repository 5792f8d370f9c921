// Trust root codec and threshold checks (FORMAT.md §8).
#include "common/read/trust_root.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "common/read/byte_reader.h"
#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/hex.h"
#include "common/read/limits.h"
#include "common/read/manifest.h"
#include "common/read/x509_util.h"

namespace imab {
namespace {

// §8.2: old keys plus new keys may each sign once.
constexpr size_t kMaxTrustRootSignatures = 2 * kMaxTrustRootEntries;

// The untrusted bytes, one "\n"-terminated line at a time, with the line
// number every message names.
class LineCursor {
 public:
  explicit LineCursor(std::string_view bytes) : reader_(bytes) {}

  size_t line() const { return line_; }
  size_t position() const { return reader_.position(); }
  bool empty() const { return reader_.empty(); }

  Error Bad(ErrorCode code, const std::string& what) const {
    return MakeError(code,
                     "trust root line " + std::to_string(line_) + ": " + what);
  }

  // Reads the next line and splits it into tokens separated by exactly one
  // space; an empty token (double, leading or trailing space) is malformed.
  Result<std::vector<std::string_view>> Next() {
    ++line_;
    Result<std::string_view> text = reader_.ReadUntil('\n');
    if (!text.has_value()) {
      // Truncation: the closing line never arrived.
      return Bad(ErrorCode::kMalformed, "missing line or end of line");
    }
    std::vector<std::string_view> tokens;
    std::string_view rest = *text;
    while (true) {
      size_t space = rest.find(' ');
      std::string_view token = rest.substr(0, space);
      if (token.empty()) {
        return Bad(ErrorCode::kMalformed, "empty token");
      }
      tokens.push_back(token);
      if (space == std::string_view::npos) {
        return tokens;
      }
      rest.remove_prefix(space + 1);
    }
  }

 private:
  ByteReader reader_;
  size_t line_ = 0;
};

bool IsLine(const std::vector<std::string_view>& t, std::string_view keyword,
            size_t count) {
  return t.size() == count && t[0] == keyword;
}

// A non-empty HEX token of at most `max` decoded bytes.
Result<std::string> DecodeHexField(const LineCursor& c, std::string_view token,
                                   const std::string& field, size_t max) {
  // Checked on the text first so an oversized token is never decoded.
  if (token.size() / 2 > max) {
    return c.Bad(ErrorCode::kLimitExceeded,
                 field + " exceeds " + std::to_string(max) + " bytes");
  }
  Result<std::string> bytes = HexDecode(token);
  if (!bytes.has_value() || bytes->empty()) {
    return c.Bad(ErrorCode::kMalformed, field + " is not lower-case hex");
  }
  return bytes;
}

bool IsSupportedKey(const EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  return id == EVP_PKEY_RSA || id == EVP_PKEY_EC;
}

// The key of a listed SPKI, or null when it does not parse, has trailing
// bytes, is not canonical DER (its key id would be ambiguous) or is not RSA
// or EC.
Ptr<EVP_PKEY> DecodeSpki(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Ptr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  if (key == nullptr ||
      p != reinterpret_cast<const unsigned char*>(der.data()) + der.size() ||
      !IsSupportedKey(key.get())) {
    return nullptr;
  }
  int len = i2d_PUBKEY(key.get(), nullptr);
  if (len <= 0 || static_cast<size_t>(len) != der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  std::string again(der.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(again.data());
  if (i2d_PUBKEY(key.get(), &out) != len || again != der) {
    ERR_clear_error();
    return nullptr;
  }
  return key;
}

// The one DER rule (x509_util.h); its message drains OpenSSL's queue.
bool IsWholeCertificate(const std::string& der) {
  return ParseCertificateDer(der, "release-ca").has_value();
}

// Reads `keyword HEX` lines (release-ca or key) while they come: at least
// one, at most kMaxTrustRootEntries, strictly increasing byte strings.
Status ParseEntries(LineCursor& c, std::vector<std::string_view>& t,
                    std::string_view keyword, std::vector<std::string>& out) {
  std::string name(keyword);
  while (!t.empty() && t[0] == keyword) {
    if (t.size() != 2) {
      return c.Bad(ErrorCode::kMalformed, name + " takes one HEX token");
    }
    if (out.size() == kMaxTrustRootEntries) {
      return c.Bad(ErrorCode::kLimitExceeded,
                   "more than " + std::to_string(kMaxTrustRootEntries) + " " +
                       name + " lines");
    }
    IMAB_ASSIGN_OR_RETURN(std::string der,
                          DecodeHexField(c, t[1], name, kMaxCertificateBytes));
    // One spelling per set: a duplicate would count twice toward a
    // threshold, an unsorted list would give one root two encodings.
    if (!out.empty() && !(out.back() < der)) {
      return c.Bad(ErrorCode::kMalformed,
                   name + " lines not strictly increasing");
    }
    bool ok =
        keyword == "key" ? DecodeSpki(der) != nullptr : IsWholeCertificate(der);
    if (!ok) {
      return c.Bad(ErrorCode::kMalformed,
                   name + " is not a canonical DER " +
                       (keyword == "key" ? "RSA or EC SubjectPublicKeyInfo"
                                         : "certificate"));
    }
    out.push_back(std::move(der));
    IMAB_ASSIGN_OR_RETURN(t, c.Next());
  }
  if (out.empty()) {
    return c.Bad(ErrorCode::kMalformed, "expected a " + name + " line");
  }
  return OkStatus();
}

Status ParseBody(LineCursor& c, TrustRootBody& body) {
  IMAB_ASSIGN_OR_RETURN(std::vector<std::string_view> t, c.Next());
  if (t.size() != 2 || t[0] != "imabundle-trust-root" || t[1] != "1") {
    return c.Bad(ErrorCode::kMalformed, "not \"imabundle-trust-root 1\"");
  }
  IMAB_ASSIGN_OR_RETURN(t, c.Next());
  if (!IsLine(t, "version", 2)) {
    return c.Bad(ErrorCode::kMalformed, "expected \"version NUM\"");
  }
  Result<uint64_t> version =
      ParseNumToken(t[1], "version", UINT64_MAX, ErrorCode::kMalformed);
  if (!version.has_value() || *version == 0) {
    return c.Bad(ErrorCode::kMalformed, "version must be a NUM >= 1");
  }
  body.version = *version;
  IMAB_ASSIGN_OR_RETURN(t, c.Next());
  if (!IsLine(t, "threshold", 2)) {
    return c.Bad(ErrorCode::kMalformed, "expected \"threshold NUM\"");
  }
  Result<uint64_t> threshold = ParseNumToken(
      t[1], "threshold", kMaxTrustRootEntries, ErrorCode::kMalformed);
  // A zero threshold would accept a root nobody signed.
  if (!threshold.has_value() || *threshold == 0) {
    return c.Bad(ErrorCode::kMalformed,
                 "threshold must be a NUM in 1.." +
                     std::to_string(kMaxTrustRootEntries));
  }
  body.threshold = static_cast<uint32_t>(*threshold);
  const size_t threshold_line = c.line();
  IMAB_ASSIGN_OR_RETURN(t, c.Next());
  IMAB_RETURN_IF_ERROR(ParseEntries(c, t, "release-ca", body.release_cas));
  IMAB_RETURN_IF_ERROR(ParseEntries(c, t, "key", body.keys));
  if (!IsLine(t, "end-body", 1)) {
    return c.Bad(ErrorCode::kMalformed, "expected \"end-body\"");
  }
  if (body.threshold > body.keys.size()) {
    return MakeError(ErrorCode::kMalformed,
                     "trust root line " + std::to_string(threshold_line) +
                         ": threshold " + std::to_string(body.threshold) +
                         " exceeds the " + std::to_string(body.keys.size()) +
                         " keys");
  }
  return OkStatus();
}

// `signature KEYID HEX` lines, then `end`, then nothing.
Status ParseSignatures(LineCursor& c, std::vector<TrustRootSignature>& out) {
  IMAB_ASSIGN_OR_RETURN(std::vector<std::string_view> t, c.Next());
  while (!t.empty() && t[0] == "signature") {
    if (t.size() != 3) {
      return c.Bad(ErrorCode::kMalformed, "expected \"signature KEYID HEX\"");
    }
    if (out.size() == kMaxTrustRootSignatures) {
      return c.Bad(ErrorCode::kLimitExceeded,
                   "more than " + std::to_string(kMaxTrustRootSignatures) +
                       " signature lines");
    }
    if (!ParseShaToken(t[1], "key id").has_value()) {
      return c.Bad(ErrorCode::kMalformed, "KEYID is not 64 lower-case hex");
    }
    // Sorted and unique: one signature per key, one encoding per root.
    if (!out.empty() && !(out.back().key_id < t[1])) {
      return c.Bad(ErrorCode::kMalformed,
                   "signature lines not strictly increasing by KEYID");
    }
    IMAB_ASSIGN_OR_RETURN(
        std::string sig,
        DecodeHexField(c, t[2], "signature", kMaxCertificateBytes));
    out.push_back(TrustRootSignature{std::string(t[1]), std::move(sig)});
    IMAB_ASSIGN_OR_RETURN(t, c.Next());
  }
  if (!IsLine(t, "end", 1)) {
    return c.Bad(ErrorCode::kMalformed, "expected \"signature\" or \"end\"");
  }
  // Bytes after `end` are covered by no signature; refuse them.
  if (!c.empty()) {
    return c.Bad(ErrorCode::kMalformed, "trailing bytes after \"end\"");
  }
  return OkStatus();
}

// True when `sig` is a valid SHA-256 signature of `key_der` over `data`.
bool VerifiesWith(const std::string& key_der, const std::string& sig,
                  const std::string& data) {
  Ptr<EVP_PKEY> key = DecodeSpki(key_der);
  Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (key == nullptr || ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                           key.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
      reinterpret_cast<const unsigned char*>(data.data()), data.size());
  // A forged signature leaves errors in the queue; none may leak onward.
  ERR_clear_error();
  return rc == 1;
}

}  // namespace

Result<SignedTrustRoot> ParseSignedTrustRoot(std::string_view bytes) {
  // Bounded before anything is decoded or allocated.
  if (bytes.size() > kMaxTrustRootBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "trust root of " + std::to_string(bytes.size()) +
                         " bytes exceeds " +
                         std::to_string(kMaxTrustRootBytes));
  }
  SignedTrustRoot root;
  LineCursor c(bytes);
  IMAB_RETURN_IF_ERROR(ParseBody(c, root.body));
  root.body_bytes = std::string(bytes.substr(0, c.position()));
  IMAB_RETURN_IF_ERROR(ParseSignatures(c, root.signatures));
  return root;
}

Status CheckTrustRootSignatures(const SignedTrustRoot& root,
                                std::span<const std::string> signers,
                                uint32_t threshold, const std::string& whose) {
  const std::string where =
      "trust root version " + std::to_string(root.body.version) + ": ";
  if (threshold == 0) {
    // Fail closed: nothing is "signed by zero keys".
    return MakeError(ErrorCode::kBadSignature, where + "threshold of 0");
  }
  std::set<std::string> counted;  // key ids, so a key counts once
  for (const std::string& der : signers) {
    Result<Sha256Digest> digest = Sha256Of(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(der.data()), der.size()));
    if (!digest.has_value()) {
      return std::move(digest).error();
    }
    std::string key_id = HexEncode(*digest);
    if (counted.count(key_id) != 0) {
      continue;
    }
    // Look up this key's one signature by id; never try others against it.
    auto it = std::find_if(
        root.signatures.begin(), root.signatures.end(),
        [&](const TrustRootSignature& s) { return s.key_id == key_id; });
    if (it != root.signatures.end() &&
        VerifiesWith(der, it->signature, root.body_bytes)) {
      counted.insert(key_id);
    }
  }
  if (counted.size() < threshold) {
    return MakeError(ErrorCode::kBadSignature,
                     where + std::to_string(counted.size()) + " of " +
                         std::to_string(threshold) +
                         " required signatures by " + whose);
  }
  return OkStatus();
}

Status CheckTrustRootSuccessor(const SignedTrustRoot& current,
                               const SignedTrustRoot& next) {
  const uint64_t have = current.body.version;
  const uint64_t got = next.body.version;
  if (got <= have) {
    return MakeError(ErrorCode::kRollback,
                     "trust root version " + std::to_string(got) +
                         " is not newer than version " + std::to_string(have));
  }
  // A skipped version was never vouched for by the keys in between.
  if (got - have != 1) {
    return MakeError(ErrorCode::kMalformed,
                     "trust root version " + std::to_string(got) +
                         " does not follow version " + std::to_string(have) +
                         " (versions must go up by one)");
  }
  IMAB_RETURN_IF_ERROR(
      CheckTrustRootSignatures(next, current.body.keys, current.body.threshold,
                               "the keys of version " + std::to_string(have)));
  return CheckTrustRootSignatures(next, next.body.keys, next.body.threshold,
                                  "its own keys");
}

Status CheckTrustRootSelfSigned(const SignedTrustRoot& root) {
  return CheckTrustRootSignatures(root, root.body.keys, root.body.threshold,
                                  "its own keys");
}

}  // namespace imab
