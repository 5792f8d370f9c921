// Reading and writing ROOT/etc/imabundle/device.conf
// (manifests/device.conf.md).
#include "verifier/device/device_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include "verifier/device/device_root.h"
#include "verifier/device/small_file.h"

namespace imab::verifier {
namespace {

// Larger than any sensible configuration; refuses a wrong file early.
constexpr size_t kMaxConfigBytes = 1u << 20;

std::string Trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    return "";
  }
  size_t end = s.find_last_not_of(" \t");
  return std::string(s.substr(begin, end - begin + 1));
}

// A path the configuration names, stored relative to ROOT. A leading '/'
// means the device's "/", which is ROOT. No ".." so nothing escapes ROOT.
Result<std::string> DeviceRelativePath(std::string_view value) {
  while (!value.empty() && value.front() == '/') {
    value.remove_prefix(1);
  }
  if (value.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "empty path");
  }
  std::string_view rest = value;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part == "..") {
      return MakeError(ErrorCode::kInvalidArgument,
                       "path " + std::string(value) + " leaves the root");
    }
    if (slash == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(slash + 1);
  }
  return std::string(value);
}

Result<bool> ParseBool(const std::string& value) {
  if (value == "yes" || value == "true" || value == "1") {
    return true;
  }
  if (value == "no" || value == "false" || value == "0") {
    return false;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "'" + value + "' is not yes or no");
}

Result<uint32_t> ParseCount(const std::string& value) {
  uint32_t out = 0;
  auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size() ||
      value.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + value + "' is not a number");
  }
  return out;
}

Result<SlotLayout> ParseLayout(const std::string& value) {
  if (value == "ab") {
    return SlotLayout::kAb;
  }
  if (value == "in-place") {
    return SlotLayout::kInPlace;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "'" + value + "' is not ab or in-place");
}

}  // namespace

Result<InitramfsSource> ParseInitramfsSource(const std::string& value) {
  if (value == "image") {
    return InitramfsSource::kImage;
  }
  if (value == "none") {
    return InitramfsSource::kNone;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "'" + value + "' is not image or none");
}

Result<uint64_t> ParseFsMagic(const std::string& text) {
  std::string_view digits = text;
  if (digits.size() > 2 && digits[0] == '0' &&
      (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
  }
  uint64_t value = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  if (digits.empty() || ec != std::errc() ||
      end != digits.data() + digits.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + text + "' is not a hexadecimal magic number");
  }
  return value;
}

Result<std::string> ParseFsUuid(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (dash != (c == '-') || (!dash && !std::isxdigit(c))) {
      break;
    }
    out += static_cast<char>(std::tolower(c));
  }
  if (text.size() != 36 || out.size() != 36) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + text + "' is not a UUID (8-4-4-4-12 hex digits)");
  }
  return out;
}

namespace {

class ConfigParser {
 public:
  explicit ConfigParser(std::string root) { config_.root = std::move(root); }

