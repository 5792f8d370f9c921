#include "builder/ca_store_stage.h"

#include <algorithm>
#include <deque>
#include <filesystem>

#include "common/read/ca_store.h"
#include "common/read/ima_xattr.h"
#include "common/read/input_file.h"
#include "common/read/limits.h"

namespace imab::builder {
namespace {

constexpr size_t kChunkBytes = 64u << 10;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool Under(std::string_view path, std::string_view root) {
  return path == root || (StartsWith(path, root) && path.size() > root.size() &&
                          path[root.size()] == '/');
}

std::string Parent(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? ""
                                         : std::string(path.substr(0, slash));
}

std::string BaseName(std::string_view path) {
  return std::string(path.substr(path.rfind('/') + 1));
}

// `openssl rehash` looks only at these extensions (case-insensitive).
bool HasRehashExtension(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) {
    return false;
  }
  std::string ext(name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return ext == "pem" || ext == "crt" || ext == "cer" || ext == "crl";
}

// Folders the stage may have to create, and the conf: their types in the
// input decide where generated entries go.
bool IsPlacementPath(std::string_view path) {
  for (std::string_view p : {"etc", "etc/ssl", "etc/ssl/certs", "usr",
                             "usr/local", "usr/local/share"}) {
    if (path == p) {
      return true;
    }
  }
  return path == kCaLocalDir || path == kCaConfPath;
}

// The image's CA inputs and the types of the placement folders, read in
// one pass over a second opening of the rootfs.
struct Collected {
  CaInputs inputs;
  std::map<std::string, EntryType> types;  // placement paths only
  struct Child {
    std::string name;
    EntryType type;
    std::optional<std::string> target;  // symlinks
  };
  std::vector<Child> certs_children;  // entries directly in etc/ssl/certs
};

class Collector {
 public:
  Result<Collected> Run(RootfsSource& source) {
    std::vector<uint8_t> buffer(kChunkBytes);
    buffer_ = &buffer;
    while (true) {
      IMAB_ASSIGN_OR_RETURN(std::optional<SourceEntry> next, source.Next());
      if (!next.has_value()) {
        break;
      }
      IMAB_RETURN_IF_ERROR(Take(*next));
    }
    return std::move(out_);
  }

 private:
  Status Take(SourceEntry& se) {
    const Entry& e = se.entry;
    if (IsPlacementPath(e.path)) {
      out_.types[e.path] = e.type;
    }
    if (e.path == kCaConfPath) {
      if (e.type != EntryType::kFile) {
        return MakeError(ErrorCode::kInvalidArgument,
                         e.path + ": not a regular file (not supported)");
      }
      IMAB_ASSIGN_OR_RETURN(out_.inputs.conf, Read(se));
      return OkStatus();
    }
    if (Under(e.path, kCaSharedDir) || Under(e.path, kCaLocalDir)) {
      return TakeInput(se);
    }
    if (Parent(e.path) != kCaCertsDir) {
      return OkStatus();
    }
    std::string name = BaseName(e.path);
    out_.certs_children.push_back({name, e.type,
                                   e.type == EntryType::kSymlink
                                       ? std::optional(e.link_target)
                                       : std::nullopt});
    if (e.type == EntryType::kFile && name != kCaBundleName &&
        HasRehashExtension(name)) {
      IMAB_ASSIGN_OR_RETURN(out_.inputs.kept[name], Read(se));
    }
    return OkStatus();
  }

