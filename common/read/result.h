// Status and Result<T>: the error model of the whole project.
// Expected failures are values, never exceptions (docs/style.md "Error
// handling"). Member names follow std::expected so a later move is mechanical.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace imab {

// What went wrong, coarse enough that callers can branch on it.
enum class ErrorCode {
  kInvalidArgument,  // caller or user gave something unusable
  kIo,               // the operating system refused a read or write
  kMalformed,        // untrusted bytes do not follow the format
  kLimitExceeded,    // untrusted bytes exceed a limit in common/read/limits.h
  kBadSignature,     // a signature or certificate chain does not verify
  kDigestMismatch,   // content differs from what a signed record pins
  kUnknownKey,       // a key id names no trusted key
  kKeyRevoked,       // a key id names a key that is no longer trusted
  kPolicyRefused,    // checked and well-formed, but a configured policy
                     // refuses it (a development bundle or key, a required
                     // CA missing); not about a revoked key
  kRollback,         // an older version than the one installed, a lower
                     // key generation, or an expired manifest
  kIncompatible,     // made for another device (compatible name)
  kUntrusted,        // after the update the device could not trust its files
  kInternal,         // a bug or a library failure that should not happen
};

// Short stable name of a code ("malformed"), used in reports.
const char* ErrorCodeName(ErrorCode code);

// True for codes that mean "the input was checked and refused" (exit 1), as
// opposed to usage or I/O trouble (exit 2).
bool IsVerificationFailure(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // one line: what was wrong and where; never secrets
};

inline Error MakeError(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// Result of an operation that yields a T on success.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result of an operation that yields nothing on success.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_{ErrorCode::kInternal, {}};
  bool ok_ = true;
};

inline Status OkStatus() { return Status(); }

// Prefixes the message of an error with context ("manifest entry 3: ...").
inline Error WithContext(Error error, const std::string& context) {
  error.message = context + ": " + error.message;
  return error;
}

}  // namespace imab

#define IMAB_CONCAT_INNER_(a, b) a##b
#define IMAB_CONCAT_(a, b) IMAB_CONCAT_INNER_(a, b)

// Returns the error of `expr` (a Status or Result) from the enclosing function.
#define IMAB_RETURN_IF_ERROR(expr)            \
  do {                                        \
    auto&& imab_status_ = (expr);             \
    if (!imab_status_.has_value()) {          \
      return std::move(imab_status_).error(); \
    }                                         \
  } while (false)

// Evaluates `rexpr` (a Result<T>); on error returns it, else moves the value
// into `lhs` (which may be a declaration such as `auto x`).
#define IMAB_ASSIGN_OR_RETURN(lhs, rexpr) \
  IMAB_ASSIGN_OR_RETURN_IMPL_(IMAB_CONCAT_(imab_result_, __LINE__), lhs, rexpr)
#define IMAB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                \
  if (!tmp.has_value()) {                            \
    return std::move(tmp).error();                   \
  }                                                  \
  lhs = std::move(tmp).value()
