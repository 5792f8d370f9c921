#include "verifier/bundle/report_json.h"

#include <cstdio>

#include "common/read/hex.h"
#include "common/read/keyid.h"

namespace imab::verifier {

namespace {

std::string ManifestJson(const VerifiedBundle& facts) {
  const ManifestHeader& h = facts.header;
  return "{\"format\": " + std::to_string(h.format_version) +
         ", \"kind\": " + JsonString(h.kind) +
         ", \"image_version\": " + JsonString(h.image_version) +
         ", \"compatible\": " + JsonString(h.compatible) +
         ", \"created\": " + std::to_string(h.created) +
         ", \"payload_size\": " + std::to_string(h.payload_size) +
         ", \"payload_sha256\": " + JsonString(HexEncode(h.payload_sha256)) +
         ", \"entry_count\": " + std::to_string(h.entry_count) +
         ", \"signer\": " + JsonString(facts.signer) +
         ", \"entries_checked\": " + std::to_string(facts.entries) +
         ", \"files\": " + std::to_string(facts.files) +
         ", \"content_bytes\": " + std::to_string(facts.content_bytes) +
         ", \"development\": " + (h.development ? "true" : "false") +
         ", \"trust_root_version\": " +
         std::to_string(facts.trust_root_version) +
         ", \"carries_trust_root\": " +
         (facts.adopt_trust_root.has_value() ? "true" : "false") +
         ", \"ca_anchors\": " +
         (h.ca_store.has_value() ? std::to_string(h.ca_store->anchors.size())
                                 : std::string("null")) +
         "}";
}

}  // namespace

namespace {

std::string KeyIdsJson(const std::vector<uint32_t>& keyids) {
  std::string out = "[";
  for (size_t i = 0; i < keyids.size(); ++i) {
    out += (i == 0 ? "" : ", ") + JsonString(KeyIdHex(keyids[i]));
  }
  return out + "]";
}

std::string TrustJson(const TrustVerdict& verdict) {
  std::string out = "{\"accepted\": ";
  out += verdict.accepted() ? "true" : "false";
  out += ", \"appraised_files\": " + std::to_string(verdict.appraised_files);
  out += ", \"critical_files\": " + std::to_string(verdict.critical_files);
  out += ", \"ima_keyring\": " + KeyIdsJson(verdict.ima_keyids);
  out += ", \"evm_keyring\": " + KeyIdsJson(verdict.evm_keyids);
  out += ", \"keyring_problems\": [";
  for (size_t i = 0; i < verdict.keyring_problems.size(); ++i) {
    out += (i == 0 ? "" : ", ") + JsonString(verdict.keyring_problems[i]);
  }
  out += "], \"notes\": [";
  for (size_t i = 0; i < verdict.notes.size(); ++i) {
    out += (i == 0 ? "" : ", ") + JsonString(verdict.notes[i]);
  }
  out += "], \"rejected_files\": [";
  for (size_t i = 0; i < verdict.files.size(); ++i) {
    const TrustFinding& f = verdict.files[i];
    out += (i == 0 ? "" : ", ");
    out += "{\"path\": " + JsonString("/" + f.path) +
           ", \"critical\": " + (f.critical ? "true" : "false") +
           ", \"reason\": " + JsonString(f.reason) +
           ", \"cause\": " + JsonString(f.cause) +
           ", \"consequence\": " + JsonString(f.consequence) + ", \"hooks\": [";
    for (size_t h = 0; h < f.hooks.size(); ++h) {
      out += (h == 0 ? "" : ", ") + JsonString(f.hooks[h]);
    }
    out += "]}";
  }
  return out + "]}";
}

}  // namespace

std::string RenderReportJson(const VerifyReport& report,
                             const std::optional<Error>& failure,
                             std::string_view extra) {
  std::string result = !failure.has_value()                   ? "accepted"
                       : IsVerificationFailure(failure->code) ? "rejected"
                                                              : "error";
  std::string out = "{\"result\": " + JsonString(result);
  if (failure.has_value()) {
    out +=
        ", \"error\": {\"code\": " + JsonString(ErrorCodeName(failure->code)) +
        ", \"message\": " + JsonString(failure->message) + "}";
  }
  out += ", \"checks\": [";
  for (size_t i = 0; i < report.checks.size(); ++i) {
    const CheckResult& c = report.checks[i];
    out += (i == 0 ? "" : ", ");
    out += "{\"name\": " + JsonString(c.name) +
           ", \"passed\": " + (c.passed ? "true" : "false") +
           ", \"detail\": " + JsonString(c.detail) + "}";
  }
  out += "]";
  out += ", \"integrity_failures\": [";
  for (size_t i = 0; i < report.integrity_failures.size(); ++i) {
    const IntegrityFailure& f = report.integrity_failures[i];
    out += (i == 0 ? "" : ", ");
    out += "{\"path\": " + JsonString(f.path) +
           ", \"xattr\": " + JsonString(f.xattr) +
           ", \"reason\": " + JsonString(f.reason) + "}";
  }
  out += "]";
  if (report.facts.has_value() && report.facts->trust.has_value()) {
    out += ", \"trust_decision\": " + TrustJson(*report.facts->trust);
  }
  if (report.facts.has_value()) {
    out += ", \"manifest\": " + ManifestJson(*report.facts);
  }
  out += extra;
  out += "}\n";
  return out;
}

}  // namespace imab::verifier
