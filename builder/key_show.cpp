#include "builder/key_show.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <vector>

#include "builder/secret_string.h"
#include "common/read/digest_signature.h"
#include "common/read/hex.h"
#include "common/read/json_text.h"
#include "common/read/kernel_keyring.h"
#include "common/read/kernel_profile.h"
#include "common/read/kernel_version.h"
#include "common/read/kernel_x509.h"
#include "common/read/keyid.h"
#include "common/read/limits.h"
#include "common/read/openssl_error.h"
#include "common/read/x509_util.h"
#include "common/write/asn1_time.h"
#include "common/write/public_key_id.h"

namespace imab::builder {
namespace {

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

std::string BytesHex(const ASN1_STRING* s) {
  if (s == nullptr) {
    return {};
  }
  return HexEncode(std::span<const uint8_t>(
      ASN1_STRING_get0_data(s), static_cast<size_t>(ASN1_STRING_length(s))));
}

// SHA-256 of the DER SubjectPublicKeyInfo, hex.
Result<std::string> SpkiSha256(const EVP_PKEY* key) {
  ERR_clear_error();
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) {
    return OpenSslError(ErrorCode::kInternal, "i2d_PUBKEY");
  }
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_PUBKEY(key, &p) != len) {
    return OpenSslError(ErrorCode::kInternal, "i2d_PUBKEY");
  }
  std::array<uint8_t, 32> digest{};
  unsigned int digest_len = 0;
  if (EVP_Digest(der.data(), der.size(), digest.data(), &digest_len,
                 EVP_sha256(), nullptr) != 1 ||
      digest_len != digest.size()) {
    return OpenSslError(ErrorCode::kInternal, "SHA-256 of public key");
  }
  return HexEncode(digest);
}

// The kernels whose rules hold and how the report names them:
// --kernel-version, else what --kernel-profile implies, else unknown.
struct ShowTarget {
  KernelTarget target = KernelTarget::Unknown();
  std::string label;
};

Result<ShowTarget> TargetOf(const ShowOptions& o) {
  ShowTarget out;
  if (!o.kernel_profile.empty()) {
    IMAB_RETURN_IF_ERROR(ParseKernelProfile(o.kernel_profile));
  }
  if (!o.kernel_version.empty()) {
    Result<KernelVersion> version = ParseKernelVersion(o.kernel_version);
    if (!version.has_value()) {
      return Invalid("--kernel-version: " + version.error().message);
    }
    out.target = KernelTarget::ForVersion(*version);
    out.label = out.target.Describe();
  } else if (o.kernel_profile.find(':') != std::string::npos) {
    // From 5.14 EVM hashes every protected xattr; a list means an older one.
    out.target = KernelTarget::ForVersion(KernelVersion{5, 13});
    out.label = "before 5.14 (profile " + o.kernel_profile + ")";
  } else {
    out.label = out.target.Describe();
  }
  return out;
}

int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

struct KeyFile {
  Ptr<EVP_PKEY> key;  // null: the file holds no PEM key
  bool is_private = false;
};

// A PEM private or public key, or a null key (no error) when the file holds
// neither, so the caller tries a certificate.
Result<KeyFile> LoadKeyFile(const std::string& path) {
  // It may hold a private key: read into a buffer that is wiped.
  SecretString bytes(kMaxKeyFileBytes);
  IMAB_RETURN_IF_ERROR(ReadSecretFile(path, bytes));
  const std::string_view text = bytes.str();
  ERR_clear_error();
  // A read-only view of `bytes`: OpenSSL makes no copy of the key.
  Ptr<BIO> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (bio == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "BIO_new_mem_buf");
  }
  if (text.find("PRIVATE KEY-----") != std::string_view::npos) {
    bool asked = false;
    Ptr<EVP_PKEY> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, &asked));
    if (key == nullptr && asked) {
      ERR_clear_error();
      return Invalid(path + ": private key is encrypted; not supported");
    }
    if (key == nullptr) {
      return OpenSslError(ErrorCode::kInvalidArgument,
                          path + ": bad PEM private key");
    }
    return KeyFile{std::move(key), true};
  }
  if (text.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos) {
    Ptr<EVP_PKEY> key(
        PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (key == nullptr) {
      return OpenSslError(ErrorCode::kInvalidArgument,
                          path + ": bad PEM public key");
    }
    return KeyFile{std::move(key), false};
  }
  return KeyFile{};
}

