#include "builder/key_commands.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "builder/private_keys.h"
#include "builder/signing_identity.h"
#include "common/read/digest_signature.h"
#include "common/read/input_file.h"
#include "common/read/kernel_keyring.h"
#include "common/read/kernel_version.h"
#include "common/read/keyid.h"
#include "common/read/limits.h"
#include "common/read/openssl_error.h"
#include "common/read/x509_util.h"
#include "common/write/asn1_time.h"
#include "common/write/dev_keys.h"
#include "common/write/public_key_id.h"

namespace imab::builder {
namespace {

constexpr size_t kMaxSubjectBytes = 1024;
constexpr int kMaxDays = 36500;
constexpr int kMaxKeyAttempts = 16;
constexpr int kReleaseCaDays = 3650;

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// ---------------------------------------------------------------------------
// Small formatting helpers.

std::string AlgorithmName(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kRsa2048:
      return "rsa:2048";
    case KeyAlgorithm::kRsa3072:
      return "rsa:3072";
    case KeyAlgorithm::kRsa4096:
      return "rsa:4096";
    case KeyAlgorithm::kEcP256:
      return "ec:p256";
    case KeyAlgorithm::kEcP384:
      return "ec:p384";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------
// Output files.

// A file created with O_EXCL (never replacing anything), removed again at
// scope end unless Keep() was called, so a failed command leaves nothing.
class NewFile {
 public:
  static Result<NewFile> Create(const std::string& path, mode_t mode) {
    UniqueFd fd(::open(path.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                       mode));
    if (!fd.valid()) {
      const int err = errno;
      if (err == EEXIST) {
        return Invalid(path + ": already exists; refusing to overwrite");
      }
      return MakeError(ErrorCode::kIo,
                       path + ": cannot create: " + std::strerror(err));
    }
    NewFile file(std::move(fd), path);
    // The umask could only remove bits; fchmod pins the exact mode.
    if (::fchmod(file.fd_.get(), mode) != 0) {
      return MakeError(ErrorCode::kIo,
                       path + ": fchmod: " + std::strerror(errno));
    }
    return file;
  }
  NewFile(NewFile&& other) noexcept
      : fd_(std::move(other.fd_)),
        path_(std::exchange(other.path_, {})),
        keep_(other.keep_) {}
  NewFile& operator=(NewFile&&) = delete;
  ~NewFile() {
    if (!path_.empty() && !keep_) {
      ::unlink(path_.c_str());
    }
  }

  Status Write(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::write(fd_.get(), bytes + done, size - done);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return MakeError(ErrorCode::kIo,
                         path_ + ": write: " + std::strerror(errno));
      }
      done += static_cast<size_t>(n);
    }
    return OkStatus();
  }

  Status SyncAndClose() {
    if (::fsync(fd_.get()) != 0) {
      return MakeError(ErrorCode::kIo,
                       path_ + ": fsync: " + std::strerror(errno));
    }
    if (::close(fd_.release()) != 0) {
      return MakeError(ErrorCode::kIo,
                       path_ + ": close: " + std::strerror(errno));
    }
    return OkStatus();
  }

  void Keep() { keep_ = true; }