  Status Line(std::string_view raw) {
    // A NUL would cut a path short where the file system sees it, and a
    // '\r' would become part of a value: refuse control characters (tabs
    // are blanks).
    for (char c : raw) {
      const auto byte = static_cast<unsigned char>(c);
      if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "control character in line");
      }
    }
    std::string line = Trim(raw);
    if (line.empty() || line.front() == '#') {
      return OkStatus();
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "expected 'key = value'");
    }
    std::string key = Trim(std::string_view(line).substr(0, eq));
    std::string value = Trim(std::string_view(line).substr(eq + 1));
    if (value.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, key + ": empty value");
    }
    static const std::set<std::string> kRepeatable = {
        "kernel-ca", "ima-cert", "evm-cert", "critical", "required-anchor"};
    if (kRepeatable.count(key) == 0 && !seen_.insert(key).second) {
      return MakeError(ErrorCode::kInvalidArgument, key + " given twice");
    }
    Status ok = Apply(key, value);
    if (!ok.ok()) {
      return MakeError(ok.error().code, key + ": " + ok.error().message);
    }
    return OkStatus();
  }

  Result<DeviceConfig> Finish() {
    if (config_.compatible.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "compatible is missing");
    }
    if (config_.kernel_cas.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "kernel-ca is missing");
    }
    if (config_.release_ca.empty() == config_.trust_root.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "give exactly one of release-ca and trust-root");
    }
    if (config_.evm_certs.empty()) {
      // One key for IMA and EVM, as meta-integrity installs it.
      config_.evm_certs = config_.ima_certs;
    }
    // A line that repeats a default pattern (as device init writes them
    // out) is that default, not an owner requirement.
    for (const std::string& pattern : config_.critical) {
      const std::vector<std::string>& defaults = DefaultCriticalFiles();
      if (std::find(defaults.begin(), defaults.end(), pattern) ==
          defaults.end()) {
        config_.owner_critical.push_back(pattern);
      }
    }
    if (critical_defaults_) {
      std::vector<std::string> all = DefaultCriticalFiles();
      all.insert(all.end(), config_.critical.begin(), config_.critical.end());
      config_.critical = std::move(all);
    }
    return std::move(config_);
  }

 private:
  Status Apply(const std::string& key, const std::string& value) {
    if (key == "compatible") {
      config_.compatible = value;
    } else if (key == "kernel-profile") {
      IMAB_ASSIGN_OR_RETURN(config_.kernel_profile, ParseKernelProfile(value));
    } else if (key == "kernel-version") {
      IMAB_ASSIGN_OR_RETURN(config_.kernel_version, ParseKernelVersion(value));
    } else if (key == "kernel-ca") {
      return AddPath(value, config_.kernel_cas);
    } else if (key == "ima-cert") {
      return AddPath(value, config_.ima_certs);
    } else if (key == "evm-cert") {
      return AddPath(value, config_.evm_certs);
    } else if (key == "ima-policy") {
      IMAB_ASSIGN_OR_RETURN(config_.ima_policy, DeviceRelativePath(value));
    } else if (key == "rootfs-magic") {
      IMAB_ASSIGN_OR_RETURN(config_.rootfs.magic, ParseFsMagic(value));
    } else if (key == "rootfs-type") {
      config_.rootfs.type = value;
    } else if (key == "rootfs-uuid") {
      IMAB_ASSIGN_OR_RETURN(config_.rootfs.uuid, ParseFsUuid(value));
    } else if (key == "ima-appraise-modsig") {
      IMAB_ASSIGN_OR_RETURN(config_.ima_appraise_modsig, ParseBool(value));
    } else if (key == "release-ca") {
      IMAB_ASSIGN_OR_RETURN(config_.release_ca, DeviceRelativePath(value));
    } else if (key == "trust-root") {
      IMAB_ASSIGN_OR_RETURN(config_.trust_root, DeviceRelativePath(value));
    } else if (key == "release-require-eku") {
      IMAB_ASSIGN_OR_RETURN(config_.release_require_eku, ParseBool(value));
    } else if (key == "critical") {
      return AddPattern(value);
    } else if (key == "init") {
      IMAB_ASSIGN_OR_RETURN(config_.init, DeviceRelativePath(value));
    } else if (key == "critical-defaults") {
      IMAB_ASSIGN_OR_RETURN(critical_defaults_, ParseBool(value));
    } else if (key == "required-anchor") {
      config_.required_anchors.push_back(value);
    } else if (key == "ca-expiry-horizon-days") {
      IMAB_ASSIGN_OR_RETURN(config_.ca_expiry_horizon_days, ParseCount(value));
    } else if (key == "layout") {
      IMAB_ASSIGN_OR_RETURN(config_.layout, ParseLayout(value));
    } else if (key == "initramfs") {
      IMAB_ASSIGN_OR_RETURN(config_.initramfs, ParseInitramfsSource(value));
    } else if (key == "slots-dir") {
      IMAB_ASSIGN_OR_RETURN(config_.slots_dir, DeviceRelativePath(value));
    } else if (key == "allow-development") {
      IMAB_ASSIGN_OR_RETURN(config_.allow_development, ParseBool(value));
    } else {
      // Fail closed: an unknown key may be a constraint we would ignore.
      return MakeError(ErrorCode::kInvalidArgument, "unknown key");
    }
    return OkStatus();
  }

  // A glob of image paths, which have no leading '/': every leading '/'
  // goes (one only would leave "//x" as "/x", a pattern no path matches and
  // that RenderDeviceConfig writes back as another pattern, "x").
  Status AddPattern(std::string_view value) {
    while (!value.empty() && value.front() == '/') {
      value.remove_prefix(1);
    }
    if (value.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "empty pattern");
    }
    // "/ x" would leave " x", which RenderDeviceConfig's "critical = " line
    // loses to trimming when read back.
    if (value.front() == ' ' || value.front() == '\t') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "pattern starts with a blank");
    }
    config_.critical.emplace_back(value);
    return OkStatus();
  }

  Status AddPath(const std::string& value, std::vector<std::string>& to) {
    IMAB_ASSIGN_OR_RETURN(std::string path, DeviceRelativePath(value));
    to.push_back(std::move(path));
    return OkStatus();
  }

  DeviceConfig config_;
  std::set<std::string> seen_;
  bool critical_defaults_ = true;
};