// All certificates of a --set file: PEM (one or more) or DER.
Result<std::vector<Ptr<X509>>> LoadSetFile(const std::string& path) {
  auto pem = LoadPemCertificates(path);
  if (pem.has_value()) {
    return std::move(pem).value();
  }
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> der, LoadCertificate(path));
  std::vector<Ptr<X509>> out;
  out.push_back(std::move(der));
  return out;
}

struct Field {
  std::string name;
  std::string value;
};

struct Verdict {
  std::string name;
  std::string value;  // "ok", "FAIL: ...", "not checked (...)", ...
  bool failed = false;
};

Verdict Ok(std::string name) { return {std::move(name), "ok", false}; }
Verdict Fail(std::string name, const std::string& why) {
  return {std::move(name), "FAIL: " + why, true};
}
Verdict Note(std::string name, std::string note) {
  return {std::move(name), std::move(note), false};
}

bool IsSelfSigned(X509* cert) {
  const bool ok = X509_check_issued(cert, cert) == X509_V_OK &&
                  X509_verify(cert, X509_get0_pubkey(cert)) == 1;
  ERR_clear_error();
  return ok;
}

// One kernel rule as the report states it: broken under a targeted kernel
// FAILs; broken only under another studied kernel is noted.
Verdict RuleVerdict(const KeyringRuleOutcome& o, const ShowTarget& t,
                    const std::vector<KeyringRuleOutcome>& all) {
  if (o.broken_under.empty()) {
    return Ok(o.name);
  }
  auto targeted = std::find_if(
      o.broken_under.begin(), o.broken_under.end(),
      [&](const KernelKeyringRules* r) { return t.target.Applies(*r); });
  if (targeted == o.broken_under.end()) {
    return Note(o.name, "not enforced by kernel " + t.label + ": " + o.broken +
                            "; " + RuleSetName(*o.broken_under.front()) +
                            " refuses it");
  }
  return Fail(o.name, o.broken + RefusalContext(o, **targeted, t.target, all));
}

// The chain needs the CA; without --ca only a self-signed certificate is
// known to fail (the kernel's CAs never issued it).
Verdict ChainVerdict(const KeyringRuleOutcome& o, const ShowTarget& t,
                     const std::vector<KeyringRuleOutcome>& all, X509* cert) {
  if (o.checked) {
    return RuleVerdict(o, t, all);
  }
  if (IsSelfSigned(cert)) {
    return Fail(o.name,
                "self-signed; the .ima/.evm keyrings accept only "
                "certificates signed by a trusted CA");
  }
  return Note(o.name, "not checked (no --ca)");
}

// No studied kernel checks the dates; a rule set that did would FAIL.
Verdict ValidityVerdict(X509* cert, const ShowTarget& t) {
  const std::string name = "validity_dates";
  std::string why;
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    why = "expired " + IsoTime(X509_get0_notAfter(cert));
  } else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    why = "not valid before " + IsoTime(X509_get0_notBefore(cert));
  }
  if (why.empty()) {
    return Ok(name);
  }
  if (t.target.ChecksValidityDates()) {
    return Fail(name, why);
  }
  return Note(name, "not enforced by kernel " + t.label + ": " + why +
                        "; no studied kernel checks the validity dates of "
                        ".ima/.evm keys");
}