 private:
  NewFile(UniqueFd fd, std::string path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;  // empty once moved from
  bool keep_ = false;
};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

bool IsDerName(const std::string& path) { return EndsWith(path, ".der"); }

// Refuses before the (slow) key generation what O_EXCL would refuse later.
Status CheckOutputPaths(const std::vector<const std::string*>& paths) {
  for (size_t i = 0; i < paths.size(); ++i) {
    if (paths[i]->empty()) {
      return Invalid("both an output key and an output certificate are needed");
    }
    for (size_t j = 0; j < i; ++j) {
      if (*paths[i] == *paths[j]) {
        return Invalid(*paths[i] + ": two outputs need different files");
      }
    }
    struct stat st {};
    if (::lstat(paths[i]->c_str(), &st) == 0) {
      return Invalid(*paths[i] + ": already exists; refusing to overwrite");
    }
  }
  return OkStatus();
}

Status CheckOutputs(const std::string& key_path, const std::string& cert_path) {
  return CheckOutputPaths({&key_path, &cert_path});
}

// One key and its certificate to write.
struct Output {
  const std::string& key_path;
  EVP_PKEY* key;
  const std::string& cert_path;
  X509* cert;
};

// The PEM of `key` in a secure-heap BIO, cleansed when freed (a secret).
Result<Ptr<BIO>> EncodeKey(EVP_PKEY* key) {
  Ptr<BIO> pem(BIO_new(BIO_s_secmem()));
  if (pem == nullptr ||
      PEM_write_bio_PKCS8PrivateKey(pem.get(), key, nullptr, nullptr, 0,
                                    nullptr, nullptr) != 1) {
    return OpenSslError(ErrorCode::kInternal, "encoding the private key");
  }
  return pem;
}

Result<Ptr<BIO>> EncodeCert(const std::string& path, X509* cert) {
  Ptr<BIO> bytes(BIO_new(BIO_s_mem()));
  if (bytes == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "BIO_new");
  }
  const int encoded = IsDerName(path) ? i2d_X509_bio(bytes.get(), cert)
                                      : PEM_write_bio_X509(bytes.get(), cert);
  if (encoded != 1) {
    return OpenSslError(ErrorCode::kInternal, "encoding the certificate");
  }
  return bytes;
}

Status WriteBio(NewFile& file, BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return file.Write(data, static_cast<size_t>(len));
}

// Writes each unencrypted PKCS#8 PEM key (mode 0600) and certificate (DER
// or PEM by name, mode 0644); on any failure none of the files remains.
Status WriteOutputs(const std::vector<Output>& outputs) {
  ERR_clear_error();
  std::vector<NewFile> files;
  files.reserve(outputs.size() * 2);
  for (const Output& o : outputs) {
    IMAB_ASSIGN_OR_RETURN(Ptr<BIO> key_pem, EncodeKey(o.key));
    IMAB_ASSIGN_OR_RETURN(Ptr<BIO> cert_bytes, EncodeCert(o.cert_path, o.cert));
    IMAB_ASSIGN_OR_RETURN(NewFile key_file, NewFile::Create(o.key_path, 0600));
    files.push_back(std::move(key_file));
    IMAB_RETURN_IF_ERROR(WriteBio(files.back(), key_pem.get()));
    IMAB_ASSIGN_OR_RETURN(NewFile cert_file,
                          NewFile::Create(o.cert_path, 0644));
    files.push_back(std::move(cert_file));
    IMAB_RETURN_IF_ERROR(WriteBio(files.back(), cert_bytes.get()));
  }
  for (NewFile& file : files) {
    IMAB_RETURN_IF_ERROR(file.SyncAndClose());
  }
  for (NewFile& file : files) {
    file.Keep();
  }
  return OkStatus();
}

Status WriteOutputs(const std::string& key_path, EVP_PKEY* key,
                    const std::string& cert_path, X509* cert) {
  return WriteOutputs({Output{key_path, key, cert_path, cert}});
}

// ---------------------------------------------------------------------------
// Building certificates.

struct Extension {
  int nid;
  std::string value;  // OpenSSL config syntax ("critical,CA:FALSE")
};

struct CertRequest {
  EVP_PKEY* key = nullptr;  // the subject's key
  std::string subject;
  int days = 0;
  X509* issuer_cert = nullptr;  // both null: self-signed
  EVP_PKEY* issuer_key = nullptr;
  std::vector<Extension> extensions;  // added in order
};

Status CheckDays(int days) {
  if (days < 1 || days > kMaxDays) {
    return Invalid("days must be 1.." + std::to_string(kMaxDays) + ", not " +
                   std::to_string(days));
  }
  return OkStatus();
}

Status SetSubject(X509* cert, const std::string& text) {
  IMAB_ASSIGN_OR_RETURN(auto parts, ParseSubject(text));
  X509_NAME* name = X509_get_subject_name(cert);  // owned by cert
  for (const auto& [field, value] : parts) {
    ERR_clear_error();
    if (X509_NAME_add_entry_by_txt(
            name, field.c_str(), MBSTRING_UTF8,
            reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
            0) != 1) {
      ERR_clear_error();
      return Invalid("bad subject \"" + text + "\": unknown attribute '" +
                     field + "' or bad value");
    }
  }
  return OkStatus();
}

// 16 random bytes, first byte 01xxxxxx: positive, no DER padding, non-zero.
Status SetRandomSerial(X509* cert) {
  std::array<unsigned char, 16> serial{};
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) {
    return OpenSslError(ErrorCode::kInternal, "RAND_bytes");
  }
  serial[0] = static_cast<unsigned char>((serial[0] & 0x3f) | 0x40);
  ASN1_INTEGER* number = X509_get_serialNumber(cert);  // owned by cert
  if (ASN1_STRING_set(number, serial.data(), static_cast<int>(serial.size())) !=
      1) {
    return OpenSslError(ErrorCode::kInternal, "setting the serial number");
  }
  return OkStatus();
}

