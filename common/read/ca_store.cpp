// The rules of update-ca-certificates and `openssl rehash` on a first run
// (docs ca-certificates.md §2-§5, §8), reimplemented from their observed
// behaviour: selection, link resolution, bundle bytes, hash links.
#include "common/read/ca_store.h"

#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "common/read/ca_conf.h"
#include "common/read/digest.h"
#include "common/read/handles.h"
#include "common/read/limits.h"
#include "common/read/path_parts.h"

namespace imab {
namespace {

// True for the input roots and their ancestors ("usr", "usr/local", ...):
// folders a path may pass through on its way between the two roots.
bool IsRootOrAncestor(std::string_view path) {
  for (std::string_view root : {kCaSharedDir, kCaLocalDir}) {
    if (path == root || (root.starts_with(path) && root.size() > path.size() &&
                         root[path.size()] == '/')) {
      return true;
    }
  }
  return path.empty();
}

enum class Found { kFile, kDir, kMissing, kOutside, kLoop };

struct Resolution {
  Found found = Found::kMissing;
  std::string path;  // the regular file, for kFile
};

// Follows `path` (an image path that may hold "..", "." and symlinks) the
// way the kernel would, within what `inputs` knows. Leaving the two input
// folders is kOutside: the builder and the verifier only hold those.
Resolution Resolve(const CaInputs& inputs, std::string_view path) {
  std::vector<std::string> todo;  // components left, last one next
  auto push_components = [&todo](std::string_view p) {
    std::vector<std::string> parts = SplitOn(p, '/');
    todo.insert(todo.end(), parts.rbegin(), parts.rend());
  };
  push_components(path);
  std::vector<std::string> current;
  int hops = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (!current.empty()) {
        current.pop_back();
      }
      continue;
    }
    current.push_back(std::move(part));
    std::string joined = JoinPath(current);
    auto link = inputs.symlinks.find(joined);
    if (link != inputs.symlinks.end()) {
      if (++hops > kMaxSymlinks) {
        return {Found::kLoop, joined};
      }
      current.pop_back();
      if (link->second.starts_with("/")) {
        current.clear();
      }
      push_components(link->second);
      continue;
    }
    if (inputs.files.count(joined) != 0) {
      // A file with components (even "/") after it is ENOTDIR: not found.
      return todo.empty() ? Resolution{Found::kFile, joined}
                          : Resolution{Found::kMissing, joined};
    }
    if (inputs.dirs.count(joined) != 0 || IsRootOrAncestor(joined)) {
      continue;
    }
    return {InCaInputFolders(joined) ? Found::kMissing : Found::kOutside,
            joined};
  }
  return {Found::kDir, JoinPath(current)};
}

class StoreMaker {
 public:
  StoreMaker(const CaInputs& inputs, const CaStoreRules& rules,
             Reporter& reporter)
      : inputs_(inputs), rules_(rules), reporter_(reporter) {}

  Status AddConfEntries() {
    if (!inputs_.conf.has_value()) {
      return OkStatus();
    }
    for (const CaConfLine& line : ParseCaConf(*inputs_.conf)) {
      if (line.deselect) {
        ++store_.deselected;
        continue;
      }
      std::string path = std::string(kCaSharedDir) + "/" + line.name;
      std::string where = std::string(kCaConfPath) + " line " +
                          std::to_string(line.line) + ": ";
      Resolution r = Resolve(inputs_, path);
      IMAB_RETURN_IF_ERROR(Unresolvable(r, where + path));
      if (r.found != Found::kFile) {
        IMAB_RETURN_IF_ERROR(
            Problem(where + path + " not found (no such regular file)"));
        continue;
      }
      IMAB_RETURN_IF_ERROR(Add("/" + path, r.path));
    }
    return OkStatus();
  }

