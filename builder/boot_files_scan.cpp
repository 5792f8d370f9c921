#include "builder/boot_files_scan.h"

#include <openssl/x509.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "common/read/boot_files.h"
#include "common/read/handles.h"
#include "common/read/kernel_image.h"
#include "common/read/limits.h"
#include "common/read/x509_util.h"

namespace imab::builder {

struct BootFilesScan::State {
  struct Candidate {
    BootFileRole role;
    std::string path;
    std::string resolved;
  };
  struct Kernel {
    std::string path;
    KernelImageScan scan;
  };
  std::vector<std::string> cas;
  std::vector<Candidate> candidates;
  // Folders and symlinks of the image, to find symlinked boot folders.
  std::set<std::string> dirs;
  std::map<std::string, std::string> links;
  std::vector<Kernel> kernels;
  // The kernel being read, captured until the next entry.
  std::optional<std::string> capturing;
  std::vector<uint8_t> bytes;
  bool too_big = false;

  Status FinishCapture() {
    if (!capturing.has_value()) {
      return OkStatus();
    }
    std::string path = std::move(*capturing);
    capturing.reset();
    if (too_big) {
      return MakeError(ErrorCode::kLimitExceeded,
                       path + ": kernel larger than " +
                           std::to_string(kMaxKernelBytes) + " bytes");
    }
    Result<KernelImageScan> scan =
        ScanKernelImage(bytes, cas, kMaxKernelDecompressedBytes);
    bytes.clear();
    bytes.shrink_to_fit();
    if (!scan.has_value()) {
      return WithContext(scan.error(), path);
    }
    kernels.push_back({std::move(path), std::move(scan).value()});
    return OkStatus();
  }
};

namespace {

// Passes content through, keeping a copy of a kernel's bytes.
class TeeReader : public ContentReader {
 public:
  TeeReader(ContentReader* inner, BootFilesScan::State* state)
      : inner_(inner), state_(state) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    IMAB_ASSIGN_OR_RETURN(size_t n, inner_->Read(out));
    if (state_->bytes.size() + n > kMaxKernelBytes) {
      state_->too_big = true;
    } else {
      state_->bytes.insert(state_->bytes.end(), out.begin(),
                           out.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return n;
  }

 private:
  ContentReader* inner_;
  BootFilesScan::State* state_;
};

class BootScanSource : public RootfsSource {
 public:
  BootScanSource(std::unique_ptr<RootfsSource> inner,
                 BootFilesScan::State* state)
      : inner_(std::move(inner)), state_(state) {}

  Result<std::optional<SourceEntry>> Next() override {
    IMAB_RETURN_IF_ERROR(state_->FinishCapture());
    IMAB_ASSIGN_OR_RETURN(std::optional<SourceEntry> next, inner_->Next());
    if (!next.has_value()) {
      return next;
    }
    const Entry& e = next->entry;
    if (e.type == EntryType::kDir) {
      state_->dirs.insert(e.path);
    } else if (e.type == EntryType::kSymlink) {
      state_->links[e.path] = e.link_target;
    }
    const BootFileRole role = BootFileRoleOf(e.path);
    if (role == BootFileRole::kNone) {
      return next;
    }
    if (e.type == EntryType::kFile) {
      state_->candidates.push_back({role, e.path, e.path});
      if (role == BootFileRole::kKernel && next->content != nullptr &&
          !state_->cas.empty()) {
        state_->capturing = e.path;
        state_->too_big = false;
        tee_ = std::make_unique<TeeReader>(next->content, state_);
        next->content = tee_.get();
      }
    } else if (e.type == EntryType::kSymlink) {
      state_->candidates.push_back(
          {role, e.path, ResolveImageLink(e.path, e.link_target)});
    } else if (e.type == EntryType::kHardlink) {
      state_->candidates.push_back({role, e.path, e.link_target});
    }
    return next;
  }