const EVP_MD* SignatureDigest(const EVP_PKEY* signer) {
  // SHA-384 pairs with P-384 (RFC 5480); SHA-256 everywhere else.
  return EVP_PKEY_get_bits(signer) == 384 ? EVP_sha384() : EVP_sha256();
}

Result<Ptr<X509>> BuildCertificate(const CertRequest& request) {
  IMAB_RETURN_IF_ERROR(CheckDays(request.days));
  ERR_clear_error();
  Ptr<X509> cert(X509_new());
  if (cert == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "X509_new");
  }
  IMAB_RETURN_IF_ERROR(SetSubject(cert.get(), request.subject));
  IMAB_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  const bool self_signed = request.issuer_cert == nullptr;
  X509* issuer = self_signed ? cert.get() : request.issuer_cert;
  // Back-dated an hour so a device with a slightly slow clock accepts it.
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), request.days, 0,
                       nullptr) == nullptr ||
      X509_set_pubkey(cert.get(), request.key) != 1) {
    return OpenSslError(ErrorCode::kInternal, "building the certificate");
  }
  for (const Extension& e : request.extensions) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
    Ptr<X509_EXTENSION> ext(
        X509V3_EXT_nconf_nid(nullptr, &ctx, e.nid, e.value.c_str()));
    if (ext == nullptr || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return OpenSslError(
          ErrorCode::kInternal,
          std::string("extension ") + OBJ_nid2sn(e.nid) + "=" + e.value);
    }
  }
  EVP_PKEY* signer = self_signed ? request.key : request.issuer_key;
  if (X509_sign(cert.get(), signer, SignatureDigest(signer)) <= 0) {
    return OpenSslError(ErrorCode::kInternal, "signing the certificate");
  }
  return cert;
}

// Loads the CA key and certificate and checks that the certificate may
// issue: the kernel matches an issued certificate's AKID against the CA's
// SKID, and a CA without keyCertSign is not a CA for any verifier.
// `keys` opens the CA key (a file or a pkcs11: URI) and must outlive the
// returned identity.
// Refuses a CA key that example layers publish (its SPKI SHA-256 is in the
// built-in list or in `list_path`) unless `allow`.
Status RefuseDevKey(const EVP_PKEY* key, const std::string& label, bool allow,
                    const std::string& list_path) {
  std::string extra;
  if (!list_path.empty()) {
    IMAB_ASSIGN_OR_RETURN(extra, ReadInputFile(list_path, kMaxKeyFileBytes));
  }
  IMAB_ASSIGN_OR_RETURN(std::optional<DevKeyMatch> match,
                        FindDevKey(key, extra));
  if (match.has_value() && !allow) {
    return MakeError(ErrorCode::kPolicyRefused,
                     label + ": a published development key (" + match->kind +
                         "); refusing without --allow-dev-keys");
  }
  return OkStatus();
}

