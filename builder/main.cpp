// imab-build: command-line entry point. Parses arguments, calls the builder
// library, prints the outcome; no other logic lives here.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "builder/bundle_builder.h"
#include "builder/key_commands.h"
#include "builder/key_show.h"
#include "builder/trust_root_commands.h"

namespace {

class StderrReporter : public imab::Reporter {
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

int Fail(const imab::Error& error) {
  std::cerr << "imab-build: error: " << error.message << "\n";
  return 2;
}

// The PKCS#11 module for "pkcs11:" key URIs without module-path.
std::string DefaultPkcs11Module() {
  const char* module = std::getenv("IMAB_PKCS11_MODULE");
  return module != nullptr && *module != '\0'
             ? module
             : "/usr/lib/softhsm/libsofthsm2.so";
}

int RunBuild(imab::builder::BuildOptions options) {
  if (options.pkcs11_module.empty()) {
    options.pkcs11_module = DefaultPkcs11Module();
  }
  if (!CreationTime(&options.created)) {
    std::cerr << "imab-build: error: SOURCE_DATE_EPOCH is not a number\n";
    return 2;
  }
  StderrReporter reporter;
  auto summary = imab::builder::BuildBundle(options, reporter);
  if (!summary.has_value()) {
    return Fail(summary.error());
  }
  std::cout << "built " << options.output << ": " << summary->entries
            << " entries (" << summary->files << " files, "
            << summary->content_bytes << " bytes), payload "
            << summary->payload_bytes << " bytes, bundle "
            << summary->bundle_bytes << " bytes\n";
  for (const std::string& path : summary->initramfs) {
    std::cout << "initramfs " << path
              << ": etc/keys/x509_evm.der set to the signing certificate\n";
  }
  for (const std::string& kernel : summary->kernels) {
    std::cout << "kernel " << kernel << ": carries every --kernel-ca\n";
  }
  if (!summary->ca_store.empty()) {
    std::cout << summary->ca_store << "\n";
  }
  if (summary->development) {
    std::cout << "development bundle: built with published development "
                 "keys; devices refuse it unless configured to accept it\n";
  }
  if (!summary->new_keyids.empty()) {
    std::string keyids;
    for (const std::string& keyid : summary->new_keyids) {
      keyids += (keyids.empty() ? "" : "/") + keyid;
    }
    std::cout << "signed " << summary->signed_files << " files";
    if (summary->excluded_files > 0) {
      std::cout << " (" << summary->excluded_files << " excluded)";
    }
    const char* separator = ": ";
    for (const auto& [old_keyid, count] : summary->replaced_keyids) {
      std::cout << separator << count << " files: "
                << (old_keyid == "none" ? "unsigned" : "keyid " + old_keyid)
                << " -> keyid " << keyids;
      separator = ", ";
    }
    std::cout << "\n";
  }
  return 0;
}

int PrintCreated(const imab::Result<imab::builder::CreatedKey>& created) {
  if (!created.has_value()) {
    return Fail(created.error());
  }
  std::cout << created->report;
  return 0;
}

// The `key` subcommands: options filled by CLI11, one library call each.
struct KeyCommands {
  imab::builder::CreateCaOptions ca;
  imab::builder::CreateSigningOptions signing;
  imab::builder::RotateSigningOptions rotate;
  imab::builder::CreateReleaseOptions release;
  imab::builder::ShowOptions show;
  CLI::App* create_ca = nullptr;
  CLI::App* create_signing = nullptr;
  CLI::App* rotate_signing = nullptr;
  CLI::App* create_release = nullptr;
  CLI::App* show_cmd = nullptr;

  void AddOutputs(CLI::App* cmd, std::string& key, std::string& cert,
                  std::string& subject, std::string& type, int& days) {
    cmd->add_option("--out-key", key, "Private key to create (PEM, 0600)")
        ->required();
    cmd->add_option("--out-cert", cert,
                    "Certificate to create (DER if it ends in .der)")
        ->required();
    cmd->add_option("--subject", subject, "Subject DN, e.g. /O=Acme/CN=Name")
        ->required();
    cmd->add_option("--type", type,
                    "rsa:2048|rsa:3072|rsa:4096|ec:p256|ec:p384")
        ->capture_default_str();
    cmd->add_option("--days", days, "Validity in days")->capture_default_str();
  }

