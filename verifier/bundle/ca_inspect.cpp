#include "verifier/bundle/ca_inspect.h"

#include <algorithm>

#include "common/read/ca_policy.h"
#include "common/read/hex.h"
#include "common/read/json_text.h"

namespace imab::verifier {
namespace {

bool Contains(const std::vector<CaAnchorRecord>& anchors,
              const Sha256Digest& sha256) {
  return std::any_of(
      anchors.begin(), anchors.end(),
      [&](const CaAnchorRecord& a) { return DigestEquals(a.sha256, sha256); });
}

std::string AnchorJson(const CaAnchorRecord& a) {
  return "{\"link\": " + JsonString(a.link) +
         ", \"subject\": " + JsonString(a.subject) +
         ", \"sha256\": " + JsonString(HexEncode(a.sha256)) +
         ", \"not_after\": " + std::to_string(a.not_after) +
         ", \"not_after_date\": " + JsonString(FormatUtcDate(a.not_after)) +
         "}";
}

std::string ListJson(const std::vector<CaAnchorRecord>& anchors) {
  std::string out = "[";
  for (size_t i = 0; i < anchors.size(); ++i) {
    out += (i == 0 ? "" : ", ") + AnchorJson(anchors[i]);
  }
  return out + "]";
}

}  // namespace

CaStoreDiff DiffCaStores(const std::optional<CaStoreSection>& current,
                         const std::optional<CaStoreSection>* previous,
                         int64_t now, uint32_t horizon_days) {
  CaStoreDiff diff;
  diff.has_store = current.has_value();
  diff.has_previous = previous != nullptr;
  diff.previous_has_store = previous != nullptr && previous->has_value();
  static const std::vector<CaAnchorRecord> kNone;
  const auto& mine = current.has_value() ? current->anchors : kNone;
  const auto& theirs = diff.previous_has_store ? (*previous)->anchors : kNone;
  diff.anchors = mine;
  if (current.has_value()) {
    for (const CaAnchorRecord* a :
         ExpiringAnchors(*current, now, horizon_days)) {
      diff.expiring.push_back(*a);
    }
  }
  if (previous == nullptr) {
    return diff;
  }
  for (const CaAnchorRecord& a : mine) {
    if (!Contains(theirs, a.sha256)) {
      diff.added.push_back(a);
    }
  }
  for (const CaAnchorRecord& a : theirs) {
    if (!Contains(mine, a.sha256)) {
      diff.removed.push_back(a);
    }
  }
  return diff;
}

Result<VerifiedBundle> InspectBundles(const InspectOptions& options,
                                      InspectResult& result) {
  NullSink sink;
  IMAB_ASSIGN_OR_RETURN(VerifiedBundle bundle,
                        VerifyBundle(options.verify, sink, result.report));
  std::optional<CaStoreSection> previous;
  if (options.against != nullptr) {
    VerifyOptions old = options.verify;
    old.bundle = options.against;
    old.ca = RequiredCas{};  // the device's policy applies to the new image
    NullSink old_sink;
    Result<VerifiedBundle> old_verified =
        VerifyBundle(old, old_sink, result.previous_report);
    if (!old_verified.has_value()) {
      return WithContext(old_verified.error(),
                         "previous bundle " + options.against_name);
    }
    previous = old_verified->header.ca_store;
  }
  result.diff = DiffCaStores(
      bundle.header.ca_store, options.against == nullptr ? nullptr : &previous,
      options.now, options.verify.ca.expiry_horizon_days);
  return bundle;
}

std::string RenderCaDiffText(const CaStoreDiff& diff, uint32_t horizon_days) {
  if (!diff.has_store) {
    return "CA store: not declared (the builder kept the input's store)\n";
  }
  std::string out =
      "CA store: " + std::to_string(diff.anchors.size()) + " anchors";
  if (diff.has_previous) {
    out += diff.previous_has_store
               ? ", " + std::to_string(diff.added.size()) + " added, " +
                     std::to_string(diff.removed.size()) + " removed"
               : " (the previous bundle declares no CA store)";
  }
  out += ", " + std::to_string(diff.expiring.size()) + " expiring within " +
         std::to_string(horizon_days) + " days\n";
  for (const CaAnchorRecord& a : diff.added) {
    out += "added    " + a.link + "  " + a.subject + "\n";
  }
  for (const CaAnchorRecord& a : diff.removed) {
    out += "removed  " + a.link + "  " + a.subject + "\n";
  }
  for (const CaAnchorRecord& a : diff.expiring) {
    out += "expiring " + a.link + "  " + a.subject + "  notAfter " +
           FormatUtcDate(a.not_after) + "\n";
  }
  return out;
}

std::string RenderCaDiffJson(const CaStoreDiff& diff) {
  return std::string("{\"declared\": ") + (diff.has_store ? "true" : "false") +
         ", \"anchors\": " + ListJson(diff.anchors) +
         ", \"compared\": " + (diff.previous_has_store ? "true" : "false") +
         ", \"added\": " + ListJson(diff.added) +
         ", \"removed\": " + ListJson(diff.removed) +
         ", \"expiring\": " + ListJson(diff.expiring) + "}";
}

}  // namespace imab::verifier