// How the kernel finds the CA that issued the certificate.
std::string CaLookup(const X509* cert) {
  const KernelAuthIds ids = KernelAuthIdsOf(cert);
  if (ids.a0.has_value()) {
    return ids.a1.has_value() ? "AKID keyid and issuer+serial"
                              : "AKID issuer+serial";
  }
  return ids.a1.has_value() ? "AKID keyid" : "issuer name (no AKID)";
}

// evmctl 1.4 finds keys by the SHA-1 of the key, not by the SKID.
Result<Verdict> SkidHashVerdict(X509* cert) {
  auto cert_keyid = KeyIdFromCertificate(cert);
  if (!cert_keyid.has_value()) {
    return Note("skid_is_hash", "not checked (no SKID)");
  }
  IMAB_ASSIGN_OR_RETURN(uint32_t key_keyid,
                        KeyIdFromPublicKey(X509_get0_pubkey(cert)));
  if (key_keyid != *cert_keyid) {
    return Fail("skid_is_hash",
                "SKID is not the SHA-1 of the key; evmctl 1.4 would look "
                "for keyid " +
                    KeyIdHex(key_keyid));
  }
  return Ok("skid_is_hash");
}

Result<Verdict> UniqueVerdict(X509* cert, const std::vector<std::string>& set) {
  const std::string name = "keyid_unique";
  if (set.empty()) {
    return Note(name, "not checked (no --set)");
  }
  auto keyid = KeyIdFromCertificate(cert);
  if (!keyid.has_value()) {
    return Fail(name, "no keyid (no SKID)");
  }
  for (const std::string& path : set) {
    IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> certs, LoadSetFile(path));
    for (const Ptr<X509>& other : certs) {
      // The same certificate listed in the set is not a collision.
      if (X509_cmp(cert, other.get()) == 0) {
        continue;
      }
      auto other_keyid = KeyIdFromCertificate(other.get());
      if (other_keyid.has_value() && *other_keyid == *keyid) {
        return Fail(name, "keyid " + KeyIdHex(*keyid) + " also used by " +
                              path + " (" + SubjectLine(other.get()) + ")");
      }
    }
  }
  return Ok(name);
}

std::string Padding(const std::string& name, size_t width) {
  return std::string(name.size() < width ? width - name.size() : 1, ' ');
}

std::string Render(const std::vector<Field>& fields,
                   const std::vector<Verdict>& verdicts, bool all_ok,
                   bool json) {
  std::string out;
  if (json) {
    out = "{";
    const char* sep = "";
    for (const Field& f : fields) {
      out += sep;
      out += JsonString(f.name) + ": " + JsonString(f.value);
      sep = ", ";
    }
    for (const Verdict& v : verdicts) {
      out += sep;
      out += JsonString("rule_" + v.name) + ": " + JsonString(v.value);
      sep = ", ";
    }
    out += sep;
    out += std::string("\"all_ok\": ") + (all_ok ? "true" : "false") + "}\n";
    return out;
  }
  // Values line up: field values at column 13, verdicts at column 21.
  for (const Field& f : fields) {
    out += f.name + ":" + Padding(f.name, 12) + f.value + "\n";
  }
  if (!verdicts.empty()) {
    out += "kernel rules:\n";
  }
  for (const Verdict& v : verdicts) {
    out += "  " + v.name + ":" + Padding(v.name, 18) + v.value + "\n";
  }
  return out;
}

Result<ShowReport> ShowKeyFile(const ShowOptions& o, const EVP_PKEY* key,
                               bool is_private) {
  IMAB_ASSIGN_OR_RETURN(uint32_t keyid, KeyIdFromPublicKey(key));
  IMAB_ASSIGN_OR_RETURN(std::string spki, SpkiSha256(key));
  std::vector<Field> fields = {
      {"file", o.path},
      {"type", is_private ? "private key" : "public key"},
      {"key", DescribeKey(key)},
      {"keyid", KeyIdHex(keyid)},
      {"spki_sha256", spki},
  };
  Status type = CheckKernelKeyType(key);
  std::vector<Verdict> verdicts = {
      type.ok() ? Ok("key_type") : Fail("key_type", type.error().message)};
  ShowReport report;
  report.all_ok = true;  // a key file has no chain or usage to judge
  report.text = Render(fields, verdicts, report.all_ok, o.json);
  return report;
}

