#include "verifier/bundle/boot_files_check.h"

#include <openssl/x509.h>

#include <algorithm>

#include "common/read/handles.h"
#include "common/read/kernel_image.h"
#include "common/read/limits.h"
#include "common/read/x509_util.h"

namespace imab::verifier {
namespace {

Error KernelProblem(const std::string& path, const std::string& what) {
  return MakeError(ErrorCode::kBadSignature, "kernel " + path + ": " + what);
}

// "CN=Other CA" for a message; the hex prefix when it does not parse.
std::string DescribeCa(const std::string& der) {
  Result<Ptr<X509>> cert = ParseCertificateDer(der, "kernel CA");
  return cert.has_value() ? "\"" + SubjectLine(cert->get()) + "\""
                          : std::string("(unparsable certificate)");
}

}  // namespace

const KernelRecord* BootFilesCheck::FindKernel(const std::string& path) const {
  if (!header_.keys.has_value()) {
    return nullptr;
  }
  for (const KernelRecord& k : header_.keys->kernels) {
    if (k.path == path) {
      return &k;
    }
  }
  return nullptr;
}

bool BootFilesCheck::DeclaresInitramfs(const std::string& path) const {
  if (!header_.keys.has_value()) {
    return false;
  }
  return std::any_of(header_.keys->initramfs.begin(),
                     header_.keys->initramfs.end(),
                     [&](const InitramfsRecord& r) { return r.path == path; });
}

// The declarations are all in the header, so a candidate is judged the
// moment it streams: nothing grows with the number of entries.
Status BootFilesCheck::CheckCandidate(const Entry& entry) const {
  const BootFileRole role = BootFileRoleOf(entry.path);
  // A bundle for IMA devices: its boot files decide what the device trusts.
  if (role == BootFileRole::kNone ||
      (!header_.keys.has_value() && !header_.ima.has_value())) {
    return OkStatus();
  }
  // A link is followed to the file it names: that is what gets loaded.
  std::string resolved;
  if (entry.type == EntryType::kFile) {
    resolved = entry.path;
  } else if (entry.type == EntryType::kSymlink) {
    resolved = ResolveImageLink(entry.path, entry.link_target);
  } else if (entry.type == EntryType::kHardlink) {
    resolved = entry.link_target;
  } else {
    return OkStatus();  // a folder or a device node is not loaded
  }
  const std::string named = resolved == entry.path
                                ? entry.path
                                : entry.path + " (-> " + resolved + ")";
  if (role == BootFileRole::kInitramfs && !DeclaresInitramfs(resolved)) {
    return MakeError(ErrorCode::kBadSignature,
                     "initramfs " + named +
                         ": a bootloader could load it, but the manifest "
                         "does not declare it, so the keys it loads are "
                         "unchecked");
  }
  // A kernel the device could boot with CAs nobody declared: its keyring
  // cannot be predicted, whichever CAs the device has now.
  if (role == BootFileRole::kKernel && FindKernel(resolved) == nullptr) {
    return KernelProblem(named,
                         "a bootloader could start it, but the manifest "
                         "does not declare it as carrying the kernel CAs");
  }
  return OkStatus();
}

Status BootFilesCheck::Begin(const Entry& entry) {
  IMAB_RETURN_IF_ERROR(CheckCandidate(entry));
  if (entry.type == EntryType::kDir || entry.type == EntryType::kSymlink) {
    tree_.Add(entry);
    if (entry.type == EntryType::kSymlink &&
        (entry.path == "boot" || entry.path.starts_with("boot/"))) {
      boot_links_.push_back(entry.path);
    }
  }
  current_ = FindKernel(entry.path);
  image_.clear();
  if (current_ == nullptr) {
    return OkStatus();
  }
  if (entry.type != EntryType::kFile) {
    return MakeError(ErrorCode::kMalformed,
                     "kernel " + entry.path + " is not a regular file");
  }
  if (entry.size > kMaxKernelBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "kernel " + entry.path + " larger than " +
                         std::to_string(kMaxKernelBytes) + " bytes");
  }
  image_.reserve(static_cast<size_t>(entry.size));
  return OkStatus();
}

void BootFilesCheck::Feed(std::span<const uint8_t> data) {
  if (current_ != nullptr) {
    image_.insert(image_.end(), data.begin(), data.end());
  }
}

Status BootFilesCheck::End(const Entry& entry) {
  if (current_ == nullptr) {
    return OkStatus();
  }
  const KernelRecord& record = *current_;
  current_ = nullptr;
  const std::vector<std::string>& cas = header_.keys->kernel_cas;
  // The reader refuses this too: with no CA to find, any kernel would
  // pass, and the device would judge it with its own CAs.
  if (cas.empty()) {
    image_.clear();
    return KernelProblem(entry.path,
                         "declared without any kernel-ca line, so the CAs "
                         "the booted kernel carries are unknown");
  }
  Result<KernelImageScan> scan =
      ScanKernelImage(image_, cas, kMaxKernelDecompressedBytes);
  image_.clear();
  image_.shrink_to_fit();
  if (!scan.has_value()) {
    return WithContext(scan.error(), "kernel " + entry.path);
  }
  for (size_t i = 0; i < cas.size(); ++i) {
    if (!scan->found[i]) {
      return KernelProblem(
          entry.path, "does not carry the kernel CA " + DescribeCa(cas[i]) +
                          " the manifest declares; the booted kernel would "
                          "refuse the certificates it issued");
    }
  }
  if (!scan->version.has_value() || scan->version->first != record.major ||
      scan->version->second != record.minor) {
    return KernelProblem(entry.path,
                         "its \"Linux version\" banner is not the declared " +
                             std::to_string(record.major) + "." +
                             std::to_string(record.minor));
  }
  kernels_seen_.push_back(entry.path);
  return OkStatus();
}

Status BootFilesCheck::Finish() const {
  if (header_.keys.has_value() || header_.ima.has_value()) {
    for (const std::string& link : boot_links_) {
      const CriticalClosure::Walked walked = tree_.Walk(link);
      if (walked.is_dir) {
        return MakeError(ErrorCode::kBadSignature,
                         "boot folder " + link +
                             " is a symlink to the folder " + walked.path +
                             ": a bootloader follows it, so the kernels and "
                             "initramfs there would escape the boot-file "
                             "checks");
      }
    }
  }
  if (!header_.keys.has_value()) {
    return OkStatus();
  }
  for (const KernelRecord& k : header_.keys->kernels) {
    if (std::find(kernels_seen_.begin(), kernels_seen_.end(), k.path) ==
        kernels_seen_.end()) {
      return MakeError(ErrorCode::kMalformed,
                       "kernel " + k.path +
                           " is declared by the manifest but not in the "
                           "payload");
    }
  }
  return OkStatus();
}

}  // namespace imab::verifier
