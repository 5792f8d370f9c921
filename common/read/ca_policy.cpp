#include "common/read/ca_policy.h"

#include <sys/stat.h>

#include <ctime>

#include "common/read/handles.h"
#include "common/read/x509_util.h"

namespace imab {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

bool IsRegularFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<Sha256Digest> Fingerprint(const X509* cert) {
  Sha256Digest digest{};
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), digest.data(), &len) != 1 ||
      len != digest.size()) {
    return MakeError(ErrorCode::kInternal, "cannot digest a certificate");
  }
  return digest;
}

int64_t Limit(int64_t now, uint32_t horizon_days) {
  return now + static_cast<int64_t>(horizon_days) * kSecondsPerDay;
}

std::string Describe(const CaAnchorRecord& a) {
  return a.link + ", " + a.subject;
}

}  // namespace

Result<std::vector<RequiredAnchor>> ResolveRequiredAnchors(
    const std::vector<std::string>& specs) {
  std::vector<RequiredAnchor> out;
  for (const std::string& spec : specs) {
    RequiredAnchor required{spec, std::nullopt};
    if (IsRegularFile(spec)) {
      IMAB_ASSIGN_OR_RETURN(Ptr<X509> cert, LoadCertificate(spec));
      IMAB_ASSIGN_OR_RETURN(required.fingerprint, Fingerprint(cert.get()));
    }
    out.push_back(std::move(required));
  }
  return out;
}

const CaAnchorRecord* FindAnchor(const CaStoreSection& section,
                                 const RequiredAnchor& required) {
  for (const CaAnchorRecord& a : section.anchors) {
    bool match =
        required.fingerprint.has_value()
            ? DigestEquals(a.sha256, *required.fingerprint)
            : (a.link == required.spec || a.link == required.spec + ".pem");
    if (match) {
      return &a;
    }
  }
  return nullptr;
}

Status CheckRequiredAnchors(const std::optional<CaStoreSection>& section,
                            const std::vector<RequiredAnchor>& required,
                            uint32_t horizon_days, std::optional<int64_t> now,
                            ErrorCode code) {
  for (const RequiredAnchor& r : required) {
    const CaAnchorRecord* anchor =
        section.has_value() ? FindAnchor(*section, r) : nullptr;
    if (anchor == nullptr) {
      return MakeError(
          code,
          "required CA " + r.spec + " is not in the CA store" +
              (section.has_value() ? ""
                                   : " (the bundle declares no CA store)"));
    }
    if (!now.has_value()) {
      continue;
    }
    auto not_after = static_cast<int64_t>(anchor->not_after);
    if (not_after <= *now) {
      return MakeError(code, "required CA " + r.spec + " (" +
                                 Describe(*anchor) + ") expired on " +
                                 FormatUtcDate(anchor->not_after));
    }
    if (not_after <= Limit(*now, horizon_days)) {
      return MakeError(code, "required CA " + r.spec + " (" +
                                 Describe(*anchor) + ") expires on " +
                                 FormatUtcDate(anchor->not_after) +
                                 ", within the " +
                                 std::to_string(horizon_days) + "-day horizon");
    }
  }
  return OkStatus();
}

std::vector<const CaAnchorRecord*> ExpiringAnchors(
    const CaStoreSection& section, int64_t now, uint32_t horizon_days) {
  std::vector<const CaAnchorRecord*> out;
  for (const CaAnchorRecord& a : section.anchors) {
    if (static_cast<int64_t>(a.not_after) <= Limit(now, horizon_days)) {
      out.push_back(&a);
    }
  }
  return out;
}

std::string FormatUtcDate(uint64_t seconds) {
  auto t = static_cast<time_t>(seconds);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) {
    return "(unrepresentable date)";
  }
  char buf[32];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return std::string(buf, n);
}

}  // namespace imab
