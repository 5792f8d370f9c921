// Reading and writing ROOT/etc/imabundle/device.conf
// (manifests/device.conf.md).
#include "verifier/device/device_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <set>
#include <sstream>

#include "common/read/path_parts.h"
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

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// The value of the choice `value` names; "'VALUE' is not WHAT" otherwise.
template <class T>
Result<T> Choose(const std::string& value,
                 std::initializer_list<std::pair<std::string_view, T>> choices,
                 const std::string& what) {
  for (const auto& [name, result] : choices) {
    if (value == name) {
      return result;
    }
  }
  return Invalid("'" + value + "' is not " + what);
}

// A path the configuration names, stored relative to ROOT. A leading '/'
// means the device's "/", which is ROOT. No ".." so nothing escapes ROOT.
Result<std::string> DeviceRelativePath(std::string_view value) {
  std::string path = WithoutLeadingSlashes(value);
  if (path.empty()) {
    return Invalid("empty path");
  }
  for (const std::string& part : SplitOn(path, '/')) {
    if (part == "..") {
      return Invalid("path " + path + " leaves the root");
    }
  }
  return path;
}

Result<bool> ParseBool(const std::string& value) {
  return Choose<bool>(value,
                      {{"yes", true},
                       {"true", true},
                       {"1", true},
                       {"no", false},
                       {"false", false},
                       {"0", false}},
                      "yes or no");
}

Result<uint32_t> ParseCount(const std::string& value) {
  uint32_t out = 0;
  auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size() ||
      value.empty()) {
    return Invalid("'" + value + "' is not a number");
  }
  return out;
}

// A partition as device.conf names it: an absolute device path, or
// PARTUUID=/PARTLABEL= with a value (host names, outside ROOT).
Result<std::string> ParseSlotDevice(const std::string& value) {
  for (std::string_view tag : {"PARTUUID=", "PARTLABEL="}) {
    if (value.starts_with(tag)) {
      if (value.size() == tag.size()) {
        return Invalid("'" + value + "' names no partition");
      }
      return value;
    }
  }
  if (value.front() != '/') {
    return Invalid("'" + value +
                   "' is not a device path, PARTUUID=... or PARTLABEL=...");
  }
  return value;
}

Result<BootloaderKind> ParseBootloader(const std::string& value) {
  return Choose<BootloaderKind>(value,
                                {{"none", BootloaderKind::kNone},
                                 {"grub", BootloaderKind::kGrub},
                                 {"uboot", BootloaderKind::kUboot},
                                 {"custom", BootloaderKind::kCustom}},
                                "grub, uboot, custom or none");
}

std::vector<std::string> SplitOnBlanks(std::string_view text) {
  std::vector<std::string> words;
  std::istringstream in{std::string(text)};
  for (std::string word; in >> word;) {
    words.push_back(word);
  }
  return words;
}

}  // namespace

const char* BootloaderName(BootloaderKind kind) {
  switch (kind) {
    case BootloaderKind::kGrub:
      return "grub";
    case BootloaderKind::kUboot:
      return "uboot";
    case BootloaderKind::kCustom:
      return "custom";
    case BootloaderKind::kNone:
      break;
  }
  return "none";
}

