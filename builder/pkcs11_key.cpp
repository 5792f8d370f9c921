#include "builder/pkcs11_key.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "builder/secret_string.h"
#include "common/read/digest_signature.h"
#include "common/read/keyid.h"
#include "common/read/openssl_error.h"
#include "common/read/x509_util.h"

// libp11.h declares PKCS11_get_rsa_method() and PKCS11_get_ec_key_method(),
// which return RSA_METHOD* and EC_KEY_METHOD*, types OpenSSL 3 hides under
// OPENSSL_NO_DEPRECATED. We never call them; naming the two opaque structs
// lets the header compile without re-enabling the deprecated API here.
using RSA_METHOD = struct rsa_meth_st;
using EC_KEY_METHOD = struct ec_key_method_st;
#include <libp11.h>

namespace imab::builder {
namespace {

// PINs and pin files are short; a fixed bound lets SecretString reserve its
// buffer once, so no reallocation leaves an unwiped copy behind.
constexpr size_t kMaxPinBytes = 256;

struct ParsedUri {
  std::string display;  // "pkcs11:" + raw path: no query, so no PIN
  std::optional<std::string> token, manufacturer, model, serial;
  std::optional<std::string> object, id;
  std::string module_path;
  bool has_pin_value = false;
  SecretString pin{kMaxPinBytes};
  std::string pin_source;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// RFC 3986 percent-decoding into `out`. Refuses a stray '%' and raw control
// characters or spaces, which RFC 7512 values never contain unencoded.
bool PercentDecode(std::string_view in, std::string& out) {
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return false;
      }
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return false;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
      continue;
    }
    if (static_cast<unsigned char>(c) <= 0x20 ||
        static_cast<unsigned char>(c) == 0x7f) {
      return false;
    }
    out.push_back(c);
  }
  return true;
}

// Errors from here name only the attribute, never a value: a malformed URI
// may hold a PIN anywhere.
Error SyntaxError(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "pkcs11 URI: " + what);
}

Status SetOnce(std::optional<std::string>& slot, std::string_view name,
               std::string_view value) {
  if (slot.has_value()) {
    return SyntaxError("attribute '" + std::string(name) + "' given twice");
  }
  std::string decoded;
  if (!PercentDecode(value, decoded)) {
    return SyntaxError("bad character or percent-encoding in '" +
                       std::string(name) + "'");
  }
  slot = std::move(decoded);
  return OkStatus();
}

// Splits "name=value"; false when there is no '=' or the name is empty.
bool SplitAttribute(std::string_view attr, std::string_view& name,
                    std::string_view& value) {
  const size_t eq = attr.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return false;
  }
  name = attr.substr(0, eq);
  value = attr.substr(eq + 1);
  return true;
}

Status ParsePathAttribute(std::string_view name, std::string_view value,
                          ParsedUri& out) {
  if (name == "token") {
    return SetOnce(out.token, name, value);
  }
  if (name == "manufacturer") {
    return SetOnce(out.manufacturer, name, value);
  }
  if (name == "model") {
    return SetOnce(out.model, name, value);
  }
  if (name == "serial") {
    return SetOnce(out.serial, name, value);
  }
  if (name == "object") {
    return SetOnce(out.object, name, value);
  }
  if (name == "id") {
    return SetOnce(out.id, name, value);
  }
  if (name == "type") {
    // Only private keys sign; "cert", "public", "secret-key" or "data"
    // would silently select nothing useful.
    if (value != "private") {
      return SyntaxError("type must be 'private' (a signing key)");
    }
    return OkStatus();
  }
  return SyntaxError("unsupported path attribute '" + std::string(name) + "'");
}

Status ParseQueryAttribute(std::string_view name, std::string_view value,
                           ParsedUri& out) {
  if (name == "module-path") {
    if (!out.module_path.empty()) {
      return SyntaxError("attribute 'module-path' given twice");
    }
    if (!PercentDecode(value, out.module_path) || out.module_path.empty()) {
      return SyntaxError("bad 'module-path'");
    }
    return OkStatus();
  }
  if (name == "pin-value") {
    if (out.has_pin_value) {
      return SyntaxError("attribute 'pin-value' given twice");
    }
    if (value.size() > kMaxPinBytes) {
      return SyntaxError("'pin-value' longer than " +
                         std::to_string(kMaxPinBytes) + " bytes");
    }
    if (!PercentDecode(value, out.pin.str())) {
      return SyntaxError("bad character or percent-encoding in 'pin-value'");
    }
    out.has_pin_value = true;
    return OkStatus();
  }
  if (name == "pin-source") {
    if (!out.pin_source.empty()) {
      return SyntaxError("attribute 'pin-source' given twice");
    }
    if (!PercentDecode(value, out.pin_source) || out.pin_source.empty()) {
      return SyntaxError("bad 'pin-source'");
    }
    return OkStatus();
  }
  return SyntaxError("unsupported query attribute '" + std::string(name) + "'");
}

