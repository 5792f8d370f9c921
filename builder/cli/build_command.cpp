#include "builder/cli/build_command.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <thread>

#include "builder/cli/command_support.h"
#include "common/read/reporter.h"

namespace imab::builder::cli {
namespace {

class StderrReporter : public Reporter {
 public:
  void Info(std::string_view message) override {
    std::cerr << "imab-build: " << message << "\n";
  }
  void Warn(std::string_view message) override {
    std::cerr << "imab-build: warning: " << message << "\n";
  }
};

// SOURCE_DATE_EPOCH (reproducible-builds.org) pins the creation time.
bool CreationTime(uint64_t* out) {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (epoch == nullptr || *epoch == '\0') {
    *out = static_cast<uint64_t>(std::time(nullptr));
    return true;
  }
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(epoch, &end, 10);
  if (errno != 0 || *end != '\0' || epoch[0] == '-') {
    return false;
  }
  *out = value;
  return true;
}

// The "signed N files" line: how many files got this build's keyids and
// which keyids (or none) they carried before.
void PrintSignedFiles(const BuildSummary& summary) {
  std::string keyids;
  for (const std::string& keyid : summary.new_keyids) {
    keyids += (keyids.empty() ? "" : "/") + keyid;
  }
  std::cout << "signed " << summary.signed_files << " files";
  if (summary.excluded_files > 0) {
    std::cout << " (" << summary.excluded_files << " excluded)";
  }
  const char* separator = ": ";
  for (const auto& [old_keyid, count] : summary.replaced_keyids) {
    std::cout << separator << count << " files: "
              << (old_keyid == "none" ? "unsigned" : "keyid " + old_keyid)
              << " -> keyid " << keyids;
    separator = ", ";
  }
  std::cout << "\n";
}

void PrintSummary(const BuildSummary& summary, const std::string& output) {
  std::cout << "built " << output << ": " << summary.entries << " entries ("
            << summary.files << " files, " << summary.content_bytes
            << " bytes), payload " << summary.payload_bytes << " bytes, bundle "
            << summary.bundle_bytes << " bytes\n";
  for (const std::string& path : summary.initramfs) {
    std::cout << "initramfs " << path
              << ": etc/keys/x509_evm.der set to the signing certificate\n";
  }
  for (const std::string& kernel : summary.kernels) {
    std::cout << "kernel " << kernel << ": carries every --kernel-ca\n";
  }
  if (!summary.ca_store.empty()) {
    std::cout << summary.ca_store << "\n";
  }
  if (summary.development) {
    std::cout << "development bundle: built with published development "
                 "keys; devices refuse it unless configured to accept it\n";
  }
  if (!summary.new_keyids.empty()) {
    PrintSignedFiles(summary);
  }
}

}  // namespace

BuildCommand::BuildCommand(CLI::App& app) {
  options_.workers = static_cast<int>(std::thread::hardware_concurrency());
  options_.signing_threads = options_.workers;
  command_ = app.add_subcommand("build", "Build a bundle from a rootfs");
  AddBundleOptions();
  AddImaOptions();
  AddBootChainOptions();
  AddReleaseOptions();
  AddCaStoreOptions();
}

bool BuildCommand::parsed() const { return command_->parsed(); }

int BuildCommand::Run() {
  // An image signed elsewhere had its store built there too: files this
  // build generated would carry no kept signatures.
  options_.ca.keep = ca_store_mode_ == "keep" ||
                     (ca_store_mode_.empty() && options_.keep_signatures &&
                      options_.ca.add.empty() && options_.ca.remove.empty() &&
                      options_.ca.conf.empty());
  if (options_.pkcs11_module.empty()) {
    options_.pkcs11_module = DefaultPkcs11Module();
  }
  if (!CreationTime(&options_.created)) {
    std::cerr << "imab-build: error: SOURCE_DATE_EPOCH is not a number\n";
    return 2;
  }
  StderrReporter reporter;
  Result<BuildSummary> summary = BuildBundle(options_, reporter);
  if (!summary.has_value()) {
    return PrintError(summary.error());
  }
  PrintSummary(*summary, options_.output);
  return 0;
}

void BuildCommand::AddBundleOptions() {
  command_->add_option("--rootfs", options_.rootfs, "Rootfs folder or tarball")
      ->required();
  command_
      ->add_option("--version", options_.image_version,
                   "Image version (dotted integers)")
      ->required();
  command_->add_option("--compatible", options_.compatible, "Device class name")
      ->required();
  command_
      ->add_option("--signing-key", options_.signing_key,
                   "Release signing key: PEM file or pkcs11: URI")
      ->required();
  command_->add_option("--pkcs11-module", options_.pkcs11_module,
                       "PKCS#11 module for pkcs11: keys (default: "
                       "$IMAB_PKCS11_MODULE or SoftHSM2's)");
  command_
      ->add_option("--signing-cert", options_.signing_cert,
                   "Release signing certificate (PEM or DER)")
      ->required();
  command_->add_option("--chain", options_.chain,
                       "Intermediate certificates (PEM)");
  command_->add_option("--output,-o", options_.output, "Bundle file to write")
      ->required();
  command_->add_option("--zstd-level", options_.zstd_level, "zstd level (1-19)")
      ->capture_default_str();
  command_
      ->add_option("--threads", options_.workers,
                   "zstd worker threads (0 = compress inline)")
      ->capture_default_str();
}

void BuildCommand::AddImaOptions() {
  command_->add_option("--ima-key", options_.ima_key,
                       "Private key (PEM) that re-signs security.ima and "
                       "security.evm of every regular file");
  command_->add_option("--ima-cert", options_.ima_certs,
                       "Certificate of --ima-key; with --keep-signatures, each "
                       "certificate the kept signatures may verify under "
                       "(repeatable)");
  command_->add_option("--evm-key", options_.evm_key,
                       "Separate private key for security.evm");
  command_->add_option("--evm-cert", options_.evm_cert,
                       "Certificate of --evm-key");
  command_->add_option("--hash", options_.hash, "sha256, sha384 or sha512")
      ->capture_default_str();
  command_
      ->add_option("--kernel-profile", options_.kernel_profile,
                   "Device kernel: le64 (default), le32, be64, be32, "
                   "optionally :xattr,list for kernels before 5.14")
      ->capture_default_str();
  command_->add_option(
      "--ima-exclude", options_.ima_exclude,
      "Leave files matching this glob unsigned (path inside the "
      "image, * within a folder, ** across folders; repeatable)");
  command_->add_flag("--keep-signatures", options_.keep_signatures,
                     "Keep the input's IMA/EVM signatures (checked against "
                     "--ima-cert)");
  command_->add_flag(
      "--allow-unverified", options_.allow_unverified,
      "With --keep-signatures: build even if some do not verify");
}

void BuildCommand::AddBootChainOptions() {
  command_->add_option(
      "--initramfs", options_.initramfs,
      "Initramfs in the image (path inside it) that gets the "
      "signing certificate at etc/keys/x509_evm.der; default: "
      "every initrd*/initramfs* at the top level or under boot/; "
      "another one stops the build (repeatable)");
  command_->add_option(
      "--kernel-ca", options_.kernel_cas,
      "CA certificate(s) built into the image's kernel (PEM); "
      "signing certificates it would refuse, and a kernel of the "
      "image not carrying it, stop the build (repeatable)");
  command_->add_option(
      "--kernel-version", options_.kernel_version,
      "MAJOR.MINOR of the device kernel: its rules for loading "
      "IMA/EVM certificates hold (default: the strictest, every "
      "studied kernel's)");
}

// What the release declares (carried trust root, key generation, expiry,
// development keys); --signing-threads follows, where --help lists it.
void BuildCommand::AddReleaseOptions() {
  command_->add_option("--trust-root", options_.trust_root,
                       "Signed trust root to carry (devices adopt it after "
                       "installing)");
  command_
      ->add_option("--key-generation", options_.key_generation,
                   "Monotonic key generation recorded in the manifest")
      ->capture_default_str();
  command_->add_option(
      "--expires", options_.expires,
      "Devices refuse the bundle after this time (seconds since "
      "the epoch)");
  command_->add_option("--expires-in", options_.expires_in_days,
                       "Devices refuse the bundle this many days after its "
                       "creation time");
  command_->add_flag("--allow-dev-keys", options_.allow_dev_keys,
                     "Accept published development keys; marks the bundle "
                     "'development'");
  command_->add_option(
      "--dev-keys-list", options_.dev_keys_list,
      "Extra TSV of development-key SPKI SHA-256 fingerprints");
  command_
      ->add_option("--signing-threads", options_.signing_threads,
                   "Threads making IMA/EVM signatures")
      ->capture_default_str();
}

void BuildCommand::AddCaStoreOptions() {
  command_
      ->add_option(
          "--ca-store", ca_store_mode_,
          "regenerate: rebuild etc/ssl/certs as update-ca-certificates "
          "would; keep: leave the input's store untouched (default: "
          "regenerate, keep with --keep-signatures)")
      ->check(CLI::IsMember({"regenerate", "keep"}));
  command_->add_option(
      "--ca-add", options_.ca.add,
      "Certificate (PEM, *.crt) to put into "
      "usr/local/share/ca-certificates of the image (repeatable)");
  command_->add_option(
      "--ca-remove", options_.ca.remove,
      "Deselect a certificate of etc/ca-certificates.conf (a '!' "
      "line): entry, file or link name (repeatable)");
  command_->add_option("--ca-conf", options_.ca.conf,
                       "File replacing etc/ca-certificates.conf of the image");
  command_->add_flag(
      "--ca-lenient", options_.ca.lenient,
      "Warn instead of failing where update-ca-certificates would "
      "silently ship a broken store");
  command_
      ->add_option("--ca-expiry-horizon",
                   options_.ca.policy.expiry_horizon_days,
                   "Warn about CA certificates expiring within DAYS")
      ->capture_default_str();
  command_->add_option(
      "--ca-require", options_.ca.policy.required,
      "Fail unless this CA (link NAME or certificate FILE) is in "
      "the store and valid beyond the horizon (repeatable)");
}

}  // namespace imab::builder::cli
