// `imab-build trust-root create|sign|show` (FORMAT.md §8).
#include "builder/trust_root_commands.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <utility>

#include "builder/private_keys.h"
#include "builder/secret_string.h"
#include "builder/signing_identity.h"
#include "common/read/atomic_file.h"
#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/hex.h"
#include "common/read/input_file.h"
#include "common/read/json_text.h"
#include "common/read/limits.h"
#include "common/read/openssl_error.h"
#include "common/read/trust_root.h"
#include "common/read/x509_util.h"
#include "common/write/asn1_time.h"
#include "common/write/dev_keys.h"
#include "common/write/trust_root_writer.h"

namespace imab::builder {
namespace {

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

Result<SignedTrustRoot> ReadRoot(const std::string& path) {
  IMAB_ASSIGN_OR_RETURN(std::string bytes,
                        ReadInputFile(path, kMaxTrustRootBytes));
  Result<SignedTrustRoot> root = ParseSignedTrustRoot(bytes);
  if (!root.has_value()) {
    return WithContext(std::move(root).error(), path);
  }
  return root;
}

Result<std::string> SpkiDer(const EVP_PKEY* key, const std::string& label) {
  int id = EVP_PKEY_get_base_id(key);
  if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC) {
    return Invalid(label + ": only RSA and EC keys can sign trust roots");
  }
  ERR_clear_error();
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) {
    return OpenSslError(ErrorCode::kInvalidArgument,
                        label + ": cannot encode public key");
  }
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(key, &p) != len) {
    return OpenSslError(ErrorCode::kInternal, label + ": i2d_PUBKEY");
  }
  return der;
}

// SPKI DER of a key source: a PEM private key (its public half), a PEM
// public key, or a PEM/DER certificate.
Result<std::string> LoadPublicSpki(const std::string& path) {
  // It may hold a private key: read into a buffer that is wiped.
  SecretString bytes(kMaxKeyFileBytes);
  IMAB_RETURN_IF_ERROR(ReadSecretFile(path, bytes));
  const std::string& text = bytes.str();
  if (text.find("PRIVATE KEY-----") != std::string::npos) {
    IMAB_ASSIGN_OR_RETURN(Ptr<EVP_PKEY> key, LoadPrivateKeyFile(path));
    return SpkiDer(key.get(), path);
  }
  if (text.find("-----BEGIN PUBLIC KEY-----") != std::string::npos) {
    ERR_clear_error();
    Ptr<BIO> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    Ptr<EVP_PKEY> key(bio == nullptr ? nullptr
                                     : PEM_read_bio_PUBKEY(bio.get(), nullptr,
                                                           nullptr, nullptr));
    if (key == nullptr) {
      return OpenSslError(ErrorCode::kInvalidArgument,
                          path + ": bad PEM public key");
    }
    return SpkiDer(key.get(), path);
  }
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, LoadCertificate(path));
  const EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr) {
    return OpenSslError(ErrorCode::kInvalidArgument,
                        path + ": certificate has no usable public key");
  }
  return SpkiDer(key, path);
}