Result<InitramfsSource> ParseInitramfsSource(const std::string& value) {
  return Choose<InitramfsSource>(
      value,
      {{"image", InitramfsSource::kImage}, {"none", InitramfsSource::kNone}},
      "image or none");
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
    return Invalid("'" + text + "' is not a hexadecimal magic number");
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
    return Invalid("'" + text + "' is not a UUID (8-4-4-4-12 hex digits)");
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
        return Invalid("control character in line");
      }
    }
    std::string line = Trim(raw);
    if (line.empty() || line.front() == '#') {
      return OkStatus();
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return Invalid("expected 'key = value'");
    }
    std::string key = Trim(std::string_view(line).substr(0, eq));
    std::string value = Trim(std::string_view(line).substr(eq + 1));
    if (value.empty()) {
      return Invalid(key + ": empty value");
    }
    static const std::set<std::string> kRepeatable = {
        "kernel-ca", "ima-cert", "evm-cert", "critical", "required-anchor"};
    if (kRepeatable.count(key) == 0 && !seen_.insert(key).second) {
      return Invalid(key + " given twice");
    }
    Status ok = Apply(key, value);
    if (!ok.ok()) {
      return WithContext(std::move(ok).error(), key);
    }
    return OkStatus();
  }

  Result<DeviceConfig> Finish() {
    if (config_.compatible.empty()) {
      return Invalid("compatible is missing");
    }
    if (config_.kernel_cas.empty()) {
      return Invalid("kernel-ca is missing");
    }
    if (config_.release_ca.empty() == config_.trust_root.empty()) {
      return Invalid("give exactly one of release-ca and trust-root");
    }
    IMAB_RETURN_IF_ERROR(CheckBootSetup());
    if (config_.evm_certs.empty()) {
      // One key for IMA and EVM, as meta-integrity installs it.
      config_.evm_certs = config_.ima_certs;
    }
    // A line that repeats a default pattern (as device init writes them
    // out) is that default, not an owner requirement.
    const std::vector<std::string>& defaults = DefaultCriticalFiles();
    for (const std::string& pattern : config_.critical) {
      if (std::ranges::find(defaults, pattern) == defaults.end()) {
        config_.owner_critical.push_back(pattern);
      }
    }
    if (critical_defaults_) {
      config_.critical.insert(config_.critical.begin(), defaults.begin(),
                              defaults.end());
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
      IMAB_ASSIGN_OR_RETURN(
          config_.layout,
          Choose<SlotLayout>(
              value,
              {{"ab", SlotLayout::kAb}, {"in-place", SlotLayout::kInPlace}},
              "ab or in-place"));
    } else if (key == "initramfs") {
      IMAB_ASSIGN_OR_RETURN(config_.initramfs, ParseInitramfsSource(value));
    } else if (key == "slots-dir") {
      IMAB_ASSIGN_OR_RETURN(config_.slots_dir, DeviceRelativePath(value));
    } else if (key == "allow-development") {
      IMAB_ASSIGN_OR_RETURN(config_.allow_development, ParseBool(value));
    } else {
      return ApplyBootKey(key, value);
    }
    return OkStatus();
  }

  // The keys of "Slots" and "Bootloader" (BootSetup).
  Status ApplyBootKey(const std::string& key, const std::string& value) {
    BootSetup& boot = config_.boot;
    if (key == "slots") {
      IMAB_ASSIGN_OR_RETURN(
          boot.slots, Choose<SlotKind>(value,
                                       {{"directory", SlotKind::kDirectory},
                                        {"block", SlotKind::kBlock}},
                                       "directory or block"));
    } else if (key == "slot-a" || key == "slot-b") {
      std::string& slot = key == "slot-a" ? boot.slot_a : boot.slot_b;
      IMAB_ASSIGN_OR_RETURN(slot, ParseSlotDevice(value));
    } else if (key == "mkfs-options") {
      boot.mkfs_options = SplitOnBlanks(value);
    } else if (key == "state-dir") {
      IMAB_ASSIGN_OR_RETURN(boot.state_dir, DeviceRelativePath(value));
    } else if (key == "bootloader") {
      IMAB_ASSIGN_OR_RETURN(boot.bootloader, ParseBootloader(value));
    } else if (key == "grubenv") {
      IMAB_ASSIGN_OR_RETURN(boot.grubenv, DeviceRelativePath(value));
    } else if (key == "fw-env-config") {
      IMAB_ASSIGN_OR_RETURN(boot.fw_env_config, DeviceRelativePath(value));
    } else if (key == "boot-attempts") {
      IMAB_ASSIGN_OR_RETURN(boot.boot_attempts, ParseCount(value));
    } else if (key == "bootloader-script") {
      IMAB_ASSIGN_OR_RETURN(boot.bootloader_script, DeviceRelativePath(value));
    } else if (key == "hook-pre-install") {
      IMAB_ASSIGN_OR_RETURN(boot.hook_pre_install, DeviceRelativePath(value));
    } else if (key == "hook-post-install") {
      IMAB_ASSIGN_OR_RETURN(boot.hook_post_install, DeviceRelativePath(value));
    } else if (key == "hook-on-fallback") {
      IMAB_ASSIGN_OR_RETURN(boot.hook_on_fallback, DeviceRelativePath(value));
    } else {
      // Fail closed: an unknown key may be a constraint we would ignore.
      return Invalid("unknown key");
    }
    return OkStatus();
  }

  // The keys that only apply to some slot kinds and bootloaders, and the
  // ones a choice needs.
  Status CheckBootSetup() const {
    const BootSetup& boot = config_.boot;
    const bool block = boot.slots == SlotKind::kBlock;
    for (const char* key : {"slot-a", "slot-b", "mkfs-options", "state-dir"}) {
      if (!block && seen_.count(key) != 0) {
        return Invalid(std::string(key) + " applies to slots = block");
      }
    }
    if (block) {
      IMAB_RETURN_IF_ERROR(CheckBlockSlots());
    }
    const BootloaderKind kind = boot.bootloader;
    struct Needs {
      const char* key;
      BootloaderKind bootloader;
    };
    for (const Needs& needs :
         {Needs{"grubenv", BootloaderKind::kGrub},
          Needs{"fw-env-config", BootloaderKind::kUboot},
          Needs{"boot-attempts", BootloaderKind::kUboot},
          Needs{"bootloader-script", BootloaderKind::kCustom}}) {
      const bool given = seen_.count(needs.key) != 0;
      const std::string which = BootloaderName(needs.bootloader);
      if (given && kind != needs.bootloader) {
        return Invalid(std::string(needs.key) +
                       " applies to bootloader = " + which);
      }
      if (!given && kind == needs.bootloader &&
          std::string_view(needs.key) != "boot-attempts") {
        return Invalid("bootloader = " + which + " needs " + needs.key);
      }
    }
    if (boot.boot_attempts == 0 || boot.boot_attempts > 1000) {
      return Invalid("boot-attempts: " + std::to_string(boot.boot_attempts) +
                     " is not between 1 and 1000");
    }
    return OkStatus();
  }

  Status CheckBlockSlots() const {
    const BootSetup& boot = config_.boot;
    if (boot.slot_a.empty() || boot.slot_b.empty()) {
      return Invalid("slots = block needs slot-a and slot-b");
    }
    if (boot.slot_a == boot.slot_b) {
      return Invalid("slot-a and slot-b name the same partition (" +
                     boot.slot_a + ")");
    }
    if (boot.bootloader == BootloaderKind::kNone) {
      return Invalid(
          "slots = block needs a bootloader (grub, uboot or custom): "
          "nothing would start the slot an install writes");
    }
    if (config_.layout == SlotLayout::kInPlace) {
      return Invalid("slots = block is for layout = ab");
    }
    if (seen_.count("slots-dir") != 0) {
      return Invalid(
          "slots-dir applies to slots = directory (block slots keep their "
          "state in state-dir)");
    }
    return OkStatus();
  }

  // A glob of image paths, which have no leading '/': every leading '/'
  // goes (one only would leave "//x" as "/x", a pattern no path matches and
  // that RenderDeviceConfig writes back as another pattern, "x").
  Status AddPattern(std::string_view value) {
    std::string pattern = WithoutLeadingSlashes(value);
    if (pattern.empty()) {
      return Invalid("empty pattern");
    }
    // "/ x" would leave " x", which RenderDeviceConfig's "critical = " line
    // loses to trimming when read back.
    if (pattern.front() == ' ' || pattern.front() == '\t') {
      return Invalid("pattern starts with a blank");
    }
    config_.critical.push_back(std::move(pattern));
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
    return Invalid(device.Display(config.slots_dir) +
                   ": a symlink leads out of the root (paths under the root "
                   "resolve inside it)");
  }
  return std::optional<std::string>();
}

