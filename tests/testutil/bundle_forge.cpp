#include "tests/testutil/bundle_forge.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <map>

#include "builder/manifest_signer.h"
#include "common/read/digest.h"
#include "common/read/tar_header.h"
#include "common/write/manifest_writer.h"

namespace imab::testing {

std::string EncodePayloadTar(const std::vector<ForgedEntry>& entries,
                             uint64_t created) {
  std::string tar;
  std::map<std::string, const Entry*> files;
  for (const ForgedEntry& fe : entries) {
    Entry e = fe.entry;
    if (e.type == EntryType::kHardlink) {
      auto it = files.find(e.link_target);
      if (it != files.end()) {
        e.mode = it->second->mode;
        e.uid = it->second->uid;
        e.gid = it->second->gid;
      }
    }
    tar += EncodeEntryHeader(e, created);
    if (e.type == EntryType::kFile) {
      files[e.path] = &fe.entry;
      tar += fe.content;
      tar.append(TarPadding(fe.content.size()), '\0');
    }
  }
  return tar;
}

std::string Compress(const std::string& tar) {
  std::string out(ZSTD_compressBound(tar.size()), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  size_t n =
      ZSTD_compress2(cctx, out.data(), out.size(), tar.data(), tar.size());
  ZSTD_freeCCtx(cctx);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

void FillDigests(std::vector<ForgedEntry>& entries) {
  for (ForgedEntry& fe : entries) {
    if (fe.entry.type == EntryType::kFile) {
      fe.entry.size = fe.content.size();
      fe.entry.sha256 = *Sha256Of(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(fe.content.data()),
          fe.content.size()));
    }
  }
}

std::string EncodeManifest(const std::vector<ForgedEntry>& entries,
                           const std::string& payload, uint64_t created,
                           const std::string& version) {
  ManifestHeader header;
  header.image_version = version;
  header.compatible = "test-board";
  header.created = created;
  header.payload_size = payload.size();
  header.payload_sha256 = *Sha256Of(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
  header.entry_count = entries.size();
  std::string manifest;
  AppendManifestHeader(header, &manifest);
  for (const ForgedEntry& fe : entries) {
    AppendManifestRecord(fe.entry, &manifest);
  }
  AppendManifestEnd(&manifest);
  return manifest;
}

std::vector<uint8_t> SignWith(const std::string& manifest,
                              const TestIdentity& signer,
                              const TestIdentity* intermediate) {
  builder::SigningIdentity identity;
  identity.key.reset(signer.key.get());
  EVP_PKEY_up_ref(signer.key.get());
  identity.cert.reset(signer.cert.get());
  X509_up_ref(signer.cert.get());
  identity.chain.reset(sk_X509_new_null());
  if (intermediate != nullptr) {
    X509_up_ref(intermediate->cert.get());
    sk_X509_push(identity.chain.get(), intermediate->cert.get());
  }
  auto sig = builder::SignManifest(manifest, identity);
  EXPECT_TRUE(sig.has_value());
  return sig.has_value() ? *sig : std::vector<uint8_t>{};
}

std::string OuterTar(
    const std::vector<std::pair<std::string, std::string>>& members,
    uint64_t mtime) {
  std::string out;
  for (const auto& [name, data] : members) {
    TarBlock header = EncodeOuterMemberHeader(name, data.size(), mtime);
    out.append(reinterpret_cast<const char*>(header.data()), header.size());
    out += data;
    out.append(TarPadding(data.size()), '\0');
  }
  out.append(kTarEndBytes, '\0');
  return out;
}

std::string Assemble(const ForgedBundle& bundle, uint64_t mtime) {
  return OuterTar({{"manifest", bundle.manifest},
                   {"manifest.sig", std::string(bundle.signature.begin(),
                                                bundle.signature.end())},
                   {"payload.tar.zst", bundle.payload}},
                  mtime);
}

ForgedBundle Forge(std::vector<ForgedEntry> entries, const TestIdentity& signer,
                   uint64_t created) {
  FillDigests(entries);
  ForgedBundle b;
  b.payload = Compress(EncodePayloadTar(entries, created) +
                       std::string(kTarEndBytes, '\0'));
  b.manifest = EncodeManifest(entries, b.payload, created);
  b.signature = SignWith(b.manifest, signer);
  return b;
}

ForgedEntry File(const std::string& path, const std::string& content,
                 uint32_t mode) {
  ForgedEntry fe;
  fe.entry.path = path;
  fe.entry.type = EntryType::kFile;
  fe.entry.mode = mode;
  fe.content = content;
  return fe;
}

ForgedEntry Dir(const std::string& path, uint32_t mode) {
  ForgedEntry fe;
  fe.entry.path = path;
  fe.entry.type = EntryType::kDir;
  fe.entry.mode = mode;
  return fe;
}

ForgedEntry Symlink(const std::string& path, const std::string& target) {
  ForgedEntry fe;
  fe.entry.path = path;
  fe.entry.type = EntryType::kSymlink;
  fe.entry.mode = 0777;
  fe.entry.link_target = target;
  return fe;
}

ForgedEntry Hardlink(const std::string& path, const std::string& target) {
  ForgedEntry fe;
  fe.entry.path = path;
  fe.entry.type = EntryType::kHardlink;
  fe.entry.link_target = target;
  return fe;
}

}  // namespace imab::testing