std::string Sha256Hex(const std::string& bytes) {
  Result<Sha256Digest> d = Sha256Of(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  return d.has_value() ? HexEncode(*d) : std::string("(digest failed)");
}

struct CaInfo {
  std::string subject, spki_sha256, not_after;
};
struct KeyInfo {
  std::string spki_sha256;
  bool signed_ok = false;
};
struct Verdict {
  bool ok = false;
  std::string reason;  // empty when ok
};

Verdict ToVerdict(const Status& s) {
  if (s.ok()) {
    return Verdict{true, {}};
  }
  return Verdict{false, s.error().message};
}

CaInfo DescribeCa(const std::string& der) {
  Result<Ptr<X509>> parsed = ParseCertificateDer(der, "release-ca");
  if (!parsed.has_value()) {
    return CaInfo{"(unparsable)", "", ""};
  }
  Ptr<X509> cert = std::move(*parsed);
  CaInfo info{SubjectLine(cert.get()), "",
              IsoTime(X509_get0_notAfter(cert.get()))};
  Result<std::string> spki = SpkiSha256Hex(X509_get0_pubkey(cert.get()));
  info.spki_sha256 = spki.has_value() ? *spki : "(unavailable)";
  ERR_clear_error();
  return info;
}

std::string RenderText(const SignedTrustRoot& root,
                       const std::vector<CaInfo>& cas,
                       const std::vector<KeyInfo>& keys, const Verdict& self,
                       const Verdict* successor, bool all_ok) {
  std::string out = "trust root version " + std::to_string(root.body.version) +
                    "\nthreshold: " + std::to_string(root.body.threshold) +
                    " of " + std::to_string(keys.size()) + " keys\n";
  for (const CaInfo& ca : cas) {
    out += "release-ca: " + ca.subject + "\n  spki-sha256: " + ca.spki_sha256 +
           "\n  not-after: " + ca.not_after + "\n";
  }
  for (const KeyInfo& key : keys) {
    out += "key: " + key.spki_sha256 +
           (key.signed_ok ? " (signed)\n" : " (not signed)\n");
  }
  out += "signatures: " + std::to_string(root.signatures.size()) + "\n";
  out += "self-threshold: " +
         (self.ok ? std::string("ok") : "FAIL (" + self.reason + ")") + "\n";
  if (successor != nullptr) {
    out += "successor: " +
           (successor->ok ? std::string("ok")
                          : "FAIL (" + successor->reason + ")") +
           "\n";
  }
  out += all_ok ? "result: ok\n" : "result: FAIL\n";
  return out;
}

std::string RenderJson(const SignedTrustRoot& root,
                       const std::vector<CaInfo>& cas,
                       const std::vector<KeyInfo>& keys, const Verdict& self,
                       const Verdict* successor, bool all_ok) {
  std::string out = "{\"version\": " + std::to_string(root.body.version) +
                    ", \"threshold\": " + std::to_string(root.body.threshold) +
                    ", \"release_cas\": [";
  for (size_t i = 0; i < cas.size(); ++i) {
    out += std::string(i == 0 ? "" : ", ") +
           "{\"subject\": " + JsonString(cas[i].subject) +
           ", \"spki_sha256\": " + JsonString(cas[i].spki_sha256) +
           ", \"not_after\": " + JsonString(cas[i].not_after) + "}";
  }
  out += "], \"keys\": [";
  for (size_t i = 0; i < keys.size(); ++i) {
    out += std::string(i == 0 ? "" : ", ") +
           "{\"spki_sha256\": " + JsonString(keys[i].spki_sha256) +
           ", \"signed\": " + (keys[i].signed_ok ? "true" : "false") + "}";
  }
  out += "], \"signatures\": " + std::to_string(root.signatures.size()) +
         ", \"self_threshold\": " + JsonString(self.ok ? "ok" : "FAIL");
  if (!self.ok) {
    out += ", \"self_threshold_reason\": " + JsonString(self.reason);
  }
  if (successor != nullptr) {
    out += ", \"successor\": " + JsonString(successor->ok ? "ok" : "FAIL");
    if (!successor->ok) {
      out += ", \"successor_reason\": " + JsonString(successor->reason);
    }
  }
  out += std::string(", \"ok\": ") + (all_ok ? "true" : "false") + "}\n";
  return out;
}

// What `trust-root create` can check before reading any file.
Status CheckCreateOptions(const TrustRootCreateOptions& options) {
  if (options.out.empty()) {
    return Invalid("trust-root create: --out is required");
  }
  if (options.version == 0) {
    return Invalid("trust-root create: --version must be at least 1");
  }
  if (options.release_cas.empty() || options.keys.empty()) {
    return Invalid(
        "trust-root create: need at least one --release-ca and "
        "one --key");
  }
  if (options.keys.size() > kMaxTrustRootEntries) {
    return Invalid("trust-root create: more than " +
                   std::to_string(kMaxTrustRootEntries) + " keys");
  }
  if (options.threshold == 0 || options.threshold > options.keys.size()) {
    return Invalid("trust-root create: --threshold " +
                   std::to_string(options.threshold) + " must be 1.." +
                   std::to_string(options.keys.size()) +
                   " (the number of keys)");
  }
  return OkStatus();
}

// Every certificate of each file in `paths`, DER, in file order; refuses a
// duplicate and more than kMaxTrustRootEntries in all.
Result<std::vector<std::string>> LoadReleaseCas(
    const std::vector<std::string>& paths) {
  std::vector<std::string> ders;
  for (const std::string& path : paths) {
    IMAB_ASSIGN_OR_RETURN(std::vector<Ptr<X509>> certs,
                          LoadPemCertificates(path));
    for (const Ptr<X509>& cert : certs) {
      IMAB_ASSIGN_OR_RETURN(std::string der, CertificateDer(cert.get()));
      if (std::find(ders.begin(), ders.end(), der) != ders.end()) {
        return Invalid(path + ": duplicate release CA " +
                       SubjectLine(cert.get()));
      }
      ders.push_back(std::move(der));
    }
  }
  if (ders.size() > kMaxTrustRootEntries) {
    return Invalid("trust-root create: more than " +
                   std::to_string(kMaxTrustRootEntries) + " release CAs");
  }
  return ders;
}

// The DER SubjectPublicKeyInfo of each key source in `paths`; refuses a
// duplicate.
Result<std::vector<std::string>> LoadRootKeys(
    const std::vector<std::string>& paths) {
  std::vector<std::string> ders;
  for (const std::string& path : paths) {
    IMAB_ASSIGN_OR_RETURN(std::string der, LoadPublicSpki(path));
    if (std::find(ders.begin(), ders.end(), der) != ders.end()) {
      return Invalid(path + ": duplicate key " + Sha256Hex(der));
    }
    ders.push_back(std::move(der));
  }
  return ders;
}

std::string DescribeCreated(const TrustRootBody& body, const std::string& out) {
  std::string report = "wrote unsigned trust root version " +
                       std::to_string(body.version) + " (threshold " +
                       std::to_string(body.threshold) + " of " +
                       std::to_string(body.keys.size()) + " keys, " +
                       std::to_string(body.release_cas.size()) +
                       " release CAs) to " + out + "\n";
  for (const std::string& key : body.keys) {
    report += "  key " + Sha256Hex(key) + "\n";
  }
  return report;
}

}  // namespace