Result<SigningIdentity> LoadIssuer(PrivateKeys& keys,
                                   const std::string& key_path,
                                   const std::string& cert_path,
                                   bool allow_dev_keys,
                                   const std::string& dev_keys_list) {
  if (key_path.empty() || cert_path.empty()) {
    return Invalid("a CA needs both its key and its certificate");
  }
  IMAB_ASSIGN_OR_RETURN(SigningIdentity ca,
                        keys.LoadIdentity(key_path, cert_path, ""));
  X509* cert = ca.cert.get();
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_KUSAGE) == 0 ||
      (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0) {
    return Invalid(cert_path + ": not a CA (no keyCertSign)");
  }
  if ((flags & EXFLAG_CA) == 0) {
    return Invalid(cert_path + ": not a CA (no basicConstraints CA:TRUE)");
  }
  if (X509_get0_subject_key_id(cert) == nullptr) {
    return Invalid(cert_path +
                   ": CA certificate has no subjectKeyIdentifier; the "
                   "kernel could not match the AKID of what it issues");
  }
  ERR_clear_error();
  IMAB_RETURN_IF_ERROR(RefuseDevKey(X509_get0_pubkey(cert), cert_path,
                                    allow_dev_keys, dev_keys_list));
  return ca;
}

// What a release CA certificate may do: issue certificates and CRLs.
std::vector<Extension> CaExtensions() {
  return {
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_key_usage, "critical,keyCertSign,cRLSign"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  };
}

std::vector<Extension> SigningExtensions(bool code_signing) {
  std::vector<Extension> ext = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  };
  if (code_signing) {
    ext.push_back({NID_ext_key_usage, "critical,codeSigning"});
  }
  return ext;
}

// The common report of the create commands.
Result<CreatedKey> Describe(const std::string& key_path, const EVP_PKEY* key,
                            const std::string& cert_path, const X509* cert) {
  IMAB_ASSIGN_OR_RETURN(uint32_t keyid, KeyIdFromCertificate(cert));
  CreatedKey out;
  out.keyid = keyid;
  out.report = "wrote " + key_path + " (" + DescribeKey(key) +
               ", unencrypted PKCS#8 PEM, mode 0600)\n" + "wrote " + cert_path +
               (IsDerName(cert_path) ? " (DER" : " (PEM") + " certificate)\n" +
               "subject:   " + SubjectLine(cert) + "\n" +
               "issuer:    " + IssuerLine(cert) + "\n" +
               "keyid:     " + KeyIdHex(keyid) + "\n" +
               "valid:     " + IsoTime(X509_get0_notBefore(cert)) + " .. " +
               IsoTime(X509_get0_notAfter(cert)) + "\n";
  return out;
}

// Generates a key whose keyid is not in `avoid`, at most kMaxKeyAttempts
// tries (a 32-bit collision is rare; a loop that never ends is worse).
Result<Ptr<EVP_PKEY>> GenerateKeyAvoiding(KeyAlgorithm algorithm,
                                          const std::vector<uint32_t>& avoid) {
  for (int attempt = 0; attempt < kMaxKeyAttempts; ++attempt) {
    IMAB_ASSIGN_OR_RETURN(Ptr<EVP_PKEY> key, GenerateKey(algorithm));
    IMAB_ASSIGN_OR_RETURN(uint32_t keyid, KeyIdFromPublicKey(key.get()));
    if (std::find(avoid.begin(), avoid.end(), keyid) == avoid.end()) {
      return key;
    }
  }
  return MakeError(ErrorCode::kInternal, "no key with an unused keyid after " +
                                             std::to_string(kMaxKeyAttempts) +
                                             " attempts");
}

