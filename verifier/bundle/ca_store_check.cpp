#include "verifier/bundle/ca_store_check.h"

#include "common/read/digest.h"
#include "common/read/image_tree.h"
#include "common/read/limits.h"
#include "common/read/path_parts.h"
#include "common/read/printable.h"
#include "common/read/reporter.h"

namespace imab::verifier {
namespace {

bool HasRehashExtension(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) {
    return false;
  }
  std::string ext;
  for (char c : name.substr(dot + 1)) {
    ext.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return ext == "pem" || ext == "crt" || ext == "cer" || ext == "crl";
}

// `why` names image paths and link targets: escaped, one printable line.
Error Bad(const std::string& why) {
  return MakeError(ErrorCode::kMalformed, Printable(why));
}

std::string InCerts(const std::string& name) {
  return std::string(kCaCertsDir) + "/" + name;
}

}  // namespace

Status CaStoreCheck::Begin(const Entry& entry) {
  capture_ = nullptr;
  if (!section_.has_value()) {
    return OkStatus();
  }
  const std::string& path = entry.path;
  bool input = path == kCaConfPath || InCaInputFolders(path);
  bool in_certs = ParentPath(path) == kCaCertsDir;
  if (!input && !in_certs) {
    return OkStatus();
  }
  // The inputs are held in memory until the end of the payload.
  if (++entries_ > kMaxCaInputEntries ||
      entry.size > kMaxCaInputBytes - bytes_) {
    return MakeError(ErrorCode::kLimitExceeded,
                     Printable(path) + ": the CA store's inputs exceed " +
                         std::to_string(kMaxCaInputEntries) + " entries or " +
                         std::to_string(kMaxCaInputBytes) + " bytes");
  }
  bytes_ += entry.size;
  std::string name = BaseName(path);
  if (in_certs) {
    Child child{entry.type, entry.link_target, entry.sha256};
    certs_[name] = child;
    if (entry.type == EntryType::kFile && name != kCaBundleName &&
        HasRehashExtension(name)) {
      capture_ = &inputs_.kept[name];
    }
    return OkStatus();
  }
  return CaptureInput(entry);
}

// One input of update-ca-certificates (ca-certificates.conf or a file,
// folder or link under the certificate folders), kept until the end.
Status CaStoreCheck::CaptureInput(const Entry& entry) {
  const std::string& path = entry.path;
  if (path == kCaConfPath) {
    if (entry.type != EntryType::kFile) {
      return Bad(path + " is not a regular file");
    }
    inputs_.conf.emplace();
    capture_ = &*inputs_.conf;
    return OkStatus();
  }
  switch (entry.type) {
    case EntryType::kDir:
      inputs_.dirs.insert(path);
      break;
    case EntryType::kSymlink:
      inputs_.symlinks[path] = entry.link_target;
      break;
    case EntryType::kFile:
      capture_ = &inputs_.files[path];
      break;
    case EntryType::kHardlink: {
      auto target = inputs_.files.find(entry.link_target);
      if (target == inputs_.files.end()) {
        return Bad(path +
                   ": hardlink into the CA store inputs from outside "
                   "them");
      }
      std::string copy = target->second;
      inputs_.files[path] = std::move(copy);
      break;
    }
    case EntryType::kChar:
    case EntryType::kBlock:
    case EntryType::kFifo:
      break;
  }
  return OkStatus();
}

void CaStoreCheck::Feed(std::span<const uint8_t> data) {
  if (capture_ != nullptr) {
    capture_->append(reinterpret_cast<const char*>(data.data()), data.size());
  }
}

void CaStoreCheck::End(const Entry&) { capture_ = nullptr; }

Status CaStoreCheck::CheckLinksResolve(const CaInputs& inputs) const {
  for (const auto& [name, child] : certs_) {
    if (child.type != EntryType::kSymlink || IsHashLinkName(name) ||
        !IsCaStoreOwned(name, child.target)) {
      continue;
    }
    std::optional<std::string> file = ResolveCaInput(inputs, child.target);
    if (!file.has_value()) {
      return Bad("link " + InCerts(name) + " -> " + child.target +
                 " does not resolve to a regular file in the image");
    }
    if (!DescribeAnchor(name, inputs.files.at(*file)).has_value()) {
      return Bad("link " + InCerts(name) + " -> " + child.target +
                 " is not a certificate");
    }
  }
  return OkStatus();
}

Status CaStoreCheck::CheckAgainst(const CaStore& expected) const {
  // Every name the rules produce, with the link target they give it.
  std::map<std::string, std::string> wanted;
  for (const CaLink& link : expected.links) {
    wanted[link.name] = link.target;
  }
  for (const CaHashLink& hash : expected.hash_links) {
    wanted[hash.name] = hash.link;
  }
  for (const auto& [name, target] : wanted) {
    auto it = certs_.find(name);
    if (it == certs_.end() || it->second.type != EntryType::kSymlink) {
      return Bad((IsHashLinkName(name) ? "hash link " : "link ") +
                 InCerts(name) + " -> " + target +
                 (it == certs_.end() ? " is missing" : " is not a symlink"));
    }
    if (it->second.target != target) {
      return Bad((IsHashLinkName(name) ? "hash link " : "link ") +
                 InCerts(name) + " points to " + it->second.target +
                 "; the rules give " + target);
    }
  }
  for (const auto& [name, child] : certs_) {
    if (child.type == EntryType::kSymlink && wanted.count(name) == 0 &&
        IsCaStoreOwned(name, child.target)) {
      return Bad((IsHashLinkName(name) ? "hash link " : "link ") +
                 InCerts(name) + " -> " + child.target +
                 " is not one the rules produce from etc/ca-certificates.conf "
                 "and the certificate folders");
    }
  }
  auto bundle = certs_.find(std::string(kCaBundleName));
  if (bundle == certs_.end() || bundle->second.type != EntryType::kFile) {
    return Bad(InCerts(std::string(kCaBundleName)) +
               " is missing or not a regular file");
  }
  IMAB_ASSIGN_OR_RETURN(
      Sha256Digest digest,
      Sha256Of(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(expected.bundle.data()),
          expected.bundle.size())));
  if (!DigestEquals(digest, bundle->second.sha256)) {
    return MakeError(ErrorCode::kDigestMismatch,
                     InCerts(std::string(kCaBundleName)) +
                         " differs from the concatenation the rules produce");
  }
  return OkStatus();
}