  void Register(CLI::App& app) {
    CLI::App* key =
        app.add_subcommand("key", "Create, rotate and inspect keys");
    key->require_subcommand(1);
    create_ca = key->add_subcommand("create-ca", "Root CA for the kernel");
    AddOutputs(create_ca, ca.out_key, ca.out_cert, ca.subject, ca.type,
               ca.days);
    create_signing = key->add_subcommand(
        "create-signing", "IMA/EVM signing certificate under a CA");
    AddSigning(create_signing, signing);
    create_signing->add_flag("--code-signing", signing.code_signing,
                             "Add extendedKeyUsage codeSigning");
    rotate_signing =
        key->add_subcommand("rotate-signing",
                            "New signing certificate with a keyid unlike "
                            "every --current one");
    AddSigning(rotate_signing, rotate.signing);
    rotate_signing
        ->add_option("--current", rotate.current,
                     "Certificate in use now (repeatable)")
        ->required();
    create_release = key->add_subcommand(
        "create-release",
        "Bundle-signing key and certificate (and a release CA)");
    AddOutputs(create_release, release.out_key, release.out_cert,
               release.subject, release.type, release.days);
    create_release->add_option("--ca-key", release.ca_key,
                               "Issuing CA key: PEM file or pkcs11: URI");
    create_release->add_option("--pkcs11-module", release.pkcs11_module,
                               "PKCS#11 module for a pkcs11: CA key");
    create_release->add_flag("--allow-dev-keys", release.allow_dev_keys,
                             "Accept a CA key that example layers publish");
    create_release->add_option("--dev-keys-list", release.dev_keys_list,
                               "Extra TSV of development-key fingerprints");
    create_release->add_option("--ca-cert", release.ca_cert,
                               "Issuing CA certificate");
    create_release->add_option(
        "--out-ca-key", release.out_ca_key,
        "Without --ca-key: the new release CA's key (default: "
        "--out-key with -ca before the extension)");
    create_release->add_option(
        "--out-ca-cert", release.out_ca_cert,
        "Without --ca-cert: the new release CA's certificate, which "
        "devices trust (default: --out-cert with -ca)");
    create_release->add_option("--ca-subject", release.ca_subject,
                               "Subject of the new release CA (default: "
                               "--subject with \" CA\" after its CN)");
    show_cmd = key->add_subcommand("show", "Describe a certificate or key");
    show_cmd->add_option("file", show.path, "Certificate or key")->required();
    show_cmd->add_option("--ca", show.ca_path, "CA it must chain to");
    show_cmd->add_option("--kernel-profile", show.kernel_profile,
                         "Device kernel profile");
    show_cmd->add_option("--kernel-version", show.kernel_version,
                         "MAJOR.MINOR of the device kernel whose keyring "
                         "rules hold (default: every studied kernel's)");
    show_cmd->add_flag("--json", show.json, "JSON output");
    show_cmd->add_option("--set", show.set,
                         "Certificates sharing the keyring (repeatable)");
  }

  void AddSigning(CLI::App* cmd, imab::builder::CreateSigningOptions& o) {
    cmd->add_option("--ca-key", o.ca_key,
                    "CA private key: PEM file or pkcs11: URI")
        ->required();
    cmd->add_option("--pkcs11-module", o.pkcs11_module,
                    "PKCS#11 module for a pkcs11: CA key");
    cmd->add_flag("--allow-dev-keys", o.allow_dev_keys,
                  "Accept a CA key that example layers publish");
    cmd->add_option("--dev-keys-list", o.dev_keys_list,
                    "Extra TSV of development-key fingerprints");
    cmd->add_option("--ca-cert", o.ca_cert, "CA certificate")->required();
    cmd->add_option("--kernel-version", o.kernel_version,
                    "MAJOR.MINOR of the device kernel whose keyring rules "
                    "hold (default: every studied kernel's)");
    AddOutputs(cmd, o.out_key, o.out_cert, o.subject, o.type, o.days);
  }

  // Runs the parsed subcommand; -1 when none of these was given.
  int Run() {
    for (std::string* module :
         {&signing.pkcs11_module, &rotate.signing.pkcs11_module,
          &release.pkcs11_module}) {
      if (module->empty()) {
        *module = DefaultPkcs11Module();
      }
    }
    if (create_ca->parsed()) {
      return PrintCreated(imab::builder::CreateCa(ca));
    }
    if (create_signing->parsed()) {
      return PrintCreated(imab::builder::CreateSigning(signing));
    }
    if (rotate_signing->parsed()) {
      return PrintCreated(imab::builder::RotateSigning(rotate));
    }
    if (create_release->parsed()) {
      return PrintCreated(imab::builder::CreateRelease(release));
    }
    if (show_cmd->parsed()) {
      auto report = imab::builder::ShowKey(show);
      if (!report.has_value()) {
        return Fail(report.error());
      }
      std::cout << report->text;
      return report->all_ok ? 0 : 1;
    }
    return -1;
  }
};

// `trust-root create|sign|show`.
struct TrustRootCommands {
  imab::builder::TrustRootCreateOptions create;
  imab::builder::TrustRootSignOptions sign;
  imab::builder::TrustRootShowOptions show;
  CLI::App* create_cmd = nullptr;
  CLI::App* sign_cmd = nullptr;
  CLI::App* show_cmd = nullptr;