Status ParseUri(std::string_view uri, ParsedUri& out) {
  if (!IsPkcs11Uri(uri)) {
    return SyntaxError("does not start with 'pkcs11:'");
  }
  std::string_view rest = uri.substr(7);
  std::string_view path = rest;
  std::string_view query;
  const size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
  }
  // RFC 7512 allows no fragment; '#' would start one.
  if (rest.find('#') != std::string_view::npos) {
    return SyntaxError("contains '#'");
  }
  while (!path.empty()) {
    const size_t end = std::min(path.find(';'), path.size());
    std::string_view name, value;
    if (!SplitAttribute(path.substr(0, end), name, value)) {
      return SyntaxError("path attribute without 'name='");
    }
    IMAB_RETURN_IF_ERROR(ParsePathAttribute(name, value, out));
    if (end + 1 == path.size()) {
      return SyntaxError("path ends with ';'");
    }
    path = end == path.size() ? std::string_view() : path.substr(end + 1);
  }
  if (q != std::string_view::npos && query.empty()) {
    return SyntaxError("empty query after '?'");
  }
  while (!query.empty()) {
    const size_t end = std::min(query.find('&'), query.size());
    std::string_view name, value;
    if (!SplitAttribute(query.substr(0, end), name, value)) {
      return SyntaxError("query attribute without 'name='");
    }
    IMAB_RETURN_IF_ERROR(ParseQueryAttribute(name, value, out));
    if (end + 1 == query.size()) {
      return SyntaxError("query ends with '&'");
    }
    query = end == query.size() ? std::string_view() : query.substr(end + 1);
  }
  if (out.has_pin_value && !out.pin_source.empty()) {
    return SyntaxError("both 'pin-value' and 'pin-source' given");
  }
  out.display = std::string(
      uri.substr(0, 7 + (q == std::string_view::npos ? rest.size() : q)));
  return OkStatus();
}

// Reads the first line of the pin-source file into `pin`.
Status ReadPinSource(const ParsedUri& uri, SecretString& pin) {
  std::string path = uri.pin_source;
  if (path.rfind("file://", 0) == 0) {
    path.erase(0, 7);
  } else if (path.rfind("file:", 0) == 0) {
    path.erase(0, 5);
  } else if (path.front() != '/') {
    // Other schemes ("|command" in some tools) would run or fetch something.
    return MakeError(ErrorCode::kInvalidArgument,
                     uri.display + ": pin-source must be file:PATH");
  }
  if (path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     uri.display + ": pin-source has no path");
  }
  Status read = ReadSecretFile(path, pin);
  if (!read.ok() && read.error().code == ErrorCode::kIo) {
    return MakeError(ErrorCode::kIo,
                     uri.display + ": cannot open pin-source " + path);
  }
  if (!read.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     uri.display + ": pin-source " + path +
                         " is not a regular file of at most " +
                         std::to_string(kMaxPinBytes) + " bytes");
  }
  std::string& s = pin.str();
  s.resize(std::min(s.size(), s.find('\n')));
  if (!s.empty() && s.back() == '\r') {
    s.pop_back();
  }
  if (s.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     uri.display + ": pin-source " + path + " is empty");
  }
  return OkStatus();
}

// The libp11 context and its module. Unloading (C_Finalize + dlclose) only
// after a successful load: libp11 0.4.12 crashes unloading a failed one.
class ModuleContext {
 public:
  ModuleContext() : ctx_(PKCS11_CTX_new()) {}
  ~ModuleContext() {
    if (ctx_ == nullptr) {
      return;
    }
    if (loaded_) {
      PKCS11_CTX_unload(ctx_);
    }
    PKCS11_CTX_free(ctx_);
  }
  ModuleContext(const ModuleContext&) = delete;
  ModuleContext& operator=(const ModuleContext&) = delete;

  PKCS11_CTX* get() const { return ctx_; }
  bool Load(const std::string& module) {
    loaded_ = PKCS11_CTX_load(ctx_, module.c_str()) == 0;
    return loaded_;
  }