std::string NormalisedRoot(const std::string& root) {
  std::string out = root.empty() ? "/" : root;
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

// ROOT/path as the user would write it, for messages only (every access
// goes through DeviceRoot).
std::string ShownPath(const DeviceConfig& config, const std::string& path) {
  std::string root = NormalisedRoot(config.root);
  return root == "/" ? "/" + path : root + "/" + path;
}

}  // namespace

const std::vector<std::string>& DefaultCriticalFiles() {
  static const std::vector<std::string> kDefaults = {
      // ELF interpreters (glibc and musl, every multiarch layout).
      "lib/ld-linux*.so*", "lib64/ld-linux*.so*", "lib/*/ld-linux*.so*",
      "usr/lib/ld-linux*.so*", "usr/lib64/ld-linux*.so*",
      "usr/lib/*/ld-linux*.so*", "lib/ld-musl-*.so*", "usr/lib/ld-musl-*.so*",
      // Every libc.
      "**/libc.so.*", "**/libc-*.so", "lib/libc.so.*", "lib/libc-*.so",
      // init.
      "sbin/init", "usr/sbin/init", "lib/systemd/systemd",
      "usr/lib/systemd/systemd",
      // The verifier itself: without it no later update can fix anything.
      "usr/bin/imab-verify", "usr/sbin/imab-verify",
      "usr/local/bin/imab-verify"};
  return kDefaults;
}

Result<std::string> DevicePath(const DeviceConfig& config,
                               const std::string& path) {
  IMAB_ASSIGN_OR_RETURN(DeviceRoot root, DeviceRoot::Open(config.root));
  return root.Resolve(path);
}

Result<std::optional<std::string>> FindSlotsFolder(const DeviceConfig& config) {
  IMAB_ASSIGN_OR_RETURN(DeviceRoot device, DeviceRoot::Open(config.root));
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> found,
                        device.Find(config.slots_dir, true));
  if (found.has_value()) {
    return found;
  }
  // Found by following the symlinks out of ROOT but not inside it: taking
  // that for "no slots" would judge updates without the device's floors.
  std::error_code ec;
  if (std::filesystem::exists(device.Display(config.slots_dir), ec)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     device.Display(config.slots_dir) +
                         ": a symlink leads out of the root (paths under "
                         "the root resolve inside it)");
  }
  return std::optional<std::string>();
}

Result<std::string> SlotsFolder(const DeviceConfig& config) {
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> found,
                        FindSlotsFolder(config));
  if (!found.has_value()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "slots not initialised: " + ShownPath(config, config.slots_dir) +
            " does not exist (run imab-verify device init)");
  }
  return std::move(*found);
}

namespace {

// Reads and parses ROOT/etc/imabundle/device.conf, resolved beneath ROOT.
Result<DeviceConfig> LoadDeviceConfigFrom(const DeviceRoot& device) {
  const std::string path = device.Display(kDeviceConfigPath);
  // Resolved beneath ROOT: a symlinked ROOT/etc/imabundle cannot make the
  // device read a configuration from outside it.
  Result<std::optional<std::string>> real = device.Find(kDeviceConfigPath);
  std::optional<std::string> text;
  if (real.has_value() && real->has_value()) {
    IMAB_ASSIGN_OR_RETURN(text, ReadSmallFile(**real, kMaxConfigBytes));
  }
  if (!text.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "device not initialised: cannot read " +
                         (real.has_value() ? path : real.error().message) +
                         " (run imab-verify device init)");
  }
  return ParseDeviceConfigText(*text, NormalisedRoot(device.Display("")), path);
}