  Status TakeInput(SourceEntry& se) {
    const Entry& e = se.entry;
    if (++entries_ > kMaxCaInputEntries) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "CA store inputs: more than " +
                           std::to_string(kMaxCaInputEntries) + " entries");
    }
    switch (e.type) {
      case EntryType::kDir:
        out_.inputs.dirs.insert(e.path);
        return OkStatus();
      case EntryType::kFile: {
        IMAB_ASSIGN_OR_RETURN(out_.inputs.files[e.path], Read(se));
        return OkStatus();
      }
      case EntryType::kSymlink:
        out_.inputs.symlinks[e.path] = e.link_target;
        return OkStatus();
      case EntryType::kHardlink: {
        auto target = out_.inputs.files.find(e.link_target);
        if (target == out_.inputs.files.end()) {
          return MakeError(ErrorCode::kInvalidArgument,
                           e.path +
                               ": hardlink to a file outside the CA "
                               "folders (not supported)");
        }
        std::string copy = target->second;
        out_.inputs.files[e.path] = std::move(copy);
        return OkStatus();
      }
      case EntryType::kChar:
      case EntryType::kBlock:
      case EntryType::kFifo:
        return OkStatus();  // neither find -type f nor test -f sees them
    }
    return OkStatus();
  }

  Result<std::string> Read(SourceEntry& se) {
    const Entry& e = se.entry;
    if (e.size > kMaxCaInputBytes - bytes_) {
      return MakeError(ErrorCode::kLimitExceeded,
                       e.path + ": CA store inputs exceed " +
                           std::to_string(kMaxCaInputBytes) + " bytes");
    }
    std::string content;
    content.reserve(static_cast<size_t>(e.size));
    while (true) {
      IMAB_ASSIGN_OR_RETURN(size_t n, se.content->Read(*buffer_));
      if (n == 0) {
        break;
      }
      content.append(reinterpret_cast<const char*>(buffer_->data()), n);
      if (content.size() > e.size) {
        break;
      }
    }
    if (content.size() != e.size) {
      return MakeError(ErrorCode::kIo,
                       e.path + ": changed size while being read");
    }
    bytes_ += e.size;
    return content;
  }

  Collected out_;
  std::vector<uint8_t>* buffer_ = nullptr;
  size_t entries_ = 0;
  uint64_t bytes_ = 0;
};

// --ca-remove NAME: turns every conf line selecting NAME into a `!` line.
// NAME is the entry as written (mozilla/X.crt), its file name with or
// without .crt, or its link name with or without .pem.
Result<std::string> Deselect(const std::string& conf, const std::string& name) {
  std::string out;
  size_t matched = 0;
  size_t start = 0;
  while (start < conf.size()) {
    size_t end = conf.find('\n', start);
    bool newline = end != std::string::npos;
    std::string line =
        conf.substr(start, newline ? end - start : std::string::npos);
    start = newline ? end + 1 : conf.size();
    // The script ignores a last line without newline: it selects nothing.
    std::vector<CaConfLine> parsed =
        newline ? ParseCaConf(line + "\n") : std::vector<CaConfLine>();
    if (parsed.size() == 1 && !parsed[0].deselect) {
      const std::string& entry = parsed[0].name;
      std::string link = CaLinkName("/" + entry);
      std::string base = BaseName(entry);
      if (entry == name || base == name || base == name + ".crt" ||
          link == name || link == name + ".pem") {
        line = "!" + entry;
        ++matched;
      }
    }
    out += line + (newline ? "\n" : "");
  }
  if (matched == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--ca-remove " + name + ": " + std::string(kCaConfPath) +
                         " selects no certificate of that name");
  }
  return out;
}

Entry Generated(std::string path, EntryType type, uint32_t mode) {
  Entry e;
  e.path = std::move(path);
  e.type = type;
  e.mode = mode;
  return e;  // uid 0, gid 0: the script runs as root
}

GeneratedEntry Symlink(std::string path, std::string target) {
  Entry e = Generated(std::move(path), EntryType::kSymlink, 0777);
  e.link_target = std::move(target);
  return {std::move(e), {}};
}

GeneratedEntry File(std::string path, std::string content) {
  Entry e = Generated(std::move(path), EntryType::kFile, 0644);
  e.size = content.size();
  return {std::move(e), std::move(content)};
}

class Planner {
 public:
  Planner(Collected collected, const CaStoreOptions& options,
          Reporter& reporter)
      : c_(std::move(collected)), options_(options), reporter_(reporter) {}