 private:
  PKCS11_CTX* ctx_;
  bool loaded_ = false;
};

// The slot array from PKCS11_enumerate_slots; releasing it closes the
// sessions and frees the key objects libp11 enumerated.
class SlotList {
 public:
  explicit SlotList(PKCS11_CTX* ctx) : ctx_(ctx) {}
  ~SlotList() {
    if (slots_ != nullptr) {
      PKCS11_release_all_slots(ctx_, slots_, count_);
    }
  }
  SlotList(const SlotList&) = delete;
  SlotList& operator=(const SlotList&) = delete;

  int Enumerate() { return PKCS11_enumerate_slots(ctx_, &slots_, &count_); }
  std::span<PKCS11_SLOT> slots() const { return {slots_, count_}; }

 private:
  PKCS11_CTX* ctx_;
  PKCS11_SLOT* slots_ = nullptr;
  unsigned int count_ = 0;
};

bool Matches(const std::optional<std::string>& want, const char* have) {
  return !want.has_value() || (have != nullptr && *want == have);
}

Result<PKCS11_SLOT*> FindToken(const ParsedUri& uri, const SlotList& slots,
                               const std::string& module) {
  PKCS11_SLOT* found = nullptr;
  size_t matches = 0;
  std::string present;
  for (PKCS11_SLOT& slot : slots.slots()) {
    const PKCS11_TOKEN* token = slot.token;
    if (token == nullptr || token->initialized == 0) {
      continue;
    }
    present += std::string(present.empty() ? "" : ", ") + "'" +
               (token->label != nullptr ? token->label : "") + "'";
    if (Matches(uri.token, token->label) &&
        Matches(uri.manufacturer, token->manufacturer) &&
        Matches(uri.model, token->model) &&
        Matches(uri.serial, token->serialnr)) {
      found = &slot;
      ++matches;
    }
  }
  if (matches == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     uri.display + ": token not found in " + module +
                         " (initialised tokens: " +
                         (present.empty() ? "none" : present) + ")");
  }
  // Picking the first of several would make the key depend on slot order.
  if (matches > 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     uri.display + ": " + std::to_string(matches) +
                         " tokens match; add token= or serial=");
  }
  return found;
}

bool KeyMatches(const ParsedUri& uri, const PKCS11_KEY& key) {
  if (!Matches(uri.object, key.label)) {
    return false;
  }
  if (!uri.id.has_value()) {
    return true;
  }
  return key.id != nullptr && key.id_len == uri.id->size() &&
         std::equal(uri.id->begin(), uri.id->end(), key.id,
                    [](char a, unsigned char b) {
                      return static_cast<unsigned char>(a) == b;
                    });
}

Result<PKCS11_KEY*> FindKey(const ParsedUri& uri, PKCS11_TOKEN* token) {
  PKCS11_KEY* keys = nullptr;
  unsigned int count = 0;
  ERR_clear_error();
  if (PKCS11_enumerate_keys(token, &keys, &count) != 0) {
    return OpenSslError(ErrorCode::kIo,
                        uri.display + ": cannot list private keys");
  }
  PKCS11_KEY* found = nullptr;
  size_t matches = 0;
  for (PKCS11_KEY& key : std::span<PKCS11_KEY>(keys, count)) {
    if (KeyMatches(uri, key)) {
      found = &key;
      ++matches;
    }
  }
  const std::string label = token->label != nullptr ? token->label : "";
  if (matches == 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        uri.display + ": no such private key in token '" + label + "'");
  }
  if (matches > 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     uri.display + ": " + std::to_string(matches) +
                         " private keys match in token '" + label +
                         "'; add object= or id=");
  }
  return found;
}

// Logs in to the token of `slot` with `pin` unless already logged in;
// without a PIN, fails when the token requires a login.
Status LogIn(const ParsedUri& uri, const SecretString& pin, PKCS11_SLOT* slot) {
  const std::string label =
      slot->token->label != nullptr ? slot->token->label : "";
  int logged_in = 0;
  if (PKCS11_is_logged_in(slot, 0, &logged_in) != 0) {
    logged_in = 0;
  }
  // Login is per token and process; a sibling may have done it already, and
  // logging in again would log the sibling out first.
  if (logged_in == 0 && !pin.str().empty()) {
    ERR_clear_error();
    if (PKCS11_login(slot, 0, pin.str().c_str()) != 0) {
      // libp11's reason ("PIN incorrect", "PIN locked") never echoes the PIN.
      return OpenSslError(
          ErrorCode::kInvalidArgument,
          uri.display + ": login failed on token '" + label + "'");
    }
  } else if (logged_in == 0 && slot->token->loginRequired != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     uri.display + ": token '" + label +
                         "' needs a PIN (add pin-value= or pin-source=)");
  }
  return OkStatus();
}

}  // namespace

