// The image's CA store as Debian's update-ca-certificates builds it on a
// first run into an empty etc/ssl/certs (docs ca-certificates.md §2-§5):
// which certificates are selected, the `.pem` links, OpenSSL's subject-hash
// links and the bytes of ca-certificates.crt. Pure functions over bytes,
// shared by the builder (which generates the store) and the verifier (which
// recomputes it from the image and compares).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/read/ca_certificate.h"
#include "common/read/ca_conf.h"
#include "common/read/manifest.h"
#include "common/read/reporter.h"
#include "common/read/result.h"

namespace imab {

// Image paths (relative, as in the manifest) the store is made from and of.
inline constexpr std::string_view kCaConfPath = "etc/ca-certificates.conf";
inline constexpr std::string_view kCaSharedDir = "usr/share/ca-certificates";
inline constexpr std::string_view kCaLocalDir =
    "usr/local/share/ca-certificates";
inline constexpr std::string_view kCaCertsDir = "etc/ssl/certs";
inline constexpr std::string_view kCaBundleName = "ca-certificates.crt";

// What the image holds that the store is computed from. Paths are image
// paths. The caller bounds the total (kMaxCaInputEntries, kMaxCaInputBytes).
struct CaInputs {
  std::optional<std::string> conf;  // etc/ca-certificates.conf, if present
  // Under kCaSharedDir and kCaLocalDir (hardlinks given as files).
  std::map<std::string, std::string> files;     // path -> bytes
  std::map<std::string, std::string> symlinks;  // path -> target
  std::set<std::string> dirs;                   // incl. the two roots
  // Regular files directly in etc/ssl/certs that the store does not own
  // (IsCaStoreOwned() false) but that `openssl rehash` would hash because
  // of their extension: file name -> bytes.
  std::map<std::string, std::string> kept;
};

// True for kCaSharedDir, kCaLocalDir and the paths inside them.
bool InCaInputFolders(std::string_view path);

// True when `name` has the form of an `openssl rehash` link: 8 hex digits,
// '.', an optional 'r', decimal digits.
bool IsHashLinkName(std::string_view name);

// True for an entry of etc/ssl/certs that a fresh run replaces: the bundle,
// a symlink into kCaSharedDir or kCaLocalDir (absolute), a symlink named
// like a hash link. `symlink_target` is nullopt for non-symlinks.
bool IsCaStoreOwned(std::string_view name,
                    const std::optional<std::string>& symlink_target);

// The regular file of `inputs` that `path` (an image path, "/" prefix
// allowed, may hold "..", "." and symlinks) leads to, resolved as the
// kernel would within the two input folders; nullopt when it leads to
// nothing, a folder, outside them or around a loop.
std::optional<std::string> ResolveCaInput(const CaInputs& inputs,
                                          std::string_view path);

struct CaLink {
  std::string name;    // in etc/ssl/certs, e.g. "ISRG_Root_X1.pem"
  std::string target;  // absolute, as the script writes it
  std::string source;  // image path of the file the target resolves to
};

struct CaHashLink {
  std::string name;  // "4042bcee.0"
  std::string link;  // file name it points to (relative)
};

// The generated store: what etc/ssl/certs holds after a fresh run.
struct CaStore {
  std::vector<CaLink> links;            // distinct names, sorted by name
  std::vector<CaHashLink> hash_links;   // sorted by name
  std::string bundle;                   // ca-certificates.crt
  std::vector<CaAnchorRecord> anchors;  // every hashed certificate, by link
  size_t added = 0;                     // add() calls (bundle members)
  size_t deselected = 0;                // `!` lines
};

struct CaStoreRules {
  // Refuse what the script would silently ship broken: an added file that
  // is not exactly one PEM certificate, a conf entry naming no file, two
  // files taking the same link name. Lenient: each is a warning instead.
  bool strict = true;
};

// Computes the store from `inputs` (borrowed). Warnings (lenient problems,
// files rehash skips) go to `reporter`. Errors, kInvalidArgument naming the
// file or conf line: the strict problems above; in both modes a link that
// cannot be resolved within the two input folders (a target outside them,
// a loop), a symlinked folder under kCaLocalDir (find -L would follow it),
// and a store with no certificate at all; kLimitExceeded for more than
// kMaxCaAnchors anchors.
Result<CaStore> ComputeCaStore(const CaInputs& inputs,
                               const CaStoreRules& rules, Reporter& reporter);

// The manifest section describing `store`.
Result<CaStoreSection> DescribeCaStore(const CaStore& store);

}  // namespace imab
