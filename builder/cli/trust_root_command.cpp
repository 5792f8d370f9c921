#include "builder/cli/trust_root_command.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <utility>

#include "builder/cli/command_support.h"

namespace imab::builder::cli {
namespace {

int PrintReport(const Result<std::string>& report) {
  if (!report.has_value()) {
    return PrintError(report.error());
  }
  std::cout << *report;
  return 0;
}

}  // namespace

TrustRootCommand::TrustRootCommand(CLI::App& app) {
  root_ = app.add_subcommand("trust-root", "Manage release trust roots");
  root_->require_subcommand(1);
  AddCreate(*root_);
  AddSign(*root_);
  AddShow(*root_);
}

bool TrustRootCommand::parsed() const { return root_->parsed(); }

int TrustRootCommand::Run() {
  if (create_cmd_->parsed()) {
    return PrintReport(CreateTrustRoot(create_));
  }
  if (sign_cmd_->parsed()) {
    if (sign_.pkcs11_module.empty()) {
      sign_.pkcs11_module = DefaultPkcs11Module();
    }
    return PrintReport(SignTrustRoot(sign_));
  }
  if (show_cmd_->parsed()) {
    return RunShow();
  }
  // Unreachable: `trust-root` requires exactly one subcommand.
  return 2;
}

int TrustRootCommand::RunShow() {
  Result<std::pair<std::string, bool>> shown = ShowTrustRoot(show_);
  if (!shown.has_value()) {
    return PrintError(shown.error());
  }
  std::cout << shown->first;
  return shown->second ? 0 : 1;
}

void TrustRootCommand::AddCreate(CLI::App& root) {
  create_cmd_ = root.add_subcommand("create", "Write an unsigned root");
  create_cmd_->add_option("--version", create_.version, "Root version")
      ->required();
  create_cmd_
      ->add_option("--threshold", create_.threshold, "Signatures required")
      ->required();
  create_cmd_
      ->add_option("--release-ca", create_.release_cas,
                   "Release CA certificates (PEM, repeatable)")
      ->required();
  create_cmd_
      ->add_option("--key", create_.keys,
                   "Root key: public key, certificate or private "
                   "key PEM (repeatable)")
      ->required();
  create_cmd_->add_option("--out", create_.out, "Root file to write")
      ->required();
}

void TrustRootCommand::AddSign(CLI::App& root) {
  sign_cmd_ = root.add_subcommand("sign", "Add a signature to a root");
  sign_cmd_->add_option("--root", sign_.root, "Root file")->required();
  sign_cmd_->add_option("--key", sign_.key, "PEM private key or pkcs11: URI")
      ->required();
  sign_cmd_->add_option("--pkcs11-module", sign_.pkcs11_module,
                        "PKCS#11 module for a pkcs11: key");
  sign_cmd_->add_option("--out", sign_.out, "Root file to write")->required();
}

void TrustRootCommand::AddShow(CLI::App& root) {
  show_cmd_ = root.add_subcommand("show", "Describe a root");
  show_cmd_->add_option("root", show_.root, "Root file")->required();
  show_cmd_->add_option("--previous", show_.previous, "Root it must succeed");
  show_cmd_->add_flag("--json", show_.json, "JSON output");
}

}  // namespace imab::builder::cli