 private:
  std::unique_ptr<RootfsSource> inner_;
  BootFilesScan::State* state_;
  std::unique_ptr<TeeReader> tee_;
};

std::string CaName(const std::string& der) {
  Result<Ptr<X509>> cert = ParseCertificateDer(der, "kernel CA");
  return cert.has_value() ? "\"" + SubjectLine(cert->get()) + "\""
                          : std::string("(unparsable)");
}

Error Refuse(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, what);
}

}  // namespace

BootFilesScan::BootFilesScan(std::vector<std::string> kernel_ca_ders)
    : state_(std::make_unique<State>()) {
  state_->cas = std::move(kernel_ca_ders);
}

BootFilesScan::~BootFilesScan() = default;

std::unique_ptr<RootfsSource> BootFilesScan::Wrap(
    std::unique_ptr<RootfsSource> inner) {
  return std::make_unique<BootScanSource>(std::move(inner), state_.get());
}

namespace {

Status CheckInitramfsDeclared(const BootFilesScan::State& s,
                              const std::vector<std::string>& declared) {
  for (const BootFilesScan::State::Candidate& c : s.candidates) {
    if (c.role == BootFileRole::kInitramfs &&
        std::find(declared.begin(), declared.end(), c.resolved) ==
            declared.end()) {
      return Refuse(c.path +
                    ": a bootloader could load this initramfs, but "
                    "the build does not put its keys into it or declare it "
                    "(name every initramfs with --initramfs, or remove it)");
    }
  }
  return OkStatus();
}

// Where `path` leads inside the image, every symlinked component (and the
// last) followed; "" after too many links.
std::string WalkImagePath(const BootFilesScan::State& s, std::string path) {
  for (int hops = 0; hops <= 40; ++hops) {
    bool followed = false;
    for (size_t end = 0; end != std::string::npos && !followed;) {
      end = path.find('/', end + 1);
      const std::string prefix = path.substr(0, end);
      auto link = s.links.find(prefix);
      if (link != s.links.end()) {
        const std::string rest =
            end == std::string::npos ? std::string() : path.substr(end);
        path = ResolveImageLink(prefix, link->second) + rest;
        followed = true;
      }
    }
    if (!followed) {
      return path;
    }
  }
  return "";
}

// A bootloader follows a symlinked `boot` or folder below it; the files
// there would escape the name rule, so such an image is refused.
Status CheckNoSymlinkedBootFolder(const BootFilesScan::State& s) {
  for (const auto& [path, target] : s.links) {
    if (path != "boot" && !path.starts_with("boot/")) {
      continue;
    }
    const std::string leads_to = WalkImagePath(s, path);
    if (s.dirs.count(leads_to) != 0) {
      return Refuse(path + ": a symlink to the folder " + leads_to +
                    "; a bootloader follows it, so the kernels and initramfs "
                    "there would escape the boot-file checks (make it a real "
                    "folder)");
    }
  }
  return OkStatus();
}

// One kernel candidate: a checked kernel file carrying every CA.
Status CheckKernelCarriesCas(const BootFilesScan::State& s,
                             const BootFilesScan::State::Candidate& c) {
  if (s.cas.empty()) {
    return Refuse(c.path +
                  ": the image ships a kernel a bootloader could "
                  "start; name the CAs built into it with --kernel-ca, so "
                  "devices can judge the keys it will load");
  }
  auto kernel = std::find_if(s.kernels.begin(), s.kernels.end(),
                             [&](const BootFilesScan::State::Kernel& k) {
                               return k.path == c.resolved;
                             });
  if (kernel == s.kernels.end()) {
    return Refuse(c.path + ": a bootloader could start it, but it leads to " +
                  c.resolved + ", which is not a kernel file the build " +
                  "could check for the --kernel-ca certificates");
  }
  for (size_t i = 0; i < s.cas.size(); ++i) {
    if (!kernel->scan.found[i]) {
      return Refuse(c.path + ": this kernel does not carry --kernel-ca " +
                    CaName(s.cas[i]) +
                    "; a device booting it would refuse every certificate "
                    "that CA issued");
    }
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<KernelRecord>> BootFilesScan::Finish(
    const std::vector<std::string>& declared_initramfs,
    bool declares_boot_chain, Reporter& reporter) const {
  std::vector<KernelRecord> records;
  if (!declares_boot_chain) {
    return records;
  }
  const State& s = *state_;
  IMAB_RETURN_IF_ERROR(CheckNoSymlinkedBootFolder(s));
  IMAB_RETURN_IF_ERROR(CheckInitramfsDeclared(s, declared_initramfs));
  for (const State::Candidate& c : s.candidates) {
    if (c.role == BootFileRole::kKernel) {
      IMAB_RETURN_IF_ERROR(CheckKernelCarriesCas(s, c));
    }
  }
  for (const State::Kernel& k : s.kernels) {
    if (!k.scan.version.has_value()) {
      return Refuse(k.path +
                    ": no \"Linux version\" banner found in this kernel");
    }
    records.push_back({k.path, k.scan.version->first, k.scan.version->second});
  }
  std::sort(records.begin(), records.end(),
            [](const KernelRecord& a, const KernelRecord& b) {
              return a.path < b.path;
            });
  if (records.empty() && !s.cas.empty()) {
    reporter.Warn(
        "the image ships no kernel carrying the --kernel-ca "
        "certificates: devices judge the update with the kernel "
        "CAs they boot with");
  }
  return records;
}

}  // namespace imab::builder