  // find -L LOCAL -type f -name '*.crt' | LC_ALL=C sort
  Status AddLocalCertificates() {
    std::string prefix = std::string(kCaLocalDir) + "/";
    std::vector<std::pair<std::string, std::string>> found;  // path, file
    for (const auto& [path, bytes] : inputs_.files) {
      if (path.starts_with(prefix) && CaBaseName(path).ends_with(".crt")) {
        found.emplace_back(path, path);
      }
    }
    for (const auto& [path, target] : inputs_.symlinks) {
      if (!path.starts_with(prefix)) {
        continue;
      }
      Resolution r = Resolve(inputs_, path);
      IMAB_RETURN_IF_ERROR(Unresolvable(r, path));
      if (r.found == Found::kDir) {
        return MakeError(ErrorCode::kInvalidArgument,
                         path +
                             ": a symlinked folder in the local CA folder "
                             "is not supported");
      }
      if (r.found == Found::kFile && CaBaseName(path).ends_with(".crt")) {
        found.emplace_back(path, r.path);
      }
    }
    std::sort(found.begin(), found.end());
    for (const auto& [path, file] : found) {
      IMAB_RETURN_IF_ERROR(Add("/" + path, file));
    }
    return OkStatus();
  }

  Status Hash() {
    std::map<std::string, std::string_view> candidates;
    for (const auto& [name, link] : links_) {
      candidates.emplace(name, inputs_.files.at(link.source));
    }
    for (const auto& [name, bytes] : inputs_.kept) {
      // ln -sf replaced a kept file of the same name.
      candidates.emplace(name, bytes);
    }
    using Key = std::pair<bool, unsigned long>;
    std::map<Key, std::vector<std::array<uint8_t, EVP_MAX_MD_SIZE>>> buckets;
    for (const auto& [name, bytes] : candidates) {
      RehashView view = ViewForRehash(bytes);
      std::string where = std::string(kCaCertsDir) + "/" + name;
      if (view.kind == RehashView::Kind::kNone) {
        if (view.warned) {
          reporter_.Warn(where +
                         ": not exactly one certificate or CRL; "
                         "no hash link");
        }
        continue;
      }
      bool crl = view.kind == RehashView::Kind::kCrl;
      if (!crl) {
        std::optional<CaAnchorRecord> anchor = AnchorOf(name, view.cert.get());
        if (!anchor.has_value()) {
          return MakeError(ErrorCode::kInternal, where + ": cannot digest");
        }
        store_.anchors.push_back(std::move(*anchor));
      }
      auto& bucket = buckets[Key{crl, view.hash}];
      if (std::find(bucket.begin(), bucket.end(), view.sha1) != bucket.end()) {
        reporter_.Warn(where +
                       ": same certificate as an earlier file; no "
                       "hash link");
        continue;
      }
      char hash_name[32];
      std::snprintf(hash_name, sizeof(hash_name), "%08lx.%s%zu", view.hash,
                    crl ? "r" : "", bucket.size());
      bucket.push_back(view.sha1);
      store_.hash_links.push_back({hash_name, name});
    }
    std::sort(store_.hash_links.begin(), store_.hash_links.end(),
              [](const CaHashLink& a, const CaHashLink& b) {
                return a.name < b.name;
              });
    if (store_.anchors.size() > kMaxCaAnchors) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "CA store: more than " + std::to_string(kMaxCaAnchors) +
                           " certificates");
    }
    return OkStatus();
  }

  Result<CaStore> Finish() {
    if (store_.added == 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "CA store: no certificate selected (" +
                           std::string(kCaConfPath) + ", " +
                           std::string(kCaLocalDir) +
                           "); TLS clients would trust nothing");
    }
    for (auto& [name, link] : links_) {
      store_.links.push_back(std::move(link));
    }
    return std::move(store_);
  }

 private:
  Status Problem(const std::string& what) {
    if (rules_.strict) {
      return MakeError(ErrorCode::kInvalidArgument, what);
    }
    reporter_.Warn(what);
    return OkStatus();
  }

  // Links we cannot follow would make our store differ from the device's.
  static Status Unresolvable(const Resolution& r, const std::string& what) {
    if (r.found == Found::kOutside) {
      return MakeError(ErrorCode::kInvalidArgument,
                       what + ": leads outside " + std::string(kCaSharedDir) +
                           " and " + std::string(kCaLocalDir) +
                           " (not supported)");
    }
    if (r.found == Found::kLoop) {
      return MakeError(ErrorCode::kInvalidArgument,
                       what + ": too many levels of symbolic links");
    }
    return OkStatus();
  }

  Status Add(const std::string& target, const std::string& file) {
    std::string name = CaLinkName(target);
    auto it = links_.find(name);
    if (it != links_.end() && it->second.target != target) {
      IMAB_RETURN_IF_ERROR(
          Problem(std::string(kCaCertsDir) + "/" + name + ": both " +
                  it->second.target + " and " + target +
                  " map to this link; the bundle would hold both but only the "
                  "last would be linked"));
    }
    const std::string& bytes = inputs_.files.at(file);
    Status one = CheckOnePemCertificate(bytes);
    if (!one.ok()) {
      IMAB_RETURN_IF_ERROR(Problem(file + ": " + one.error().message));
    }
    links_[name] = CaLink{name, target, file};
    store_.bundle += bytes;
    if (!bytes.empty() && bytes.back() != '\n') {
      store_.bundle.push_back('\n');
    }
    ++store_.added;
    return OkStatus();
  }

  const CaInputs& inputs_;
  const CaStoreRules& rules_;
  Reporter& reporter_;
  std::map<std::string, CaLink> links_;
  CaStore store_;
};

}  // namespace

