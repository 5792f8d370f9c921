#include "verifier/cli/output.h"

#include <iostream>

#include "verifier/bundle/report_json.h"

namespace imab::verifier::cli {

void StderrReporter::Info(std::string_view message) {
  std::cerr << "imab-verify: " << message << "\n";
}

void StderrReporter::Warn(std::string_view message) {
  std::cerr << "imab-verify: warning: " << message << "\n";
}

int ExitCode(const Error& error) {
  return IsVerificationFailure(error.code) ? 1 : 2;
}

int PrintFailure(const Error& failure) {
  std::cerr << "imab-verify: "
            << (ExitCode(failure) == 1 ? "rejected: " : "error: ")
            << failure.message << "\n";
  return ExitCode(failure);
}

int PrintError(const Error& error) {
  std::cerr << "imab-verify: error: " << error.message << "\n";
  return 2;
}

int PrintErrorWithCode(const Error& error) {
  PrintError(error);
  return ExitCode(error);
}

void PrintTrustNotes(const VerifiedBundle& bundle) {
  if (!bundle.trust.has_value()) {
    return;
  }
  for (const std::string& note : bundle.trust->notes) {
    std::cerr << "imab-verify: note: " << note << "\n";
  }
}

int ReportVerified(const Outcome& outcome, bool json, const std::string& verb,
                   const std::string& bundle_name) {
  std::optional<Error> failure;
  if (!outcome.verified.has_value()) {
    failure = outcome.verified.error();
  }
  if (json) {
    std::cout << RenderReportJson(outcome.report, failure);
  }
  if (failure.has_value()) {
    return PrintFailure(*failure);
  }
  const VerifiedBundle& bundle = *outcome.verified;
  PrintTrustNotes(bundle);
  if (!json) {
    std::cout << verb << " " << bundle_name << ": version "
              << bundle.header.image_version << " for "
              << bundle.header.compatible << ", " << bundle.entries
              << " entries (" << bundle.files << " files, "
              << bundle.content_bytes << " bytes), signed by " << bundle.signer
              << "\n";
  }
  return 0;
}

}  // namespace imab::verifier::cli
