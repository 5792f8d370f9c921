#include "common/read/result.h"

namespace imab {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid-argument";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kMalformed:
      return "malformed";
    case ErrorCode::kLimitExceeded:
      return "limit-exceeded";
    case ErrorCode::kBadSignature:
      return "bad-signature";
    case ErrorCode::kDigestMismatch:
      return "digest-mismatch";
    case ErrorCode::kUnknownKey:
      return "unknown-key";
    case ErrorCode::kKeyRevoked:
      return "key-revoked";
    case ErrorCode::kPolicyRefused:
      return "policy-refused";
    case ErrorCode::kRollback:
      return "rollback";
    case ErrorCode::kIncompatible:
      return "incompatible";
    case ErrorCode::kUntrusted:
      return "untrusted";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

bool IsVerificationFailure(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformed:
    case ErrorCode::kLimitExceeded:
    case ErrorCode::kBadSignature:
    case ErrorCode::kDigestMismatch:
    case ErrorCode::kUnknownKey:
    case ErrorCode::kKeyRevoked:
    case ErrorCode::kPolicyRefused:
    case ErrorCode::kRollback:
    case ErrorCode::kIncompatible:
    case ErrorCode::kUntrusted:
      return true;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return false;
  }
  return false;
}

}  // namespace imab