Result<std::string> CreateTrustRoot(const TrustRootCreateOptions& options) {
  IMAB_RETURN_IF_ERROR(CheckCreateOptions(options));
  SignedTrustRoot root;
  root.body.version = options.version;
  root.body.threshold = options.threshold;
  IMAB_ASSIGN_OR_RETURN(root.body.release_cas,
                        LoadReleaseCas(options.release_cas));
  IMAB_ASSIGN_OR_RETURN(root.body.keys, LoadRootKeys(options.keys));
  std::sort(root.body.release_cas.begin(), root.body.release_cas.end());
  std::sort(root.body.keys.begin(), root.body.keys.end());
  std::string bytes = EncodeSignedTrustRoot(root);
  // The writer and the verifier's parser must agree; check before writing.
  Result<SignedTrustRoot> parsed = ParseSignedTrustRoot(bytes);
  if (!parsed.has_value()) {
    return WithContext(std::move(parsed).error(), "trust-root create");
  }
  IMAB_RETURN_IF_ERROR(WriteFileAtomically(options.out, bytes));
  return DescribeCreated(root.body, options.out);
}

Result<std::string> SignTrustRoot(const TrustRootSignOptions& options) {
  if (options.out.empty()) {
    return Invalid("trust-root sign: --out is required");
  }
  IMAB_ASSIGN_OR_RETURN(SignedTrustRoot root, ReadRoot(options.root));
  PrivateKeys keys(options.pkcs11_module);
  IMAB_ASSIGN_OR_RETURN(EVP_PKEY * key, keys.LoadKey(options.key));
  IMAB_ASSIGN_OR_RETURN(std::string spki, SpkiDer(key, options.key));
  const std::string key_id = Sha256Hex(spki);
  ERR_clear_error();
  Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return OpenSslError(ErrorCode::kInternal,
                        options.key + ": EVP_DigestSignInit");
  }
  const auto* body =
      reinterpret_cast<const unsigned char*>(root.body_bytes.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, body, root.body_bytes.size()) !=
      1) {
    return OpenSslError(ErrorCode::kInternal,
                        options.key + ": EVP_DigestSign (size)");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()),
                     &len, body, root.body_bytes.size()) != 1) {
    return OpenSslError(ErrorCode::kInternal, options.key + ": EVP_DigestSign");
  }
  sig.resize(len);
  // Replace this key's signature, or insert it in KEYID order.
  auto it =
      std::lower_bound(root.signatures.begin(), root.signatures.end(), key_id,
                       [](const TrustRootSignature& s, const std::string& id) {
                         return s.key_id < id;
                       });
  if (it != root.signatures.end() && it->key_id == key_id) {
    it->signature = std::move(sig);
  } else {
    root.signatures.insert(it, TrustRootSignature{key_id, std::move(sig)});
  }
  std::string bytes = EncodeSignedTrustRoot(root);
  IMAB_ASSIGN_OR_RETURN(SignedTrustRoot check, ParseSignedTrustRoot(bytes));
  // A token that returned garbage must not produce a file that looks signed.
  std::string signer[] = {spki};
  IMAB_RETURN_IF_ERROR(CheckTrustRootSignatures(check, signer, 1, options.key));
  IMAB_RETURN_IF_ERROR(WriteFileAtomically(options.out, bytes));
  bool listed = std::find(root.body.keys.begin(), root.body.keys.end(), spki) !=
                root.body.keys.end();
  return "signed trust root version " + std::to_string(root.body.version) +
         " with key " + key_id +
         (listed ? " (a key of this root)" : " (not a key of this root)") +
         "; " + std::to_string(root.signatures.size()) + " signature(s) in " +
         options.out + "\n";
}