Result<std::string> SlotsFolder(const DeviceConfig& config) {
  IMAB_ASSIGN_OR_RETURN(std::optional<std::string> found,
                        FindSlotsFolder(config));
  if (!found.has_value()) {
    // ROOT/slots-dir as the user would write it (config.root may end in '/').
    const std::string root = NormalisedRoot(config.root);
    return Invalid("slots not initialised: " + (root == "/" ? "" : root) + "/" +
                   config.slots_dir +
                   " does not exist (run imab-verify device init)");
  }
  return std::move(*found);
}

Result<DeviceConfig> ParseDeviceConfigText(std::string_view text,
                                           const std::string& root,
                                           const std::string& where) {
  ConfigParser parser(root);
  std::istringstream lines{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    Status ok = parser.Line(line);
    if (!ok.ok()) {
      return WithContext(std::move(ok).error(),
                         where + ":" + std::to_string(number));
    }
  }
  Result<DeviceConfig> config = parser.Finish();
  if (!config.has_value()) {
    return WithContext(std::move(config).error(), where);
  }
  return config;
}

Result<DeviceConfig> LoadDeviceConfig(const std::string& root) {
  Result<DeviceRoot> device = DeviceRoot::Open(NormalisedRoot(root));
  if (!device.has_value()) {
    return Invalid("device not initialised: " + device.error().message +
                   " (run imab-verify device init)");
  }
  const std::string path = device->Display(kDeviceConfigPath);
  // Resolved beneath ROOT: a symlinked ROOT/etc/imabundle cannot make the
  // device read a configuration from outside it.
  Result<std::optional<std::string>> real = device->Find(kDeviceConfigPath);
  std::optional<std::string> text;
  if (real.has_value() && real->has_value()) {
    IMAB_ASSIGN_OR_RETURN(text, ReadSmallFile(**real, kMaxConfigBytes));
  }
  if (!text.has_value()) {
    return Invalid("device not initialised: cannot read " +
                   (real.has_value() ? path : real.error().message) +
                   " (run imab-verify device init)");
  }
  return ParseDeviceConfigText(*text, device->Display(""), path);
}

