// The canonical manifest writer (FORMAT.md §3.1, §3.2, §3.4).
#include "common/write/manifest_writer.h"

#include <string>

#include "common/read/hex.h"

namespace imab {
namespace {

constexpr char kUpperHex[] = "0123456789ABCDEF";

void AppendMode(uint32_t mode, std::string* out) {
  mode &= 07777;
  for (int shift = 9; shift >= 0; shift -= 3) {
    out->push_back(static_cast<char>('0' + ((mode >> shift) & 7)));
  }
}

void AppendField(std::string_view token, std::string* out) {
  out->push_back(' ');
  out->append(token);
}

void AppendNumField(uint64_t value, std::string* out) {
  AppendField(std::to_string(value), out);
}

void AppendOwner(const Entry& entry, std::string* out) {
  AppendNumField(entry.uid, out);
  AppendNumField(entry.gid, out);
}

// Section `ima` 1, FORMAT.md §3.3.1.
// Section `keys` 2, FORMAT.md §3.3.3.
void AppendKeysSection(const KeysSection& keys, std::string* out) {
  out->append("section keys 2\n");
  out->append("key-generation " + std::to_string(keys.key_generation) + "\n");
  for (const std::string& ca : keys.kernel_cas) {
    out->append("kernel-ca " + HexEncode(ca) + "\n");
  }
  for (const KernelRecord& k : keys.kernels) {
    out->append("kernel " + EncodeStrToken(k.path) + " " +
                std::to_string(k.major) + "." + std::to_string(k.minor) + "\n");
  }
  for (const InitramfsRecord& r : keys.initramfs) {
    out->append("initramfs " + EncodeStrToken(r.path) + " " +
                HexEncode(r.evm_cert_sha256) + " " +
                (r.ima_cert_sha256.has_value() ? HexEncode(*r.ima_cert_sha256)
                                               : std::string("-")) +
                "\n");
  }
  out->append("end-section keys\n");
}

void AppendImaSection(const ImaSection& ima, std::string* out) {
  out->append("section ima 1\n");
  out->append("kernel-profile " +
              EncodeStrToken(KernelProfileName(ima.profile)) + "\n");
  for (const SigningCertificate& cert : ima.certificates) {
    const std::array<uint8_t, 4> keyid = {
        static_cast<uint8_t>(cert.keyid >> 24),
        static_cast<uint8_t>(cert.keyid >> 16),
        static_cast<uint8_t>(cert.keyid >> 8),
        static_cast<uint8_t>(cert.keyid)};
    out->append("cert " + HexEncode(keyid) + " " + HexEncode(cert.der) + "\n");
  }
  out->append("end-section ima\n");
}

// Section `ca-store` 1, FORMAT.md §3.3.6.
void AppendCaStoreSection(const CaStoreSection& ca, std::string* out) {
  out->append("section ca-store 1\n");
  out->append("bundle " + HexEncode(ca.bundle_sha256) + "\n");
  for (const CaAnchorRecord& a : ca.anchors) {
    out->append("anchor " + EncodeStrToken(a.link) + " " + HexEncode(a.sha256) +
                " " + std::to_string(a.not_after) + " " +
                EncodeStrToken(a.subject) + "\n");
  }
  out->append("end-section ca-store\n");
}

}  // namespace

std::string EncodeStrToken(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    uint8_t b = static_cast<uint8_t>(c);
    if (IsLiteralStrByte(b)) {
      out.push_back(c);
      continue;
    }
    out.push_back('%');
    out.push_back(kUpperHex[b >> 4]);
    out.push_back(kUpperHex[b & 0xf]);
  }
  return out;
}

void AppendManifestHeader(const ManifestHeader& header, std::string* out) {
  out->append("imabundle-manifest " + std::to_string(header.format_version) +
              "\n");
  out->append("kind " + header.kind + "\n");
  out->append("image-version " + header.image_version + "\n");
  out->append("compatible " + header.compatible + "\n");
  out->append("created " + std::to_string(header.created) + "\n");
  out->append("payload-size " + std::to_string(header.payload_size) + "\n");
  out->append("payload-sha256 " + HexEncode(header.payload_sha256) + "\n");
  out->append("entry-count " + std::to_string(header.entry_count) + "\n");
  if (!header.trust_root.empty()) {
    out->append("section trust-root 1\nsigned-root " +
                HexEncode(header.trust_root) + "\nend-section trust-root\n");
  }
  if (header.development) {
    out->append("section development 1\nend-section development\n");
  }
  if (header.expires.has_value()) {
    out->append("section validity 1\nexpires " +
                std::to_string(*header.expires) + "\nend-section validity\n");
  }
  if (header.keys.has_value()) {
    AppendKeysSection(*header.keys, out);
  }
  if (header.ima.has_value()) {
    AppendImaSection(*header.ima, out);
  }
  if (header.ca_store.has_value()) {
    AppendCaStoreSection(*header.ca_store, out);
  }
  out->append("entries\n");
}

void AppendManifestRecord(const Entry& entry, std::string* out) {
  out->append(EntryTypeName(entry.type));
  AppendField(EncodeStrToken(entry.path), out);
  switch (entry.type) {
    case EntryType::kFile:
      out->push_back(' ');
      AppendMode(entry.mode, out);
      AppendOwner(entry, out);
      AppendNumField(entry.size, out);
      AppendField(HexEncode(entry.sha256), out);
      break;
    case EntryType::kDir:
    case EntryType::kFifo:
      out->push_back(' ');
      AppendMode(entry.mode, out);
      AppendOwner(entry, out);
      break;
    case EntryType::kSymlink:
      // The mode of a symlink is always 0777 and therefore not written.
      AppendOwner(entry, out);
      AppendField(EncodeStrToken(entry.link_target), out);
      break;
    case EntryType::kHardlink:
      // A hardlink shares its target's inode: no metadata of its own.
      AppendField(EncodeStrToken(entry.link_target), out);
      out->push_back('\n');
      return;
    case EntryType::kChar:
    case EntryType::kBlock:
      out->push_back(' ');
      AppendMode(entry.mode, out);
      AppendOwner(entry, out);
      AppendNumField(entry.dev_major, out);
      AppendNumField(entry.dev_minor, out);
      break;
  }
  out->push_back('\n');
  for (const Xattr& x : entry.xattrs) {
    out->append("xattr");
    AppendField(EncodeStrToken(x.name), out);
    AppendField(x.value.empty() ? std::string("-") : HexEncode(x.value), out);
    out->push_back('\n');
  }
}

void AppendManifestEnd(std::string* out) { out->append("end\n"); }

}  // namespace imab
