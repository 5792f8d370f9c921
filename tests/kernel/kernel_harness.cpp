#include "tests/kernel/kernel_harness.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "tests/testutil/run.h"
#include "tests/testutil/temp_dir.h"

namespace imab::testing {
namespace {

std::string KernelDir() { return SourceDir() + "/tests/kernel"; }

// The value of `key=` in a probe or audit line: up to the next space, or,
// for the last field (path=, out=), to the end; quotes removed.
std::string Field(const std::string& line, const std::string& key,
                  bool to_end = false) {
  size_t at = line.find(" " + key + "=");
  if (at == std::string::npos) {
    return "";
  }
  at += key.size() + 2;
  size_t end = to_end ? line.size() : line.find(' ', at);
  std::string value =
      line.substr(at, end == std::string::npos ? end : end - at);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return value;
}

int IntField(const std::string& line, const std::string& key) {
  std::string value = Field(line, key);
  return value.empty() ? 0 : std::atoi(value.c_str());
}

// Probe lines: "IMAB-PROBE mmap step=.. errno=.. path=.." and
// "IMAB-PROBE exec errno=.. status=.. signal=.. timeout=.. path=.. out=..".
std::optional<Probe> ParseProbe(const std::string& line) {
  Probe probe;
  if (line.rfind("IMAB-PROBE mmap ", 0) == 0) {
    probe.kind = Probe::Kind::kMmap;
    probe.step = Field(line, "step");
    probe.path = Field(line, "path", true);
  } else if (line.rfind("IMAB-PROBE exec ", 0) == 0) {
    probe.kind = Probe::Kind::kExec;
    probe.status = IntField(line, "status");
    probe.signal = IntField(line, "signal");
    probe.timed_out = IntField(line, "timeout") != 0;
    size_t path_at = line.find(" path=");
    size_t out_at = line.find(" out=");
    if (path_at == std::string::npos || out_at == std::string::npos) {
      return std::nullopt;
    }
    probe.path = line.substr(path_at + 6, out_at - path_at - 6);
    probe.output = line.substr(out_at + 5);
  } else {
    return std::nullopt;
  }
  probe.error = IntField(line, "errno");
  return probe;
}

// "audit: type=1800 ... op=appraise_data cause=X comm=".." name="/mnt/x"".
std::optional<AuditRecord> ParseAudit(const std::string& line) {
  if (line.find("type=1800 ") == std::string::npos) {
    return std::nullopt;
  }
  AuditRecord record{Field(line, "op"), Field(line, "cause"),
                     Field(line, "name")};
  const std::string mount = "/mnt/";
  if (record.path.rfind(mount, 0) == 0) {
    record.path = record.path.substr(mount.size() - 1);
  }
  return record;
}

void ParseLine(const std::string& line, BootResult& result) {
  if (std::optional<Probe> probe = ParseProbe(line)) {
    result.probes.push_back(std::move(*probe));
  } else if (std::optional<AuditRecord> audit = ParseAudit(line)) {
    result.audits.push_back(std::move(*audit));
  } else if (line.find("Loaded X.509 cert '") != std::string::npos) {
    result.loaded_certs.push_back(line.substr(line.find("Loaded X.509")));
  } else if (line.find("Problem loading X.509 certificate") !=
             std::string::npos) {
    ++result.refused_certs;
  } else if (line == "IMAB-GUEST policy-loaded") {
    result.policy_loaded = true;
  } else if (line == "IMAB-GUEST policy-refused") {
    result.policy_refused = true;
  }
}

}  // namespace

std::string KernelHarnessUnavailable() {
  const char* skip = std::getenv("IMAB_SKIP_KERNEL");
  if (skip != nullptr && std::string(skip) == "1") {
    return "IMAB_SKIP_KERNEL=1";
  }
  for (const char* tool : {"qemu-system-x86_64", "mkfs.ext4", "cpio", "gcc",
                           "busybox", "make", "bc", "flex", "bison"}) {
    if (!HaveTool(tool)) {
      return std::string(tool) + " not installed (./scripts/test installs it)";
    }
  }
  for (const char* version : {"6.1", "6.12"}) {
    std::string tarball =
        std::string("/usr/src/linux-source-") + version + ".tar.xz";
    if (!std::filesystem::exists(tarball)) {
      return tarball + " missing (./scripts/test installs it)";
    }
  }
  return "";
}

std::string TestKernelCaPem(const std::string& name) {
  return KernelDir() + "/ca/ca-" + name + ".pem";
}
std::string TestKernelCaKey(const std::string& name) {
  return KernelDir() + "/ca/ca-" + name + ".key";
}

std::string TestKernelImage(const std::string& version,
                            const std::string& ca_pem, std::string* error) {
  CommandResult build =
      RunShell(ShellQuote(KernelDir() + "/build-kernel.sh") + " " +
               ShellQuote(version) + " " + ShellQuote(ca_pem));
  std::string image = build.out.substr(0, build.out.find('\n'));
  if (build.exit_code != 0 || image.empty()) {
    *error = "build-kernel.sh " + version + " failed: " + build.err;
    return "";
  }
  return image;
}

bool Probe::Passed() const {
  if (kind == Kind::kMmap) {
    return step == "ok";
  }
  if (timed_out) {
    return error == 0;
  }
  return error == 0 && signal == 0 &&
         output.find("error while loading shared libraries") ==
             std::string::npos;
}

std::string Probe::Describe() const {
  std::ostringstream out;
  if (kind == Kind::kMmap) {
    out << "mmap " << path << ": " << step << " errno " << error;
  } else {
    out << "exec " << path << ": errno " << error << " status " << status
        << " signal " << signal << (timed_out ? " (timeout)" : "") << " \""
        << output << "\"";
  }
  if (!cause.empty()) {
    out << " [audit " << cause << "]";
  }
  return out.str();
}

BootResult ParseConsole(const std::string& console) {
  BootResult result;
  result.console = console;
  std::istringstream in(console);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    ParseLine(line, result);
  }
  for (Probe& probe : result.probes) {
    for (const AuditRecord& audit : result.audits) {
      if (audit.path == probe.path && probe.cause.empty()) {
        probe.cause = audit.cause;
      }
    }
  }
  return result;
}