struct IssueArgs {
  const CreateSigningOptions& options;
  const std::vector<uint32_t>& avoid;  // keyids the new key must not have
  const KernelTarget& target;          // whose keyring rules it must meet
};

// --kernel-version, or every studied kernel.
Result<KernelTarget> TargetOf(const CreateSigningOptions& o) {
  if (o.kernel_version.empty()) {
    return KernelTarget::Unknown();
  }
  Result<KernelVersion> version = ParseKernelVersion(o.kernel_version);
  if (!version.has_value()) {
    return Invalid("--kernel-version: " + version.error().message);
  }
  return KernelTarget::ForVersion(*version);
}

// create-signing and rotate-signing after their own checks.
Result<CreatedKey> IssueSigning(const IssueArgs& args,
                                const SigningIdentity& ca) {
  const CreateSigningOptions& o = args.options;
  IMAB_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, ParseKeyAlgorithm(o.type));
  IMAB_RETURN_IF_ERROR(CheckDays(o.days));
  IMAB_RETURN_IF_ERROR(ParseSubject(o.subject));
  IMAB_RETURN_IF_ERROR(CheckOutputs(o.out_key, o.out_cert));
  IMAB_ASSIGN_OR_RETURN(Ptr<EVP_PKEY> key,
                        GenerateKeyAvoiding(algorithm, args.avoid));
  CertRequest request{.key = key.get(),
                      .subject = o.subject,
                      .days = o.days,
                      .issuer_cert = ca.cert.get(),
                      .issuer_key = ca.key.get(),
                      .extensions = SigningExtensions(o.code_signing)};
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, BuildCertificate(request));
  // With the CA as the kernel's only CA, the target kernel must load it:
  // prove it before writing (the CA's key or algorithm may not do).
  X509* const cas[] = {ca.cert.get()};
  Status loads = CheckKernelAcceptsCertificate(cert.get(), cas, args.target);
  if (!loads.ok()) {
    return Invalid(o.ca_cert + ": a kernel with this CA would not load " +
                   "the certificate it issues: " + loads.error().message);
  }
  IMAB_RETURN_IF_ERROR(
      WriteOutputs(o.out_key, key.get(), o.out_cert, cert.get()));
  IMAB_ASSIGN_OR_RETURN(CreatedKey created,
                        Describe(o.out_key, key.get(), o.out_cert, cert.get()));
  const bool ec =
      algorithm == KeyAlgorithm::kEcP256 || algorithm == KeyAlgorithm::kEcP384;
  // Every studied kernel does; an unknown or older one may not.
  const std::vector<KernelVersion>& versions = args.target.versions();
  if (ec && (versions.empty() || versions.front() < KernelVersion{5, 13})) {
    created.report +=
        "note: the kernel verifies ECDSA IMA/EVM signatures from 5.13 on\n";
  }
  return created;
}

// "release.pem" -> "release-ca.pem", "keys/release" -> "keys/release-ca":
// the default name of the release CA file beside the signing file.
std::string CaFileBeside(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  const bool has_extension = dot != std::string::npos && dot > 0 &&
                             (slash == std::string::npos || dot > slash + 1);
  if (!has_extension) {
    return path + "-ca";
  }
  return path.substr(0, dot) + "-ca" + path.substr(dot);
}

