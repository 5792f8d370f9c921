// RootfsKeys: what a device that boots no initramfs at all (device.conf
// `initramfs = none`) loads into .ima and .evm after reboot.
//
// With CONFIG_IMA_LOAD_X509 and CONFIG_EVM_LOAD_X509, kernel_init_freeable()
// finds no /init in the initial rootfs, mounts the real root
// (prepare_namespace(), which ends in chroot(".") into it) and then calls
// integrity_load_keys() (init/main.c, 6.1: lines 1610-1624, 6.12: lines
// 1562-1576). That runs ima_load_x509(), which loads /etc/keys/x509_ima.der
// into .ima and then calls evm_load_x509() for /etc/keys/x509_evm.der into
// .evm (security/integrity/iint.c integrity_load_keys, ima/ima_init.c
// ima_load_x509, evm/evm_main.c evm_load_x509): two independent
// integrity_load_x509() calls (digsig.c), so one missing file leaves only
// its own keyring empty. Each path is opened like any other file
// (kernel_read_file_from_path: filp_open follows symlinks, inside the
// mounted image) and must be a non-empty regular file (kernel_read_file).
//
// The verifier predicts the keyrings from the manifest before any payload
// byte is written: the entries say which regular file each path leads to
// and its SHA-256, and the certificate with that SHA-256 must be one whose
// DER the verifier holds already (the manifest's signing certificates or
// the device's loaded ones). The payload's per-file SHA-256 check then
// binds the bytes the device receives to that certificate, as it does for
// the initramfs certificates the manifest declares (FORMAT.md §3.3.3); no
// file content is held in memory.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/read/digest.h"
#include "common/read/entry.h"
#include "common/read/handles.h"
#include "common/read/manifest.h"
#include "verifier/trust/critical_closure.h"

namespace imab::verifier {

// Where the kernel looks for them in the root file system.
inline constexpr const char* kImaKeyFile = "etc/keys/x509_ima.der";
inline constexpr const char* kEvmKeyFile = "etc/keys/x509_evm.der";

// The manifest's declared IMA signing certificates that parse, each with
// the keyid it is declared under.
std::vector<std::pair<uint32_t, Ptr<X509>>> DeclaredCertificates(
    const ManifestHeader& header);

// The SHA-256 of `cert`'s DER; nullopt when OpenSSL cannot encode it.
std::optional<Sha256Digest> DerSha256(const X509* cert);

// One key file and what the kernel would load from it.
struct RootfsKeyFile {
  std::string path;           // "etc/keys/x509_ima.der"
  std::string keyring;        // ".ima"
  Ptr<X509> cert;             // the certificate it holds, when known
  Sha256Digest der_sha256{};  // of `cert`'s DER
  // Why no certificate is predicted from it ("" when `cert` is set): one
  // line naming the file and what the device would suffer.
  std::string problem;
};

struct RootfsKeys {
  RootfsKeyFile ima;
  RootfsKeyFile evm;
};

class RootfsKeysFinder {
 public:
  // The certificates whose DER is known before the payload streams:
  // `header`'s section ima ones and `loaded` (the device's .ima and .evm
  // now), so that an image that keeps the running key is judged under it,
  // file by file, rather than refused as unknown.
  RootfsKeysFinder(const ManifestHeader& header,
                   const std::vector<const X509*>& loaded);

  // Every manifest entry, in manifest order.
  void Add(const Entry& entry);
  // After the last entry.
  RootfsKeys Finish() const;

 private:
  RootfsKeyFile Resolve(const std::string& path,
                        const std::string& keyring) const;

  std::vector<std::pair<Sha256Digest, Ptr<X509>>> known_;
  CriticalClosure tree_{{}, ""};
  std::set<std::string> present_;  // key file paths that are entries
  // Regular files whose content is a known certificate: index in known_.
  std::map<std::string, size_t> holds_known_;
};

// The certificates `keys` predicts, appended to `ima` and `evm`; the line
// of a key file that loads none goes to `problems`. Such a device never
// loads the initramfs files `header` declares: one line in `notes` for
// each whose certificates differ from `keys`.
void RootfsCertificatesAfterReboot(const RootfsKeys& keys,
                                   const ManifestHeader& header,
                                   std::vector<std::string>& problems,
                                   std::vector<std::string>& notes,
                                   std::vector<Ptr<X509>>& ima,
                                   std::vector<Ptr<X509>>& evm);

// The refusal line for keyring `ring` (".ima" or ".evm") left without a
// key after reboot, naming the rootfs key file when `rootfs` is set;
// nullopt when that file's own line already said why.
std::optional<std::string> EmptyKeyringProblem(const std::string& ring,
                                               const RootfsKeys* rootfs);

}  // namespace imab::verifier
