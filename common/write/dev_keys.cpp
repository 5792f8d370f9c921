#include "common/write/dev_keys.h"

#include "common/read/digest.h"
#include "common/read/hex.h"
#include "common/read/openssl_error.h"

namespace imab {

extern const char kKnownDevKeysTsv[];

namespace {

// The value of tab-separated column `index` of `line`.
std::string_view Column(std::string_view line, size_t index) {
  for (size_t i = 0; i < index; ++i) {
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      return {};
    }
    line.remove_prefix(tab + 1);
  }
  return line.substr(0, line.find('\t'));
}

std::optional<DevKeyMatch> FindIn(std::string_view tsv,
                                  std::string_view fingerprint) {
  while (!tsv.empty()) {
    size_t end = tsv.find('\n');
    std::string_view line = tsv.substr(0, end);
    tsv.remove_prefix(end == std::string_view::npos ? tsv.size() : end + 1);
    if (Column(line, 0) == fingerprint) {
      return DevKeyMatch{std::string(fingerprint), std::string(Column(line, 2)),
                         std::string(Column(line, 3))};
    }
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> SpkiSha256Hex(const EVP_PKEY* key) {
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) {
    return OpenSslError(ErrorCode::kInvalidArgument,
                        "cannot encode public key");
  }
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_PUBKEY(key, &p) != len) {
    return OpenSslError(ErrorCode::kInternal, "cannot encode public key");
  }
  IMAB_ASSIGN_OR_RETURN(Sha256Digest digest, Sha256Of(der));
  return HexEncode(digest);
}

Result<std::optional<DevKeyMatch>> FindDevKey(const EVP_PKEY* key,
                                              std::string_view extra_tsv) {
  IMAB_ASSIGN_OR_RETURN(std::string fingerprint, SpkiSha256Hex(key));
  std::optional<DevKeyMatch> match = FindIn(kKnownDevKeysTsv, fingerprint);
  if (!match.has_value()) {
    match = FindIn(extra_tsv, fingerprint);
  }
  return match;
}

}  // namespace imab