// The leaf's subject with " CA" appended to its last CN (or CN=release CA
// added), in the slash form SetSubject reads back.
Result<std::string> CaSubjectFor(const std::string& subject) {
  IMAB_ASSIGN_OR_RETURN(auto parts, ParseSubject(subject));
  auto cn = std::find_if(parts.rbegin(), parts.rend(),
                         [](const auto& p) { return p.first == "CN"; });
  if (cn == parts.rend()) {
    parts.emplace_back("CN", "release CA");
  } else {
    cn->second += " CA";
  }
  std::string out;
  for (const auto& [field, value] : parts) {
    out += "/" + field + "=";
    for (char c : value) {
      if (c == '/' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
  }
  return out;
}

// create-release without a CA: a release CA (CA:TRUE, keyCertSign, the
// anchor devices trust) and the signing leaf it issues (CA:FALSE,
// digitalSignature, EKU codeSigning). A self-signed CA:TRUE signer would
// make the anchor's own key the release key.
Result<CreatedKey> CreateReleaseAndCa(const CreateReleaseOptions& o,
                                      KeyAlgorithm algorithm) {
  const std::string ca_key_path =
      o.out_ca_key.empty() ? CaFileBeside(o.out_key) : o.out_ca_key;
  const std::string ca_cert_path =
      o.out_ca_cert.empty() ? CaFileBeside(o.out_cert) : o.out_ca_cert;
  IMAB_ASSIGN_OR_RETURN(std::string ca_subject,
                        o.ca_subject.empty()
                            ? CaSubjectFor(o.subject)
                            : Result<std::string>(o.ca_subject));
  IMAB_RETURN_IF_ERROR(ParseSubject(ca_subject));
  IMAB_RETURN_IF_ERROR(
      CheckOutputPaths({&o.out_key, &o.out_cert, &ca_key_path, &ca_cert_path}));
  IMAB_ASSIGN_OR_RETURN(Ptr<EVP_PKEY> ca_key, GenerateKey(algorithm));
  // The CA outlives the leaf it issues.
  CertRequest ca_request{.key = ca_key.get(),
                         .subject = ca_subject,
                         .days = std::max(o.days, kReleaseCaDays),
                         .extensions = CaExtensions()};
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> ca_cert, BuildCertificate(ca_request));
  IMAB_ASSIGN_OR_RETURN(Ptr<EVP_PKEY> key, GenerateKey(algorithm));
  CertRequest request{.key = key.get(),
                      .subject = o.subject,
                      .days = o.days,
                      .issuer_cert = ca_cert.get(),
                      .issuer_key = ca_key.get(),
                      .extensions = SigningExtensions(true)};
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, BuildCertificate(request));
  IMAB_RETURN_IF_ERROR(WriteOutputs(
      {Output{o.out_key, key.get(), o.out_cert, cert.get()},
       Output{ca_key_path, ca_key.get(), ca_cert_path, ca_cert.get()}}));
  IMAB_ASSIGN_OR_RETURN(CreatedKey created,
                        Describe(o.out_key, key.get(), o.out_cert, cert.get()));
  IMAB_ASSIGN_OR_RETURN(CreatedKey ca, Describe(ca_key_path, ca_key.get(),
                                                ca_cert_path, ca_cert.get()));
  created.report += "release CA:\n" + ca.report + "note: devices trust " +
                    ca_cert_path + " (--release-ca); bundles are signed with " +
                    o.out_key + " and " + o.out_cert + "\n";
  return created;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API.

Result<KeyAlgorithm> ParseKeyAlgorithm(std::string_view text) {
  static constexpr std::array<KeyAlgorithm, 5> kAll = {
      KeyAlgorithm::kRsa2048, KeyAlgorithm::kRsa3072, KeyAlgorithm::kRsa4096,
      KeyAlgorithm::kEcP256, KeyAlgorithm::kEcP384};
  for (KeyAlgorithm a : kAll) {
    if (text == AlgorithmName(a)) {
      return a;
    }
  }
  return Invalid("key type \"" + std::string(text) +
                 "\": expected rsa:2048, rsa:3072, rsa:4096, ec:p256 or "
                 "ec:p384");
}

Result<Ptr<EVP_PKEY>> GenerateKey(KeyAlgorithm algorithm) {
  ERR_clear_error();
  Ptr<EVP_PKEY> key;
  switch (algorithm) {
    case KeyAlgorithm::kRsa2048:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
      break;
    case KeyAlgorithm::kRsa3072:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}));
      break;
    case KeyAlgorithm::kRsa4096:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}));
      break;
    case KeyAlgorithm::kEcP256:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
      break;
    case KeyAlgorithm::kEcP384:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
      break;
  }
  if (key == nullptr) {
    return OpenSslError(ErrorCode::kInternal,
                        "generating a " + AlgorithmName(algorithm) + " key");
  }
  return key;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseSubject(
    std::string_view text) {
  const std::string quoted = "bad subject \"" + std::string(text) + "\": ";
  if (text.empty()) {
    return Invalid("bad subject: empty");
  }
  if (text.size() > kMaxSubjectBytes) {
    return Invalid("bad subject: longer than 1024 bytes");
  }
  const bool slash_form = text.front() == '/';
  const char separator = slash_form ? '/' : ',';
  if (slash_form) {
    text.remove_prefix(1);
  }
  // Split on unescaped separators; a backslash escapes the next character.
  std::vector<std::string> components(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      components.back() += text[++i];
    } else if (text[i] == separator) {
      components.emplace_back();
    } else {
      components.back() += text[i];
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string& c : components) {
    if (!slash_form) {
      // "O=Acme, CN=x": spaces after the comma are not part of the name.
      size_t start = c.find_first_not_of(' ');
      c.erase(0, start == std::string::npos ? c.size() : start);
    }
    size_t eq = c.find('=');
    if (eq == std::string::npos) {
      return Invalid(quoted + "component \"" + c + "\" has no '='");
    }
    std::string field = c.substr(0, eq);
    std::string value = c.substr(eq + 1);
    if (field.empty() || value.empty()) {
      return Invalid(quoted + "component \"" + c +
                     "\" needs a name and a value");
    }
    out.emplace_back(std::move(field), std::move(value));
  }
  return out;
}