  Result<std::optional<CaStagePlan>> Run() {
    CaInputs& in = c_.inputs;
    // The conf is what selects certificates of the shared folder: an image
    // with that folder but no conf (a trimmed copy of a host, a store built
    // elsewhere) gives no selection to regenerate from.
    bool has_inputs =
        in.conf.has_value() || in.dirs.count(std::string(kCaLocalDir)) != 0;
    if (!has_inputs && options_.add.empty() && options_.conf.empty()) {
      if (in.dirs.count(std::string(kCaSharedDir)) != 0) {
        if (!options_.policy.required.empty()) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "--ca-require: the image has no " +
                               std::string(kCaConfPath) +
                               " to select its CA store with");
        }
        reporter_.Warn(
            std::string(kCaSharedDir) + " without " + std::string(kCaConfPath) +
            ": nothing selects its certificates; " + std::string(kCaCertsDir) +
            " left as it is (give --ca-conf to regenerate it)");
        return std::optional<CaStagePlan>();
      }
      if (!options_.policy.required.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "--ca-require: the image has no CA store inputs");
      }
      reporter_.Info(
          "no CA store inputs in the image (" + std::string(kCaConfPath) +
          ", " + std::string(kCaSharedDir) + ", " + std::string(kCaLocalDir) +
          "): " + std::string(kCaCertsDir) + " left as it is");
      return std::optional<CaStagePlan>();
    }
    IMAB_RETURN_IF_ERROR(EditInputs());
    CaStoreRules rules;
    rules.strict = !options_.lenient;
    IMAB_ASSIGN_OR_RETURN(CaStore store, ComputeCaStore(in, rules, reporter_));
    IMAB_ASSIGN_OR_RETURN(plan_.section, DescribeCaStore(store));
    IMAB_RETURN_IF_ERROR(CheckPolicy());
    IMAB_RETURN_IF_ERROR(PlaceStore(store));
    plan_.summary = "CA store: " + std::to_string(store.links.size()) +
                    " links, " + std::to_string(store.hash_links.size()) +
                    " hash links, " + std::string(kCaBundleName) + " " +
                    std::to_string(store.added) + " certificates (" +
                    std::to_string(store.bundle.size()) + " bytes)";
    return std::optional<CaStagePlan>(std::move(plan_));
  }

 private:
  Status EditInputs() {
    CaInputs& in = c_.inputs;
    bool conf_changed = false;
    if (!options_.conf.empty()) {
      IMAB_ASSIGN_OR_RETURN(in.conf,
                            ReadInputFile(options_.conf, kMaxCaInputBytes));
      conf_changed = true;
    }
    for (const std::string& name : options_.remove) {
      if (!in.conf.has_value()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "--ca-remove " + name + ": the image has no " +
                             std::string(kCaConfPath));
      }
      IMAB_ASSIGN_OR_RETURN(in.conf, Deselect(*in.conf, name));
      conf_changed = true;
    }
    if (conf_changed) {
      IMAB_RETURN_IF_ERROR(PlaceConf(*in.conf));
    }
    std::vector<GeneratedEntry> added;
    for (const std::string& file : options_.add) {
      std::string name = std::filesystem::path(file).filename().string();
      if (name.size() <= 4 || name.substr(name.size() - 4) != ".crt") {
        return MakeError(ErrorCode::kInvalidArgument,
                         "--ca-add " + file +
                             ": the name must end in .crt (update-ca-"
                             "certificates ignores other names)");
      }
      std::string path = std::string(kCaLocalDir) + "/" + name;
      if (in.files.count(path) != 0 || in.symlinks.count(path) != 0 ||
          in.dirs.count(path) != 0) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "--ca-add " + file + ": " + path + " is already in the image");
      }
      IMAB_ASSIGN_OR_RETURN(std::string bytes,
                            ReadInputFile(file, kMaxCaInputBytes));
      in.files[path] = bytes;
      added.push_back(File(path, std::move(bytes)));
    }
    if (!added.empty()) {
      in.dirs.insert(std::string(kCaLocalDir));
      IMAB_RETURN_IF_ERROR(Attach(std::string(kCaLocalDir), std::move(added)));
    }
    return OkStatus();
  }

  Status PlaceConf(const std::string& conf) {
    auto it = c_.types.find(std::string(kCaConfPath));
    if (it != c_.types.end()) {
      plan_.replace[std::string(kCaConfPath)] = conf;
      return OkStatus();
    }
    std::vector<GeneratedEntry> entries;
    entries.push_back(File(std::string(kCaConfPath), conf));
    c_.types[std::string(kCaConfPath)] = EntryType::kFile;
    return Attach("etc", std::move(entries));
  }

  Status CheckPolicy() {
    for (const CaAnchorRecord* a :
         ExpiringAnchors(plan_.section, options_.now,
                         options_.policy.expiry_horizon_days)) {
      bool expired = static_cast<int64_t>(a->not_after) <= options_.now;
      reporter_.Warn(
          "CA " + a->link + " (" + a->subject + ") " +
          (expired ? "expired on " : "expires on ") +
          FormatUtcDate(a->not_after) +
          (expired ? ""
                   : ", within " +
                         std::to_string(options_.policy.expiry_horizon_days) +
                         " days"));
    }
    IMAB_ASSIGN_OR_RETURN(std::vector<RequiredAnchor> required,
                          ResolveRequiredAnchors(options_.policy.required));
    Status ok = CheckRequiredAnchors(plan_.section, required,
                                     options_.policy.expiry_horizon_days,
                                     options_.now, ErrorCode::kInvalidArgument);
    if (!ok.ok()) {
      return WithContext(std::move(ok).error(), "--ca-require");
    }
    return OkStatus();
  }

  Status PlaceStore(const CaStore& store) {
    std::string dir(kCaCertsDir);
    std::vector<GeneratedEntry> entries;
    std::set<std::string> names;
    for (const CaLink& link : store.links) {
      entries.push_back(Symlink(dir + "/" + link.name, link.target));
    }
    for (const CaHashLink& hash : store.hash_links) {
      entries.push_back(Symlink(dir + "/" + hash.name, hash.link));
    }
    entries.push_back(
        File(dir + "/" + std::string(kCaBundleName), store.bundle));
    std::sort(entries.begin(), entries.end(),
              [](const GeneratedEntry& a, const GeneratedEntry& b) {
                return a.entry.path < b.entry.path;
              });
    for (const GeneratedEntry& g : entries) {
      names.insert(BaseName(g.entry.path));
    }
    for (const Collected::Child& child : c_.certs_children) {
      std::string path = dir + "/" + child.name;
      if (!IsCaStoreOwned(child.name, child.target) &&
          names.count(child.name) == 0) {
        if (child.type == EntryType::kSymlink &&
            HasRehashExtension(child.name)) {
          reporter_.Warn(path +
                         ": kept, but not hashed (a link the CA "
                         "store does not own)");
        }
        continue;
      }
      // ln -sf would put the link inside such a folder, not replace it.
      if (child.type == EntryType::kDir) {
        return MakeError(ErrorCode::kInvalidArgument,
                         path + ": a folder where the CA store puts a file");
      }
      plan_.drop.insert(path);
    }
    return Attach(dir, std::move(entries));
  }

  // Queues `entries` after folder `dir`, creating the missing folders of
  // its chain (0755, root) after the deepest one the input has.
  Status Attach(const std::string& dir, std::vector<GeneratedEntry> entries) {
    std::vector<std::string> missing;
    std::string current = dir;
    while (!current.empty()) {
      auto it = c_.types.find(current);
      if (it != c_.types.end()) {
        if (it->second != EntryType::kDir) {
          return MakeError(ErrorCode::kInvalidArgument,
                           current +
                               ": not a folder; the CA store needs "
                               "one here");
        }
        break;
      }
      missing.push_back(current);
      current = Parent(current);
    }
    std::vector<GeneratedEntry>& list = plan_.after[current];
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      list.push_back({Generated(*it, EntryType::kDir, 0755), {}});
      c_.types[*it] = EntryType::kDir;
    }
    for (GeneratedEntry& g : entries) {
      list.push_back(std::move(g));
    }
    return OkStatus();
  }

  Collected c_;
  const CaStoreOptions& options_;
  Reporter& reporter_;
  CaStagePlan plan_;
};

