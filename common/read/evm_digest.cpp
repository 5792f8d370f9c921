#include "common/read/evm_digest.h"

#include <sys/stat.h>

#include "common/read/handles.h"
#include "common/read/openssl_error.h"

namespace imab {
namespace {

// Appends the low `bytes` bytes of `v` in the profile's byte order.
void AppendWord(std::vector<uint8_t>& out, uint64_t v, int bytes,
                bool big_endian) {
  for (int i = 0; i < bytes; ++i) {
    int shift = big_endian ? 8 * (bytes - 1 - i) : 8 * i;
    out.push_back(static_cast<uint8_t>((v >> shift) & 0xff));
  }
}

// The full i_mode the kernel stores: file type bits plus permissions.
Result<uint16_t> InodeMode(const Entry& entry) {
  uint32_t type_bits = 0;
  switch (entry.type) {
    case EntryType::kFile:
      type_bits = S_IFREG;
      break;
    case EntryType::kDir:
      type_bits = S_IFDIR;
      break;
    case EntryType::kSymlink:
      type_bits = S_IFLNK;
      break;
    case EntryType::kHardlink:
    case EntryType::kChar:
    case EntryType::kBlock:
    case EntryType::kFifo:
      return MakeError(ErrorCode::kInvalidArgument,
                       entry.path + ": no EVM digest for entry type " +
                           std::string(EntryTypeName(entry.type)));
  }
  return static_cast<uint16_t>(type_bits | (entry.mode & 07777));
}

}  // namespace

std::vector<uint8_t> EvmHmacMisc(uint32_t uid, uint32_t gid, uint16_t i_mode,
                                 const KernelProfile& profile) {
  // struct h_misc { unsigned long ino; u32 generation; uid_t uid;
  // gid_t gid; umode_t mode; } with native alignment: 24 bytes on LP64,
  // 20 on 32-bit. ino and generation are 0 for portable signatures.
  const bool be = profile.big_endian;
  const int ino_bytes = profile.word_bits == 32 ? 4 : 8;
  std::vector<uint8_t> out;
  out.reserve(24);
  AppendWord(out, 0, ino_bytes, be);
  AppendWord(out, 0, 4, be);
  AppendWord(out, uid, 4, be);
  AppendWord(out, gid, 4, be);
  AppendWord(out, i_mode, 2, be);
  AppendWord(out, 0, 2, be);  // tail padding to the struct's alignment
  return out;
}

Result<std::vector<uint8_t>> EvmPortableDigest(const Entry& entry,
                                               const KernelProfile& profile,
                                               HashAlgo algo) {
  if (profile.word_bits != 32 && profile.word_bits != 64) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kernel profile: word size " +
                         std::to_string(profile.word_bits) +
                         " bits, expected 32 or 64");
  }
  IMAB_ASSIGN_OR_RETURN(uint16_t i_mode, InodeMode(entry));
  Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestInit_ex(ctx.get(), HashAlgoMd(algo), nullptr) != 1) {
    return OpenSslError(
        ErrorCode::kInternal,
        "EVM digest: cannot start " + std::string(HashAlgoName(algo)));
  }
  for (const std::string& name : profile.evm_xattrs) {
    const Xattr* xattr = FindXattr(entry, name);
    // Absent xattrs contribute nothing, not even an empty value.
    if (xattr == nullptr) {
      continue;
    }
    if (EVP_DigestUpdate(ctx.get(), xattr->value.data(), xattr->value.size()) !=
        1) {
      return OpenSslError(ErrorCode::kInternal, "EVM digest: update");
    }
  }
  std::vector<uint8_t> misc =
      EvmHmacMisc(entry.uid, entry.gid, i_mode, profile);
  std::vector<uint8_t> digest(HashAlgoDigestSize(algo));
  unsigned int len = 0;
  if (EVP_DigestUpdate(ctx.get(), misc.data(), misc.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1 ||
      len != digest.size()) {
    return OpenSslError(ErrorCode::kInternal, "EVM digest: final");
  }
  return digest;
}

}  // namespace imab