Status CaStoreCheck::CheckSection(const CaStore& expected) const {
  IMAB_ASSIGN_OR_RETURN(CaStoreSection actual, DescribeCaStore(expected));
  const CaStoreSection& declared = *section_;
  if (!DigestEquals(actual.bundle_sha256, declared.bundle_sha256)) {
    return Bad("manifest section ca-store: bundle digest is not that of " +
               InCerts(std::string(kCaBundleName)));
  }
  size_t n = std::min(actual.anchors.size(), declared.anchors.size());
  for (size_t i = 0; i < n; ++i) {
    const CaAnchorRecord& a = actual.anchors[i];
    const CaAnchorRecord& d = declared.anchors[i];
    if (a.link != d.link) {
      return Bad("manifest section ca-store: anchor " +
                 std::min(a.link, d.link) +
                 (a.link < d.link ? " is in the image but not declared"
                                  : " is declared but not in the image"));
    }
    if (!(a == d)) {
      return Bad("manifest section ca-store: anchor " + a.link +
                 " (fingerprint, notAfter or subject) differs from the "
                 "certificate in the image");
    }
  }
  if (actual.anchors.size() != declared.anchors.size()) {
    const auto& longer =
        actual.anchors.size() > n ? actual.anchors : declared.anchors;
    return Bad("manifest section ca-store: anchor " + longer[n].link +
               (actual.anchors.size() > n
                    ? " is in the image but not declared"
                    : " is declared but not in the image"));
  }
  return OkStatus();
}

Status CaStoreCheck::Finish() const {
  if (!section_.has_value()) {
    return OkStatus();
  }
  IMAB_RETURN_IF_ERROR(CheckLinksResolve(inputs_));
  // The rules, lenient: the question is whether the image is consistent
  // with them, not how strict its builder was.
  CaStoreRules rules;
  rules.strict = false;
  // Quiet: differences are reported by comparison, not by the rules' notes.
  NullReporter quiet;
  Result<CaStore> expected = ComputeCaStore(inputs_, rules, quiet);
  if (!expected.has_value()) {
    return Bad("the CA store cannot be recomputed from the image: " +
               expected.error().message);
  }
  IMAB_RETURN_IF_ERROR(CheckAgainst(*expected));
  return CheckSection(*expected);
}

}  // namespace imab::verifier
