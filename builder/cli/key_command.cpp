#include "builder/cli/key_command.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "builder/cli/command_support.h"

namespace imab::builder::cli {
namespace {

// The flags every command that creates a key and a certificate has.
void AddOutputs(CLI::App* cmd, std::string& key, std::string& cert,
                std::string& subject, std::string& type, int& days) {
  cmd->add_option("--out-key", key, "Private key to create (PEM, 0600)")
      ->required();
  cmd->add_option("--out-cert", cert,
                  "Certificate to create (DER if it ends in .der)")
      ->required();
  cmd->add_option("--subject", subject, "Subject DN, e.g. /O=Acme/CN=Name")
      ->required();
  cmd->add_option("--type", type, "rsa:2048|rsa:3072|rsa:4096|ec:p256|ec:p384")
      ->capture_default_str();
  cmd->add_option("--days", days, "Validity in days")->capture_default_str();
}

// The flags of create-signing and rotate-signing.
void AddSigning(CLI::App* cmd, CreateSigningOptions& o) {
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

int PrintCreated(const Result<CreatedKey>& created) {
  if (!created.has_value()) {
    return PrintError(created.error());
  }
  std::cout << created->report;
  return 0;
}

}  // namespace

KeyCommand::KeyCommand(CLI::App& app) {
  key_ = app.add_subcommand("key", "Create, rotate and inspect keys");
  key_->require_subcommand(1);
  AddCreateCa(*key_);
  AddCreateSigning(*key_);
  AddRotateSigning(*key_);
  AddCreateRelease(*key_);
  AddShow(*key_);
}

bool KeyCommand::parsed() const { return key_->parsed(); }

int KeyCommand::Run() {
  for (std::string* module :
       {&signing_.pkcs11_module, &rotate_.signing.pkcs11_module,
        &release_.pkcs11_module}) {
    if (module->empty()) {
      *module = DefaultPkcs11Module();
    }
  }
  if (create_ca_->parsed()) {
    return PrintCreated(CreateCa(ca_));
  }
  if (create_signing_->parsed()) {
    return PrintCreated(CreateSigning(signing_));
  }
  if (rotate_signing_->parsed()) {
    return PrintCreated(RotateSigning(rotate_));
  }
  if (create_release_->parsed()) {
    return PrintCreated(CreateRelease(release_));
  }
  if (show_cmd_->parsed()) {
    return RunShow();
  }
  // Unreachable: `key` requires exactly one subcommand.
  return 2;
}

int KeyCommand::RunShow() {
  Result<ShowReport> report = ShowKey(show_);
  if (!report.has_value()) {
    return PrintError(report.error());
  }
  std::cout << report->text;
  return report->all_ok ? 0 : 1;
}

void KeyCommand::AddCreateCa(CLI::App& key) {
  create_ca_ = key.add_subcommand("create-ca", "Root CA for the kernel");
  AddOutputs(create_ca_, ca_.out_key, ca_.out_cert, ca_.subject, ca_.type,
             ca_.days);
}

void KeyCommand::AddCreateSigning(CLI::App& key) {
  create_signing_ = key.add_subcommand(
      "create-signing", "IMA/EVM signing certificate under a CA");
  AddSigning(create_signing_, signing_);
  create_signing_->add_flag("--code-signing", signing_.code_signing,
                            "Add extendedKeyUsage codeSigning");
}

void KeyCommand::AddRotateSigning(CLI::App& key) {
  rotate_signing_ = key.add_subcommand(
      "rotate-signing",
      "New signing certificate with a keyid unlike every --current one");
  AddSigning(rotate_signing_, rotate_.signing);
  rotate_signing_
      ->add_option("--current", rotate_.current,
                   "Certificate in use now (repeatable)")
      ->required();
}

void KeyCommand::AddCreateRelease(CLI::App& key) {
  create_release_ = key.add_subcommand(
      "create-release",
      "Bundle-signing key and certificate (and a release CA)");
  AddOutputs(create_release_, release_.out_key, release_.out_cert,
             release_.subject, release_.type, release_.days);
  create_release_->add_option("--ca-key", release_.ca_key,
                              "Issuing CA key: PEM file or pkcs11: URI");
  create_release_->add_option("--pkcs11-module", release_.pkcs11_module,
                              "PKCS#11 module for a pkcs11: CA key");
  create_release_->add_flag("--allow-dev-keys", release_.allow_dev_keys,
                            "Accept a CA key that example layers publish");
  create_release_->add_option("--dev-keys-list", release_.dev_keys_list,
                              "Extra TSV of development-key fingerprints");
  create_release_->add_option("--ca-cert", release_.ca_cert,
                              "Issuing CA certificate");
  create_release_->add_option(
      "--out-ca-key", release_.out_ca_key,
      "Without --ca-key: the new release CA's key (default: "
      "--out-key with -ca before the extension)");
  create_release_->add_option(
      "--out-ca-cert", release_.out_ca_cert,
      "Without --ca-cert: the new release CA's certificate, which "
      "devices trust (default: --out-cert with -ca)");
  create_release_->add_option("--ca-subject", release_.ca_subject,
                              "Subject of the new release CA (default: "
                              "--subject with \" CA\" after its CN)");
}

void KeyCommand::AddShow(CLI::App& key) {
  show_cmd_ = key.add_subcommand("show", "Describe a certificate or key");
  show_cmd_->add_option("file", show_.path, "Certificate or key")->required();
  show_cmd_->add_option("--ca", show_.ca_path, "CA it must chain to");
  show_cmd_->add_option("--kernel-profile", show_.kernel_profile,
                        "Device kernel profile");
  show_cmd_->add_option("--kernel-version", show_.kernel_version,
                        "MAJOR.MINOR of the device kernel whose keyring "
                        "rules hold (default: every studied kernel's)");
  show_cmd_->add_flag("--json", show_.json, "JSON output");
  show_cmd_->add_option("--set", show_.set,
                        "Certificates sharing the keyring (repeatable)");
}

}  // namespace imab::builder::cli
