// What every imab-verify command shares in its output: the reporter that
// writes to stderr, the one-line failure and its exit code (0 accepted, 1
// rejected, 2 usage or I/O error), and the summary of a verified bundle.
// The lines are a contract: scripts and the integration tests read them.
#pragma once

#include <optional>
#include <string>

#include "common/read/reporter.h"
#include "common/read/result.h"
#include "verifier/bundle/bundle_verifier.h"

namespace imab::verifier::cli {

class StderrReporter : public Reporter {
 public:
  void Info(std::string_view message) override;
  void Warn(std::string_view message) override;
};

// 1 for a verification failure, 2 for anything else.
int ExitCode(const Error& error);

// "imab-verify: rejected: MESSAGE" (a verdict) or "imab-verify: error:
// MESSAGE" (usage or I/O trouble) on stderr; returns ExitCode(failure).
int PrintFailure(const Error& failure);

// "imab-verify: error: MESSAGE" on stderr; returns 2. For failures that
// are never verdicts (a sink or a device that cannot be opened).
int PrintError(const Error& error);

// "imab-verify: error: MESSAGE" on stderr, whatever the code; returns
// ExitCode(error).
int PrintErrorWithCode(const Error& error);

// The trust decision's notes on an accepted bundle (a refusal's message
// carries them already): they refuse nothing, but say what it assumed.
void PrintTrustNotes(const VerifiedBundle& bundle);

// How a verification ended, for the renderers.
struct Outcome {
  const VerifyReport& report;
  const Result<VerifiedBundle>& verified;
};

// The outcome of verify, extract or inspect: the JSON report on stdout
// with `json`, the failure line, or the notes and (without `json`) "VERB
// NAME: version V for C, N entries (F files, B bytes), signed by S".
// Returns the exit code.
int ReportVerified(const Outcome& outcome, bool json, const std::string& verb,
                   const std::string& bundle_name);

}  // namespace imab::verifier::cli