bool InCaInputFolders(std::string_view path) {
  for (std::string_view root : {kCaSharedDir, kCaLocalDir}) {
    if (path == root || (path.starts_with(root) && path[root.size()] == '/')) {
      return true;
    }
  }
  return false;
}

bool IsHashLinkName(std::string_view name) {
  if (name.size() < 10 || name[8] != '.') {
    return false;
  }
  for (size_t i = 0; i < 8; ++i) {
    if (std::isxdigit(static_cast<unsigned char>(name[i])) == 0) {
      return false;
    }
  }
  std::string_view number = name.substr(9);
  if (!number.empty() && number[0] == 'r') {
    number.remove_prefix(1);
  }
  return !number.empty() &&
         std::all_of(number.begin(), number.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

bool IsCaStoreOwned(std::string_view name,
                    const std::optional<std::string>& symlink_target) {
  if (name == kCaBundleName) {
    return true;
  }
  if (!symlink_target.has_value()) {
    return false;
  }
  // The script's --fresh matches the target text against both folders.
  return IsHashLinkName(name) ||
         symlink_target->starts_with("/" + std::string(kCaSharedDir)) ||
         symlink_target->starts_with("/" + std::string(kCaLocalDir));
}

std::optional<std::string> ResolveCaInput(const CaInputs& inputs,
                                          std::string_view path) {
  Resolution r = Resolve(inputs, path);
  if (r.found != Found::kFile) {
    return std::nullopt;
  }
  return r.path;
}

Result<CaStore> ComputeCaStore(const CaInputs& inputs,
                               const CaStoreRules& rules, Reporter& reporter) {
  StoreMaker maker(inputs, rules, reporter);
  IMAB_RETURN_IF_ERROR(maker.AddConfEntries());
  IMAB_RETURN_IF_ERROR(maker.AddLocalCertificates());
  IMAB_RETURN_IF_ERROR(maker.Hash());
  return maker.Finish();
}

Result<CaStoreSection> DescribeCaStore(const CaStore& store) {
  CaStoreSection section;
  IMAB_ASSIGN_OR_RETURN(
      section.bundle_sha256,
      Sha256Of(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(store.bundle.data()),
          store.bundle.size())));
  section.anchors = store.anchors;
  return section;
}

}  // namespace imab
