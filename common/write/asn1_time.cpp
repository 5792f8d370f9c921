#include "common/write/asn1_time.h"

#include <openssl/err.h>

#include <ctime>

namespace imab {

std::string IsoTime(const ASN1_TIME* time) {
  struct tm tm {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    ERR_clear_error();
    return "(invalid time)";
  }
  char buf[32];
  if (std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return "(invalid time)";
  }
  return buf;
}

}  // namespace imab
