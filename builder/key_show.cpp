#include "builder/key_show.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

#include "common/digest_signature.h"
#include "common/hex.h"
#include "common/json_text.h"
#include "common/kernel_profile.h"
#include "common/keyid.h"
#include "common/openssl_error.h"
#include "common/x509_util.h"

namespace imab::builder {
namespace {

// Key and certificate files are small; this bounds what a wrong path makes
// `show` read into memory.
constexpr long kMaxInputFileBytes = 1L << 20;

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

// Kernel rules that changed in 6.6 are enforced on the target?
Result<bool> TargetIsAtLeast66(const ShowOptions& o, std::string* label) {
  bool old = false;
  *label = ">= 6.6 (assumed)";
  if (!o.kernel_profile.empty()) {
    IMAB_RETURN_IF_ERROR(ParseKernelProfile(o.kernel_profile));
    if (o.kernel_profile.find(':') != std::string::npos) {
      old = true;  // an xattr list describes a kernel before 5.14
      *label = "< 5.14 (profile " + o.kernel_profile + ")";
    }
  }
  if (!o.kernel_version.empty()) {
    int major = 0;
    int minor = 0;
    char dot = 0;
    const std::string& v = o.kernel_version;
    // Accepts "6.6", "5.15.0-91-generic", ...: only X.Y matters.
    if (std::sscanf(v.c_str(), "%3d%c%3d", &major, &dot, &minor) != 3 ||
        dot != '.' || major < 2 || minor < 0 ||
        v.find_first_not_of("0123456789") == 0) {
      return Invalid("kernel version \"" + v + "\": expected X.Y (e.g. 6.6)");
    }
    const bool version_old = major < 6 || (major == 6 && minor < 6);
    old = old || version_old;
    *label =
        std::string(version_old ? "< 6.6" : ">= 6.6") + " (version " + v + ")";
  }
  return !old;
}

// Reads a whole key or certificate file into a secure-heap BIO (it may hold
// a private key), bounded by kMaxInputFileBytes.
Result<Ptr<BIO>> ReadSmallFile(const std::string& path) {
  ERR_clear_error();
  Ptr<BIO> file(BIO_new_file(path.c_str(), "rb"));
  if (file == nullptr) {
    return OpenSslError(ErrorCode::kIo, path + ": cannot open");
  }
  Ptr<BIO> mem(BIO_new(BIO_s_secmem()));
  if (mem == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "BIO_new");
  }
  std::array<char, 4096> buf{};
  long total = 0;
  for (;;) {
    int n = BIO_read(file.get(), buf.data(), static_cast<int>(buf.size()));
    if (n <= 0) {
      break;
    }
    total += n;
    if (total > kMaxInputFileBytes) {
      return Invalid(path + ": larger than 1 MiB, not a key or certificate");
    }
    if (BIO_write(mem.get(), buf.data(), n) != n) {
      return OpenSslError(ErrorCode::kInternal, "BIO_write");
    }
  }
  OPENSSL_cleanse(buf.data(), buf.size());
  if (!BIO_eof(file.get())) {
    return OpenSslError(ErrorCode::kIo, path + ": read failed");
  }
  return mem;
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
  IMAB_ASSIGN_OR_RETURN(Ptr<BIO> bio, ReadSmallFile(path));
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string_view text(data == nullptr ? "" : data,
                        data == nullptr ? 0 : static_cast<size_t>(len));
  ERR_clear_error();
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

Result<Verdict> ChainVerdict(X509* cert, const std::string& ca_path) {
  const std::string name = "chains_to_ca";
  if (ca_path.empty()) {
    if (IsSelfSigned(cert)) {
      return Fail(name,
                  "self-signed; the .ima/.evm keyrings accept only "
                  "certificates signed by a trusted CA");
    }
    return Note(name, "not checked (no --ca)");
  }
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> ca, LoadCertificate(ca_path));
  const int verified = X509_verify(cert, X509_get0_pubkey(ca.get()));
  ERR_clear_error();
  if (verified != 1) {
    return Fail(name, "signature does not verify with the key of " + ca_path);
  }
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(cert);
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(ca.get());
  if (akid == nullptr) {
    return Fail(name, "no AKID keyid to match " + ca_path + "'s SKID");
  }
  if (skid == nullptr || ASN1_OCTET_STRING_cmp(akid, skid) != 0) {
    return Fail(name, "AKID " + BytesHex(akid) + " is not the SKID of " +
                          ca_path + " (" + BytesHex(skid) + ")");
  }
  return Ok(name);
}

Verdict AkidVerdict(X509* cert) {
  // The kernel takes the AKID keyid or the AKID issuer+serial.
  if (X509_get0_authority_key_id(cert) != nullptr ||
      (X509_get0_authority_issuer(cert) != nullptr &&
       X509_get0_authority_serial(cert) != nullptr)) {
    return Ok("has_akid");
  }
  return Fail("has_akid",
              "no authorityKeyIdentifier; the kernel refuses it (ENOKEY)");
}

// A rule added in 6.6: on older kernels a violation is only reported.
Verdict Rule66(std::string name, const std::string& why, bool enforced) {
  if (why.empty()) {
    return Ok(std::move(name));
  }
  if (!enforced) {
    return Note(std::move(name), "not enforced (kernel < 6.6): " + why);
  }
  return Fail(std::move(name), why + " (kernel >= 6.6 refuses it)");
}

std::vector<Verdict> UsageVerdicts(X509* cert, bool enforced) {
  const uint32_t flags = X509_get_extension_flags(cert);
  const uint32_t usage = X509_get_key_usage(cert);
  std::string ds_why;
  if ((flags & EXFLAG_KUSAGE) == 0) {
    ds_why = "no keyUsage extension";
  } else if ((usage & KU_DIGITAL_SIGNATURE) == 0) {
    ds_why = "keyUsage lacks digitalSignature";
  }
  std::string ca_why;
  if ((flags & EXFLAG_CA) != 0) {
    ca_why = "basicConstraints CA:TRUE";
  } else if ((flags & EXFLAG_KUSAGE) != 0 && (usage & KU_KEY_CERT_SIGN) != 0) {
    ca_why = "keyUsage has keyCertSign";
  }
  return {Rule66("digital_signature", ds_why, enforced),
          Rule66("not_ca", ca_why, enforced)};
}

Result<std::vector<Verdict>> SkidVerdicts(X509* cert) {
  std::vector<Verdict> out;
  auto cert_keyid = KeyIdFromCertificate(cert);
  if (!cert_keyid.has_value()) {
    out.push_back(Fail("has_skid", cert_keyid.error().message));
    out.push_back(Note("skid_is_hash", "not checked (no SKID)"));
    return out;
  }
  out.push_back(Ok("has_skid"));
  IMAB_ASSIGN_OR_RETURN(uint32_t key_keyid,
                        KeyIdFromPublicKey(X509_get0_pubkey(cert)));
  if (key_keyid != *cert_keyid) {
    out.push_back(Fail("skid_is_hash",
                       "SKID is not the SHA-1 of the key; evmctl 1.4 would "
                       "look for keyid " +
                           KeyIdHex(key_keyid)));
  } else {
    out.push_back(Ok("skid_is_hash"));
  }
  return out;
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

Result<ShowReport> ShowCertificate(const ShowOptions& o, X509* cert) {
  std::string kernel_label;
  IMAB_ASSIGN_OR_RETURN(bool enforced, TargetIsAtLeast66(o, &kernel_label));
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
      {"not_before", IsoTime(X509_get0_notBefore(cert))},
      {"not_after", IsoTime(X509_get0_notAfter(cert))},
      {"spki_sha256", spki},
      {"kernel", kernel_label},
  };
  std::vector<Verdict> verdicts;
  IMAB_ASSIGN_OR_RETURN(Verdict chain, ChainVerdict(cert, o.ca_path));
  verdicts.push_back(std::move(chain));
  verdicts.push_back(AkidVerdict(cert));
  for (Verdict& v : UsageVerdicts(cert, enforced)) {
    verdicts.push_back(std::move(v));
  }
  Status type = CheckKernelKeyType(key);
  verdicts.push_back(type.ok() ? Ok("key_type")
                               : Fail("key_type", type.error().message));
  IMAB_ASSIGN_OR_RETURN(std::vector<Verdict> skid, SkidVerdicts(cert));
  for (Verdict& v : skid) {
    verdicts.push_back(std::move(v));
  }
  IMAB_ASSIGN_OR_RETURN(Verdict unique, UniqueVerdict(cert, o.set));
  verdicts.push_back(std::move(unique));
  ERR_clear_error();
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