namespace {

// The keys of BootSetup that differ from the defaults, so that a
// configuration without them renders as before.
std::string RenderBootSetup(const BootSetup& boot) {
  std::string out;
  auto line_if = [&out](std::string_view key, const std::string& value) {
    if (!value.empty()) {
      out.append(key).append(" = ").append(value).append("\n");
    }
  };
  auto path_if = [&line_if](std::string_view key, const std::string& path) {
    line_if(key, path.empty() ? "" : "/" + path);
  };
  if (boot.slots == SlotKind::kBlock) {
    line_if("slots", "block");
    line_if("slot-a", boot.slot_a);
    line_if("slot-b", boot.slot_b);
    std::string options;
    for (const std::string& word : boot.mkfs_options) {
      options += (options.empty() ? "" : " ") + word;
    }
    line_if("mkfs-options", options);
    path_if("state-dir", boot.state_dir);
  }
  if (boot.bootloader != BootloaderKind::kNone) {
    line_if("bootloader", BootloaderName(boot.bootloader));
  }
  path_if("grubenv", boot.grubenv);
  path_if("fw-env-config", boot.fw_env_config);
  if (boot.bootloader == BootloaderKind::kUboot) {
    line_if("boot-attempts", std::to_string(boot.boot_attempts));
  }
  path_if("bootloader-script", boot.bootloader_script);
  path_if("hook-pre-install", boot.hook_pre_install);
  path_if("hook-post-install", boot.hook_post_install);
  path_if("hook-on-fallback", boot.hook_on_fallback);
  return out;
}

}  // namespace

std::string RenderDeviceConfig(const DeviceConfig& config) {
  std::string out =
      "# imabundle device configuration (manifests/device.conf.md)\n";
  auto line = [&out](std::string_view key, const std::string& value) {
    out.append(key).append(" = ").append(value).append("\n");
  };
  // Optional settings are written only when set, paths with a leading '/'.
  auto line_if = [&line](std::string_view key, bool set,
                         const std::string& value) {
    if (set) {
      line(key, value);
    }
  };
  auto paths = [&line](std::string_view key,
                       const std::vector<std::string>& list) {
    for (const std::string& path : list) {
      line(key, "/" + path);
    }
  };
  line("compatible", config.compatible);
  line("kernel-profile", KernelProfileName(config.kernel_profile));
  line("kernel-version", KernelVersionName(config.kernel_version));
  paths("kernel-ca", config.kernel_cas);
  paths("ima-cert", config.ima_certs);
  paths("evm-cert", config.evm_certs != config.ima_certs
                        ? config.evm_certs
                        : std::vector<std::string>());
  line_if("ima-policy", !config.ima_policy.empty(), "/" + config.ima_policy);
  const RootFileSystem& rootfs = config.rootfs;
  std::ostringstream magic;
  magic << "0x" << std::hex << rootfs.magic.value_or(0);
  line_if("rootfs-magic", rootfs.magic.has_value(), magic.str());
  line_if("rootfs-type", !rootfs.type.empty(), rootfs.type);
  line_if("rootfs-uuid", !rootfs.uuid.empty(), rootfs.uuid);
  line_if("ima-appraise-modsig", config.ima_appraise_modsig, "yes");
  line_if("release-ca", !config.release_ca.empty(), "/" + config.release_ca);
  line_if("trust-root", !config.trust_root.empty(), "/" + config.trust_root);
  line_if("init", !config.init.empty(), "/" + config.init);
  line_if("release-require-eku", config.release_require_eku, "yes");
  // The defaults are written out, so the file says exactly what is checked.
  line("critical-defaults", "no");
  for (const std::string& pattern : config.critical) {
    line("critical", pattern);
  }
  for (const std::string& anchor : config.required_anchors) {
    line("required-anchor", anchor);
  }
  line("ca-expiry-horizon-days", std::to_string(config.ca_expiry_horizon_days));
  line("layout", config.layout == SlotLayout::kAb ? "ab" : "in-place");
  line("initramfs",
       config.initramfs == InitramfsSource::kNone ? "none" : "image");
  if (config.boot.slots == SlotKind::kDirectory) {
    line("slots-dir", "/" + config.slots_dir);
  }
  line("allow-development", config.allow_development ? "yes" : "no");
  return out + RenderBootSetup(config.boot);
}

}  // namespace imab::verifier