Result<CreatedKey> CreateCa(const CreateCaOptions& o) {
  IMAB_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, ParseKeyAlgorithm(o.type));
  IMAB_RETURN_IF_ERROR(CheckDays(o.days));
  IMAB_RETURN_IF_ERROR(ParseSubject(o.subject));
  IMAB_RETURN_IF_ERROR(CheckOutputs(o.out_key, o.out_cert));
  IMAB_ASSIGN_OR_RETURN(Ptr<EVP_PKEY> key, GenerateKey(algorithm));
  CertRequest request{.key = key.get(),
                      .subject = o.subject,
                      .days = o.days,
                      .extensions = CaExtensions()};
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, BuildCertificate(request));
  IMAB_RETURN_IF_ERROR(
      WriteOutputs(o.out_key, key.get(), o.out_cert, cert.get()));
  return Describe(o.out_key, key.get(), o.out_cert, cert.get());
}

Result<CreatedKey> CreateSigning(const CreateSigningOptions& o) {
  PrivateKeys keys(o.pkcs11_module);
  IMAB_ASSIGN_OR_RETURN(
      SigningIdentity ca,
      LoadIssuer(keys, o.ca_key, o.ca_cert, o.allow_dev_keys, o.dev_keys_list));
  IMAB_ASSIGN_OR_RETURN(KernelTarget target, TargetOf(o));
  const std::vector<uint32_t> avoid;
  return IssueSigning(IssueArgs{o, avoid, target}, ca);
}