Result<std::pair<std::string, bool>> ShowTrustRoot(
    const TrustRootShowOptions& options) {
  IMAB_ASSIGN_OR_RETURN(SignedTrustRoot root, ReadRoot(options.root));
  std::vector<CaInfo> cas;
  for (const std::string& der : root.body.release_cas) {
    cas.push_back(DescribeCa(der));
  }
  std::vector<KeyInfo> keys;
  for (const std::string& der : root.body.keys) {
    std::string one[] = {der};
    keys.push_back(KeyInfo{Sha256Hex(der),
                           CheckTrustRootSignatures(root, one, 1, "it").ok()});
  }
  Verdict self = ToVerdict(CheckTrustRootSelfSigned(root));
  bool all_ok = self.ok;
  Verdict successor;
  bool have_previous = !options.previous.empty();
  if (have_previous) {
    IMAB_ASSIGN_OR_RETURN(SignedTrustRoot previous, ReadRoot(options.previous));
    successor = ToVerdict(CheckTrustRootSuccessor(previous, root));
    all_ok = all_ok && successor.ok;
  }
  const Verdict* succ = have_previous ? &successor : nullptr;
  std::string text = options.json
                         ? RenderJson(root, cas, keys, self, succ, all_ok)
                         : RenderText(root, cas, keys, self, succ, all_ok);
  return std::make_pair(std::move(text), all_ok);
}

}  // namespace imab::builder