bool BootResult::AllPassed() const {
  if (probes.empty()) {
    return false;
  }
  for (const Probe& probe : probes) {
    if (!probe.Passed()) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> BootResult::FailedPaths() const {
  std::vector<std::string> paths;
  for (const Probe& probe : probes) {
    if (!probe.Passed()) {
      paths.push_back(probe.path);
    }
  }
  for (const AuditRecord& audit : audits) {
    paths.push_back(audit.path);
  }
  return paths;
}

std::string BootResult::Summary() const {
  std::string out;
  for (const Probe& probe : probes) {
    if (!probe.Passed()) {
      out += "  " + probe.Describe() + "\n";
    }
  }
  out += "  certificates loaded: " + std::to_string(loaded_certs.size()) +
         ", refused: " + std::to_string(refused_certs) + "\n";
  return out;
}

std::optional<BootResult> BootImage(const BootRequest& request,
                                    std::string* error) {
  std::filesystem::create_directories(request.work);
  std::string command = ShellQuote(KernelDir() + "/boot-image.sh") +
                        " --kernel " + ShellQuote(request.kernel) + " --tree " +
                        ShellQuote(request.tree) + " --work " +
                        ShellQuote(request.work);
  std::string exec_list;
  for (const std::string& line : request.exec) {
    exec_list += line + "\n";
  }
  WriteFile(request.work + "/exec.list", exec_list);
  command += " --exec " + ShellQuote(request.work + "/exec.list");
  if (request.policy.has_value()) {
    WriteFile(request.work + "/policy", *request.policy);
    command += " --policy " + ShellQuote(request.work + "/policy");
  }
  for (const std::string& path : request.initramfs) {
    command += " --initramfs " + ShellQuote(path);
  }
  CommandResult boot = RunShell(command);
  if (boot.exit_code != 0) {
    *error = "boot-image.sh failed: " + boot.err;
    return std::nullopt;
  }
  return ParseConsole(ReadFile(request.work + "/console.log"));
}

}  // namespace imab::testing