Result<std::vector<Verdict>> CertificateVerdicts(const ShowOptions& o,
                                                 const ShowTarget& t,
                                                 X509* cert) {
  Ptr<X509> ca;  // --ca, when given
  if (!o.ca_path.empty()) {
    IMAB_ASSIGN_OR_RETURN(ca, LoadCertificate(o.ca_path));
  }
  X509* const ca_list[] = {ca.get()};
  std::optional<std::span<X509* const>> cas;
  if (ca != nullptr) {
    cas = ca_list;
  }
  std::vector<Verdict> verdicts;
  const std::vector<KeyringRuleOutcome> all = EvaluateKeyringRules(cert, cas);
  for (const KeyringRuleOutcome& outcome : all) {
    verdicts.push_back(outcome.name == "chains_to_ca"
                           ? ChainVerdict(outcome, t, all, cert)
                           : RuleVerdict(outcome, t, all));
  }
  verdicts.push_back(ValidityVerdict(cert, t));
  IMAB_ASSIGN_OR_RETURN(Verdict skid_hash, SkidHashVerdict(cert));
  verdicts.push_back(std::move(skid_hash));
  IMAB_ASSIGN_OR_RETURN(Verdict unique, UniqueVerdict(cert, o.set));
  verdicts.push_back(std::move(unique));
  ERR_clear_error();
  return verdicts;
}

Result<ShowReport> ShowCertificate(const ShowOptions& o, X509* cert) {
  IMAB_ASSIGN_OR_RETURN(ShowTarget target, TargetOf(o));
  const EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    return OpenSslError(ErrorCode::kInvalidArgument,
                        o.path + ": unsupported public key");
  }
  IMAB_ASSIGN_OR_RETURN(std::string spki, SpkiSha256(key));
  auto keyid = KeyIdFromCertificate(cert);
  std::vector<Field> fields = {
      {"file", o.path},
      {"type", "certificate"},
      {"subject", SubjectLine(cert)},
      {"issuer", IssuerLine(cert)},
      {"serial", BytesHex(X509_get0_serialNumber(cert))},
      {"key", DescribeKey(key)},
      {"keyid", keyid.has_value() ? KeyIdHex(*keyid) : "(none: no SKID)"},
      {"skid", BytesHex(X509_get0_subject_key_id(cert))},
      {"akid", BytesHex(X509_get0_authority_key_id(cert))},
      {"ca_lookup", CaLookup(cert)},
      {"not_before", IsoTime(X509_get0_notBefore(cert))},
      {"not_after", IsoTime(X509_get0_notAfter(cert))},
      {"spki_sha256", spki},
      {"kernel", target.label},
  };
  IMAB_ASSIGN_OR_RETURN(std::vector<Verdict> verdicts,
                        CertificateVerdicts(o, target, cert));
  ShowReport report;
  report.all_ok = std::none_of(verdicts.begin(), verdicts.end(),
                               [](const Verdict& v) { return v.failed; });
  report.text = Render(fields, verdicts, report.all_ok, o.json);
  return report;
}

}  // namespace

Result<ShowReport> ShowKey(const ShowOptions& o) {
  if (o.path.empty()) {
    return Invalid("show needs a certificate or key file");
  }
  IMAB_ASSIGN_OR_RETURN(KeyFile key_file, LoadKeyFile(o.path));
  if (key_file.key != nullptr) {
    return ShowKeyFile(o, key_file.key.get(), key_file.is_private);
  }
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, LoadCertificate(o.path));
  return ShowCertificate(o, cert.get());
}

}  // namespace imab::builder