class MemoryContent : public ContentReader {
 public:
  void Reset(std::string_view data) {
    data_ = data;
    pos_ = 0;
  }
  Result<size_t> Read(std::span<uint8_t> out) override {
    size_t n = std::min(out.size(), data_.size() - pos_);
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(pos_), n,
                out.begin());
    pos_ += n;
    return n;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

class CaStoreSource : public RootfsSource {
 public:
  CaStoreSource(std::unique_ptr<RootfsSource> inner, CaStagePlan plan)
      : inner_(std::move(inner)), plan_(std::move(plan)) {}

  Result<std::optional<SourceEntry>> Next() override {
    if (!started_) {
      started_ = true;
      Enqueue("");
    }
    while (true) {
      if (!queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.pop_front();
        SourceEntry out{current_.entry, nullptr};
        if (current_.entry.type == EntryType::kFile) {
          memory_.Reset(current_.content);
          out.content = &memory_;
        }
        if (current_.entry.type == EntryType::kDir) {
          Enqueue(current_.entry.path);
        }
        return std::optional<SourceEntry>(std::move(out));
      }
      IMAB_ASSIGN_OR_RETURN(std::optional<SourceEntry> next, inner_->Next());
      if (!next.has_value()) {
        if (!plan_.after.empty()) {
          return MakeError(ErrorCode::kIo,
                           plan_.after.begin()->first +
                               ": gone from the rootfs while building");
        }
        return next;
      }
      Entry& e = next->entry;
      if (plan_.drop.count(e.path) != 0) {
        continue;  // a stale entry of the input's store
      }
      auto replaced = plan_.replace.find(e.path);
      if (replaced != plan_.replace.end() && e.type == EntryType::kFile) {
        e.size = replaced->second.size();
        // Signatures over the old content would be wrong now.
        std::erase_if(e.xattrs, [](const Xattr& x) {
          return x.name == kImaXattr || x.name == kEvmXattr;
        });
        memory_.Reset(replaced->second);
        next->content = &memory_;
      }
      if (e.type == EntryType::kDir) {
        Enqueue(e.path);
      }
      return next;
    }
  }