  void Register(CLI::App& app) {
    CLI::App* root =
        app.add_subcommand("trust-root", "Manage release trust roots");
    root->require_subcommand(1);
    create_cmd = root->add_subcommand("create", "Write an unsigned root");
    create_cmd->add_option("--version", create.version, "Root version")
        ->required();
    create_cmd
        ->add_option("--threshold", create.threshold, "Signatures required")
        ->required();
    create_cmd
        ->add_option("--release-ca", create.release_cas,
                     "Release CA certificates (PEM, repeatable)")
        ->required();
    create_cmd
        ->add_option("--key", create.keys,
                     "Root key: public key, certificate or private "
                     "key PEM (repeatable)")
        ->required();
    create_cmd->add_option("--out", create.out, "Root file to write")
        ->required();
    sign_cmd = root->add_subcommand("sign", "Add a signature to a root");
    sign_cmd->add_option("--root", sign.root, "Root file")->required();
    sign_cmd->add_option("--key", sign.key, "PEM private key or pkcs11: URI")
        ->required();
    sign_cmd->add_option("--pkcs11-module", sign.pkcs11_module,
                         "PKCS#11 module for a pkcs11: key");
    sign_cmd->add_option("--out", sign.out, "Root file to write")->required();
    show_cmd = root->add_subcommand("show", "Describe a root");
    show_cmd->add_option("root", show.root, "Root file")->required();
    show_cmd->add_option("--previous", show.previous, "Root it must succeed");
    show_cmd->add_flag("--json", show.json, "JSON output");
  }

  // Runs the parsed subcommand; -1 when none of these was given.
  int Run() {
    if (create_cmd->parsed()) {
      return PrintReport(imab::builder::CreateTrustRoot(create));
    }
    if (sign_cmd->parsed()) {
      if (sign.pkcs11_module.empty()) {
        sign.pkcs11_module = DefaultPkcs11Module();
      }
      return PrintReport(imab::builder::SignTrustRoot(sign));
    }
    if (show_cmd->parsed()) {
      auto shown = imab::builder::ShowTrustRoot(show);
      if (!shown.has_value()) {
        return Fail(shown.error());
      }
      std::cout << shown->first;
      return shown->second ? 0 : 1;
    }
    return -1;
  }