bool IsPkcs11Uri(std::string_view text) {
  constexpr std::string_view kScheme = "pkcs11:";
  if (text.size() < kScheme.size()) {
    return false;
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = text[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (lower != kScheme[i]) {
      return false;
    }
  }
  return true;
}

// One loaded module shared by every key opened through it (Open() and
// OpenSibling()): a second libp11 context on the same module would
// C_Finalize it, or C_CloseAllSessions its slots, under the first.
// Destruction runs backwards: the slots (sessions), then the module.
struct Pkcs11Key::Module {
  Status Load(const std::string& display, const std::string& module_path);

  std::string path;
  ModuleContext ctx;
  std::unique_ptr<SlotList> slots;
  std::mutex mutex;
};

// `key` is declared after `module`, so it is freed first: libp11's key
// methods need the context alive.
struct Pkcs11Key::State {
  std::shared_ptr<Module> module;
  Ptr<EVP_PKEY> key;
  std::string display;
};

Pkcs11Key::Pkcs11Key(std::unique_ptr<State> state) : state_(std::move(state)) {}
Pkcs11Key::~Pkcs11Key() = default;

EVP_PKEY* Pkcs11Key::key() const { return state_->key.get(); }
const std::string& Pkcs11Key::display_uri() const { return state_->display; }
std::mutex& Pkcs11Key::mutex() const { return state_->module->mutex; }

Result<std::unique_ptr<Pkcs11Key>> Pkcs11Key::Open(
    std::string_view uri, const std::string& default_module) {
  return OpenIn(nullptr, uri, default_module);
}

Result<std::unique_ptr<Pkcs11Key>> Pkcs11Key::OpenSibling(
    std::string_view uri) const {
  return OpenIn(state_->module, uri, state_->module->path);
}

Result<std::unique_ptr<Pkcs11Key>> Pkcs11Key::OpenIn(
    std::shared_ptr<Module> module, std::string_view uri,
    const std::string& default_module) {
  ParsedUri parsed;
  IMAB_RETURN_IF_ERROR(ParseUri(uri, parsed));
  SecretString file_pin(kMaxPinBytes);
  if (!parsed.pin_source.empty()) {
    IMAB_RETURN_IF_ERROR(ReadPinSource(parsed, file_pin));
  }
  const SecretString& pin = parsed.has_pin_value ? parsed.pin : file_pin;
  const std::string path =
      parsed.module_path.empty() ? default_module : parsed.module_path;
  if (path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     parsed.display + ": no PKCS#11 module (add module-path)");
  }
  if (module != nullptr && module->path != path) {
    return MakeError(ErrorCode::kInvalidArgument,
                     parsed.display + ": module " + path +
                         " differs from the sibling key's " + module->path);
  }
  if (module == nullptr) {
    module = std::make_shared<Module>();
    IMAB_RETURN_IF_ERROR(module->Load(parsed.display, path));
  }
  // Siblings may be signing on other threads while this one logs in.
  std::lock_guard<std::mutex> lock(module->mutex);
  IMAB_ASSIGN_OR_RETURN(PKCS11_SLOT * slot,
                        FindToken(parsed, *module->slots, path));
  IMAB_RETURN_IF_ERROR(LogIn(parsed, pin, slot));
  IMAB_ASSIGN_OR_RETURN(PKCS11_KEY * found, FindKey(parsed, slot->token));
  auto state = std::make_unique<State>();
  state->module = std::move(module);
  state->display = parsed.display;
  ERR_clear_error();
  // A new reference that we own; its methods call back into the token.
  state->key.reset(PKCS11_get_private_key(found));
  if (state->key == nullptr) {
    return OpenSslError(ErrorCode::kIo,
                        parsed.display + ": cannot use the private key");
  }
  return std::unique_ptr<Pkcs11Key>(new Pkcs11Key(std::move(state)));
}

