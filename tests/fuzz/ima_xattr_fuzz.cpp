// Fuzz target for the security.ima / security.evm parsers the verifier runs
// on every xattr value of a bundle: any value is parsed or refused without a
// crash, and an accepted signature re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/read/ima_xattr.h"
#include "common/write/ima_xattr_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view value(reinterpret_cast<const char*>(data), size);
  auto ima = imab::ParseImaXattr(value);
  if (ima.has_value() && ima->is_signature) {
    const imab::SignatureV2& sig = ima->signature;
    if (imab::EncodeSignatureV2(imab::XattrType::kDigsig, sig.algo, sig.keyid,
                                sig.signature) != value) {
      std::abort();
    }
  }
  auto evm = imab::ParseSignatureV2(value, imab::XattrType::kEvmPortableDigsig);
  if (evm.has_value() &&
      imab::EncodeSignatureV2(imab::XattrType::kEvmPortableDigsig, evm->algo,
                              evm->keyid, evm->signature) != value) {
    std::abort();
  }
  return 0;
}