  static int PrintReport(const imab::Result<std::string>& report) {
    if (!report.has_value()) {
      return Fail(report.error());
    }
    std::cout << *report;
    return 0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imab-build: build signed full-image update bundles"};
  app.require_subcommand(1);
  imab::builder::BuildOptions build;
  build.workers = static_cast<int>(std::thread::hardware_concurrency());
  build.signing_threads = build.workers;
  CLI::App* cmd = app.add_subcommand("build", "Build a bundle from a rootfs");
  cmd->add_option("--rootfs", build.rootfs, "Rootfs folder or tarball")
      ->required();
  cmd->add_option("--version", build.image_version,
                  "Image version (dotted integers)")
      ->required();
  cmd->add_option("--compatible", build.compatible, "Device class name")
      ->required();
  cmd->add_option("--signing-key", build.signing_key,
                  "Release signing key: PEM file or pkcs11: URI")
      ->required();
  cmd->add_option("--pkcs11-module", build.pkcs11_module,
                  "PKCS#11 module for pkcs11: keys (default: "
                  "$IMAB_PKCS11_MODULE or SoftHSM2's)");
  cmd->add_option("--signing-cert", build.signing_cert,
                  "Release signing certificate (PEM or DER)")
      ->required();
  cmd->add_option("--chain", build.chain, "Intermediate certificates (PEM)");
  cmd->add_option("--output,-o", build.output, "Bundle file to write")
      ->required();
  cmd->add_option("--zstd-level", build.zstd_level, "zstd level (1-19)")
      ->capture_default_str();
  cmd->add_option("--threads", build.workers,
                  "zstd worker threads (0 = compress inline)")
      ->capture_default_str();
  cmd->add_option("--ima-key", build.ima_key,
                  "Private key (PEM) that re-signs security.ima and "
                  "security.evm of every regular file");
  cmd->add_option("--ima-cert", build.ima_certs,
                  "Certificate of --ima-key; with --keep-signatures, each "
                  "certificate the kept signatures may verify under "
                  "(repeatable)");
  cmd->add_option("--evm-key", build.evm_key,
                  "Separate private key for security.evm");
  cmd->add_option("--evm-cert", build.evm_cert, "Certificate of --evm-key");
  cmd->add_option("--hash", build.hash, "sha256, sha384 or sha512")
      ->capture_default_str();
  cmd->add_option("--kernel-profile", build.kernel_profile,
                  "Device kernel: le64 (default), le32, be64, be32, "
                  "optionally :xattr,list for kernels before 5.14")
      ->capture_default_str();
  cmd->add_option("--ima-exclude", build.ima_exclude,
                  "Leave files matching this glob unsigned (path inside the "
                  "image, * within a folder, ** across folders; repeatable)");
  cmd->add_flag("--keep-signatures", build.keep_signatures,
                "Keep the input's IMA/EVM signatures (checked against "
                "--ima-cert)");
  cmd->add_flag("--allow-unverified", build.allow_unverified,
                "With --keep-signatures: build even if some do not verify");
  cmd->add_option("--initramfs", build.initramfs,
                  "Initramfs in the image (path inside it) that gets the "
                  "signing certificate at etc/keys/x509_evm.der; default: "
                  "every initrd*/initramfs* at the top level or under boot/; "
                  "another one stops the build (repeatable)");
  cmd->add_option("--kernel-ca", build.kernel_cas,
                  "CA certificate(s) built into the image's kernel (PEM); "
                  "signing certificates it would refuse, and a kernel of the "
                  "image not carrying it, stop the build (repeatable)");
  cmd->add_option("--kernel-version", build.kernel_version,
                  "MAJOR.MINOR of the device kernel: its rules for loading "
                  "IMA/EVM certificates hold (default: the strictest, every "
                  "studied kernel's)");
  cmd->add_option("--trust-root", build.trust_root,
                  "Signed trust root to carry (devices adopt it after "
                  "installing)");
  cmd->add_option("--key-generation", build.key_generation,
                  "Monotonic key generation recorded in the manifest")
      ->capture_default_str();
  cmd->add_option("--expires", build.expires,
                  "Devices refuse the bundle after this time (seconds since "
                  "the epoch)");
  cmd->add_option("--expires-in", build.expires_in_days,
                  "Devices refuse the bundle this many days after its "
                  "creation time");
  cmd->add_flag("--allow-dev-keys", build.allow_dev_keys,
                "Accept published development keys; marks the bundle "
                "'development'");
  cmd->add_option("--dev-keys-list", build.dev_keys_list,
                  "Extra TSV of development-key SPKI SHA-256 fingerprints");
  cmd->add_option("--signing-threads", build.signing_threads,
                  "Threads making IMA/EVM signatures")
      ->capture_default_str();
  std::string ca_store_mode;
  cmd->add_option("--ca-store", ca_store_mode,
                  "regenerate: rebuild etc/ssl/certs as update-ca-certificates "
                  "would; keep: leave the input's store untouched (default: "
                  "regenerate, keep with --keep-signatures)")
      ->check(CLI::IsMember({"regenerate", "keep"}));
  cmd->add_option("--ca-add", build.ca.add,
                  "Certificate (PEM, *.crt) to put into "
                  "usr/local/share/ca-certificates of the image (repeatable)");
  cmd->add_option("--ca-remove", build.ca.remove,
                  "Deselect a certificate of etc/ca-certificates.conf (a '!' "
                  "line): entry, file or link name (repeatable)");
  cmd->add_option("--ca-conf", build.ca.conf,
                  "File replacing etc/ca-certificates.conf of the image");
  cmd->add_flag("--ca-lenient", build.ca.lenient,
                "Warn instead of failing where update-ca-certificates would "
                "silently ship a broken store");
  cmd->add_option("--ca-expiry-horizon", build.ca.policy.expiry_horizon_days,
                  "Warn about CA certificates expiring within DAYS")
      ->capture_default_str();
  cmd->add_option("--ca-require", build.ca.policy.required,
                  "Fail unless this CA (link NAME or certificate FILE) is in "
                  "the store and valid beyond the horizon (repeatable)");
  KeyCommands keys;
  keys.Register(app);
  TrustRootCommands roots;
  roots.Register(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "imab-build: usage error: " << e.what() << "\n";
    return 2;
  }
  try {
    if (!cmd->parsed()) {
      int rc = keys.Run();
      return rc >= 0 ? rc : roots.Run();
    }
    // An image signed elsewhere had its store built there too: files this
    // build generated would carry no kept signatures.
    build.ca.keep = ca_store_mode == "keep" ||
                    (ca_store_mode.empty() && build.keep_signatures &&
                     build.ca.add.empty() && build.ca.remove.empty() &&
                     build.ca.conf.empty());
    return RunBuild(build);
  } catch (const std::bad_alloc&) {
    std::cerr << "imab-build: error: out of memory\n";
    return 2;
  }
}