// One --current certificate: its keyid (to avoid) and report lines; a note
// when another CA issued it or the target kernel would not load it.
Result<uint32_t> NoteCurrent(const std::string& path, const SigningIdentity& ca,
                             const RotateSigningOptions& o,
                             const KernelTarget& target, std::string& notes) {
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> current, LoadCertificate(path));
  auto keyid = KeyIdFromCertificate(current.get());
  if (!keyid.has_value()) {
    // Without SKID the kernel cannot find it; avoid evmctl's rule instead.
    IMAB_ASSIGN_OR_RETURN(keyid,
                          KeyIdFromPublicKey(X509_get0_pubkey(current.get())));
  }
  notes += "current:   " + path + " keyid " + KeyIdHex(*keyid) + "\n";
  const bool same_ca =
      X509_check_issued(ca.cert.get(), current.get()) == X509_V_OK &&
      X509_verify(current.get(), X509_get0_pubkey(ca.cert.get())) == 1;
  ERR_clear_error();
  if (!same_ca) {
    notes += "note: " + path + " was not issued by " + o.signing.ca_cert +
             " (issuer " + IssuerLine(current.get()) + ")\n";
    return *keyid;
  }
  X509* const cas[] = {ca.cert.get()};
  if (std::optional<KeyringRefusal> refusal =
          FindKeyringRefusal(current.get(), cas, target)) {
    notes += "note: " + path + ": kernel " + target.Describe() +
             " would not load or use it: " + refusal->message + "\n";
  }
  return *keyid;
}

Result<CreatedKey> RotateSigning(const RotateSigningOptions& o) {
  if (o.current.empty()) {
    return Invalid("rotate-signing needs at least one current certificate");
  }
  IMAB_ASSIGN_OR_RETURN(KernelTarget target, TargetOf(o.signing));
  PrivateKeys keys(o.signing.pkcs11_module);
  IMAB_ASSIGN_OR_RETURN(
      SigningIdentity ca,
      LoadIssuer(keys, o.signing.ca_key, o.signing.ca_cert,
                 o.signing.allow_dev_keys, o.signing.dev_keys_list));
  std::vector<uint32_t> avoid;
  std::string notes;
  for (const std::string& path : o.current) {
    IMAB_ASSIGN_OR_RETURN(uint32_t keyid,
                          NoteCurrent(path, ca, o, target, notes));
    avoid.push_back(keyid);
  }
  IMAB_ASSIGN_OR_RETURN(CreatedKey created,
                        IssueSigning(IssueArgs{o.signing, avoid, target}, ca));
  created.report += notes + "new keyid " + KeyIdHex(created.keyid) +
                    " differs from every current keyid; load both "
                    "certificates until all files are re-signed\n";
  return created;
}

Result<CreatedKey> CreateRelease(const CreateReleaseOptions& o) {
  if (o.ca_key.empty() != o.ca_cert.empty()) {
    return Invalid(
        "a release key issued by a CA needs both the CA key and "
        "the CA certificate");
  }
  IMAB_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, ParseKeyAlgorithm(o.type));
  IMAB_RETURN_IF_ERROR(CheckDays(o.days));
  IMAB_RETURN_IF_ERROR(ParseSubject(o.subject));
  if (o.ca_key.empty()) {
    return CreateReleaseAndCa(o, algorithm);
  }
  if (!o.out_ca_key.empty() || !o.out_ca_cert.empty() ||
      !o.ca_subject.empty()) {
    return Invalid(
        "--out-ca-key, --out-ca-cert and --ca-subject describe a new "
        "release CA; not with --ca-key/--ca-cert");
  }
  PrivateKeys keys(o.pkcs11_module);
  IMAB_ASSIGN_OR_RETURN(
      SigningIdentity ca,
      LoadIssuer(keys, o.ca_key, o.ca_cert, o.allow_dev_keys, o.dev_keys_list));
  IMAB_RETURN_IF_ERROR(CheckOutputs(o.out_key, o.out_cert));
  IMAB_ASSIGN_OR_RETURN(Ptr<EVP_PKEY> key, GenerateKey(algorithm));
  CertRequest request{.key = key.get(),
                      .subject = o.subject,
                      .days = o.days,
                      .issuer_cert = ca.cert.get(),
                      .issuer_key = ca.key.get(),
                      .extensions = SigningExtensions(true)};
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, BuildCertificate(request));
  IMAB_RETURN_IF_ERROR(
      WriteOutputs(o.out_key, key.get(), o.out_cert, cert.get()));
  return Describe(o.out_key, key.get(), o.out_cert, cert.get());
}

}  // namespace imab::builder
