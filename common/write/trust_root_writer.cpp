#include "common/write/trust_root_writer.h"

#include <string_view>

#include "common/read/hex.h"

namespace imab {
namespace {

constexpr std::string_view kMagicLine = "imabundle-trust-root 1";

}  // namespace

std::string EncodeTrustRootBody(const TrustRootBody& body) {
  std::string out(kMagicLine);
  out += "\nversion " + std::to_string(body.version) + "\nthreshold " +
         std::to_string(body.threshold) + "\n";
  for (const std::string& ca : body.release_cas) {
    out += "release-ca " + HexEncode(ca) + "\n";
  }
  for (const std::string& key : body.keys) {
    out += "key " + HexEncode(key) + "\n";
  }
  out += "end-body\n";
  return out;
}

std::string EncodeSignedTrustRoot(const SignedTrustRoot& root) {
  std::string out = EncodeTrustRootBody(root.body);
  for (const TrustRootSignature& s : root.signatures) {
    out += "signature " + s.key_id + " " + HexEncode(s.signature) + "\n";
  }
  out += "end\n";
  return out;
}

}  // namespace imab