Status Pkcs11Key::Module::Load(const std::string& display,
                               const std::string& module_path) {
  path = module_path;
  // libp11 prints dlerror() to stderr for a missing file; check first so
  // the caller gets one clean message.
  if (::access(path.c_str(), R_OK) != 0) {
    return MakeError(ErrorCode::kIo, display + ": cannot load PKCS#11 module " +
                                         path + ": no readable file");
  }
  ERR_clear_error();
  if (ctx.get() == nullptr) {
    return OpenSslError(ErrorCode::kInternal, "PKCS11_CTX_new");
  }
  if (!ctx.Load(path)) {
    return OpenSslError(ErrorCode::kIo,
                        display + ": cannot load PKCS#11 module " + path);
  }
  slots = std::make_unique<SlotList>(ctx.get());
  if (slots->Enumerate() != 0) {
    return OpenSslError(ErrorCode::kIo,
                        display + ": cannot list slots of " + path);
  }
  return OkStatus();
}

namespace {

// Token key + certificate. Sign() holds the key's mutex: one token
// operation at a time, whatever the module's own locking.
class Pkcs11DigestSigner final : public DigestSigner {
 public:
  Pkcs11DigestSigner(std::shared_ptr<Pkcs11Key> key, Ptr<X509> cert,
                     uint32_t keyid)
      : key_(std::move(key)), cert_(std::move(cert)), keyid_(keyid) {}

  uint32_t keyid() const override { return keyid_; }
  const X509* certificate() const override { return cert_.get(); }
  Result<std::vector<uint8_t>> Sign(
      HashAlgo algo, std::span<const uint8_t> digest) const override;

 private:
  std::shared_ptr<Pkcs11Key> key_;
  Ptr<X509> cert_;
  uint32_t keyid_;
};

Result<std::vector<uint8_t>> Pkcs11DigestSigner::Sign(
    HashAlgo algo, std::span<const uint8_t> digest) const {
  // The token session is not documented as thread-safe: one use at a time.
  std::lock_guard<std::mutex> lock(key_->mutex());
  return SignDigestWithKey(key_->key(), X509_get0_pubkey(cert_.get()), algo,
                           digest, key_->display_uri());
}

}  // namespace

Result<std::unique_ptr<DigestSigner>> MakePkcs11DigestSigner(
    std::shared_ptr<Pkcs11Key> key, const std::string& cert_path) {
  IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, LoadCertificate(cert_path));
  Result<uint32_t> keyid = KeyIdFromCertificate(cert.get());
  if (!keyid.has_value()) {
    return WithContext(std::move(keyid).error(), cert_path);
  }
  EVP_PKEY* public_key = X509_get0_pubkey(cert.get());
  if (public_key == nullptr) {
    return OpenSslError(ErrorCode::kInvalidArgument,
                        cert_path + ": unreadable public key");
  }
  Status type = CheckKernelKeyType(public_key);
  if (!type.ok()) {
    return WithContext(std::move(type).error(), cert_path);
  }
  const std::string mismatch = key->display_uri() +
                               ": private key does not match certificate " +
                               cert_path;
  if (EVP_PKEY_get_base_id(key->key()) != EVP_PKEY_get_base_id(public_key)) {
    return MakeError(ErrorCode::kInvalidArgument, mismatch);
  }
  // The token key cannot be compared directly; a signature over a fixed
  // digest that the certificate's key accepts proves the pair.
  std::vector<uint8_t> probe(HashAlgoDigestSize(HashAlgo::kSha256), 0x5a);
  auto signer = std::make_unique<Pkcs11DigestSigner>(std::move(key),
                                                     std::move(cert), *keyid);
  Result<std::vector<uint8_t>> sig = signer->Sign(HashAlgo::kSha256, probe);
  if (!sig.has_value()) {
    // For RSA, Sign() itself already compared with the certificate.
    if (sig.error().message.find("does not verify") != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument, mismatch);
    }
    return std::move(sig).error();
  }
  if (!VerifyDigestSignature(public_key, HashAlgo::kSha256, probe, *sig).ok()) {
    return MakeError(ErrorCode::kInvalidArgument, mismatch);
  }
  return std::unique_ptr<DigestSigner>(std::move(signer));
}

Result<std::unique_ptr<DigestSigner>> LoadPkcs11DigestSigner(
    std::string_view uri, const std::string& cert_path,
    const std::string& default_module) {
  IMAB_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Key> key,
                        Pkcs11Key::Open(uri, default_module));
  return MakePkcs11DigestSigner(std::shared_ptr<Pkcs11Key>(std::move(key)),
                                cert_path);
}

}  // namespace imab::builder