 private:
  void Enqueue(const std::string& dir) {
    auto it = plan_.after.find(dir);
    if (it == plan_.after.end()) {
      return;
    }
    for (GeneratedEntry& g : it->second) {
      queue_.push_back(std::move(g));
    }
    plan_.after.erase(it);
  }

  std::unique_ptr<RootfsSource> inner_;
  CaStagePlan plan_;
  bool started_ = false;
  std::deque<GeneratedEntry> queue_;
  GeneratedEntry current_;
  MemoryContent memory_;
};

}  // namespace

Result<std::optional<CaStagePlan>> PlanCaStore(const std::string& rootfs,
                                               const CaStoreOptions& options,
                                               Reporter& reporter) {
  // The main pass reports the source's own warnings; this one stays quiet.
  NullReporter quiet;
  IMAB_ASSIGN_OR_RETURN(auto source, OpenRootfs(rootfs, quiet));
  Collector collector;
  IMAB_ASSIGN_OR_RETURN(Collected collected, collector.Run(*source));
  Planner planner(std::move(collected), options, reporter);
  return planner.Run();
}

std::unique_ptr<RootfsSource> WrapWithCaStore(
    std::unique_ptr<RootfsSource> inner, CaStagePlan plan) {
  return std::make_unique<CaStoreSource>(std::move(inner), std::move(plan));
}

}  // namespace imab::builder