// The rootfs-magic/-type/-uuid lines, each only when set.
void RenderRootfs(const RootFileSystem& rootfs, std::ostream& out) {
  if (rootfs.magic.has_value()) {
    out << "rootfs-magic = 0x" << std::hex << *rootfs.magic << std::dec << "\n";
  }
  if (!rootfs.type.empty()) {
    out << "rootfs-type = " << rootfs.type << "\n";
  }
  if (!rootfs.uuid.empty()) {
    out << "rootfs-uuid = " << rootfs.uuid << "\n";
  }
}

}  // namespace

Result<DeviceConfig> ParseDeviceConfigText(std::string_view text,
                                           const std::string& root,
                                           const std::string& where) {
  ConfigParser parser(root);
  std::istringstream lines{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    Status ok = parser.Line(line);
    if (!ok.ok()) {
      return MakeError(ok.error().code, where + ":" + std::to_string(number) +
                                            ": " + ok.error().message);
    }
  }
  Result<DeviceConfig> config = parser.Finish();
  if (!config.has_value()) {
    return MakeError(config.error().code,
                     where + ": " + config.error().message);
  }
  return config;
}

Result<DeviceConfig> LoadDeviceConfig(const std::string& root) {
  const std::string normalised = NormalisedRoot(root);
  Result<DeviceRoot> device = DeviceRoot::Open(normalised);
  if (!device.has_value()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "device not initialised: " + device.error().message +
                         " (run imab-verify device init)");
  }
  return LoadDeviceConfigFrom(*device);
}

std::string RenderDeviceConfig(const DeviceConfig& config) {
  std::ostringstream out;
  out << "# imabundle device configuration (manifests/device.conf.md)\n";
  out << "compatible = " << config.compatible << "\n";
  out << "kernel-profile = " << KernelProfileName(config.kernel_profile)
      << "\n";
  out << "kernel-version = " << config.kernel_version.major << "."
      << config.kernel_version.minor << "\n";
  for (const std::string& p : config.kernel_cas) {
    out << "kernel-ca = /" << p << "\n";
  }
  for (const std::string& p : config.ima_certs) {
    out << "ima-cert = /" << p << "\n";
  }
  if (config.evm_certs != config.ima_certs) {
    for (const std::string& p : config.evm_certs) {
      out << "evm-cert = /" << p << "\n";
    }
  }
  if (!config.ima_policy.empty()) {
    out << "ima-policy = /" << config.ima_policy << "\n";
  }
  RenderRootfs(config.rootfs, out);
  if (config.ima_appraise_modsig) {
    out << "ima-appraise-modsig = yes\n";
  }
  if (!config.release_ca.empty()) {
    out << "release-ca = /" << config.release_ca << "\n";
  }
  if (!config.trust_root.empty()) {
    out << "trust-root = /" << config.trust_root << "\n";
  }
  if (!config.init.empty()) {
    out << "init = /" << config.init << "\n";
  }
  if (config.release_require_eku) {
    out << "release-require-eku = yes\n";
  }
  // The defaults are written out, so the file says exactly what is checked.
  out << "critical-defaults = no\n";
  for (const std::string& p : config.critical) {
    out << "critical = " << p << "\n";
  }
  for (const std::string& a : config.required_anchors) {
    out << "required-anchor = " << a << "\n";
  }
  out << "ca-expiry-horizon-days = " << config.ca_expiry_horizon_days << "\n";
  out << "layout = " << (config.layout == SlotLayout::kAb ? "ab" : "in-place")
      << "\n";
  out << "initramfs = "
      << (config.initramfs == InitramfsSource::kNone ? "none" : "image")
      << "\n";
  out << "slots-dir = /" << config.slots_dir << "\n";
  out << "allow-development = " << (config.allow_development ? "yes" : "no")
      << "\n";
  return out.str();
}

}  // namespace imab::verifier
