// gMock matchers for Status and Result<T> (common/read/result.h):
//
//   EXPECT_THAT(status, IsOk());
//   EXPECT_THAT(result, HasValue());              // the same, read as a value
//   EXPECT_THAT(result, HasValue(Eq(42u)));       // and what the value is
//   EXPECT_THAT(result, StatusIs(ErrorCode::kMalformed));
//   EXPECT_THAT(result, StatusIs(ErrorCode::kMalformed, HasSubstr("entry 3")));
//
// A failure prints the error's code name and message (not the object's
// bytes) and which half of StatusIs differs. Test files that assert on a Status
// or Result include this header (it also declares how gtest prints them).
#pragma once

#include <gmock/gmock.h>

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "common/read/result.h"

namespace imab {

// gtest finds these through argument-dependent lookup.
inline void PrintTo(ErrorCode code, std::ostream* os) {
  *os << ErrorCodeName(code);
}

inline void PrintTo(const Error& error, std::ostream* os) {
  *os << "error " << ErrorCodeName(error.code) << ": \"" << error.message
      << "\"";
}

inline void PrintTo(const Status& status, std::ostream* os) {
  if (status.ok()) {
    *os << "ok";
    return;
  }
  PrintTo(status.error(), os);
}

template <class T>
void PrintTo(const Result<T>& result, std::ostream* os) {
  if (!result.has_value()) {
    PrintTo(result.error(), os);
    return;
  }
  *os << "a value: " << ::testing::PrintToString(result.value());
}

}  // namespace imab

namespace imab::testing {
namespace internal {

// The error of a Status or Result, or null when it holds no error.
template <class StatusOrResult>
const Error* ErrorOf(const StatusOrResult& s) {
  return s.has_value() ? nullptr : &s.error();
}

class IsOkMatcher {
 public:
  template <class StatusOrResult>
  bool MatchAndExplain(const StatusOrResult& s,
                       ::testing::MatchResultListener* listener) const {
    (void)listener;  // gtest prints the error as the actual value
    return ErrorOf(s) == nullptr;
  }
  void DescribeTo(std::ostream* os) const { *os << "is ok"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is an error"; }
};

template <class R>
struct ResultValue;
template <class T>
struct ResultValue<Result<T>> {
  using type = T;
};

// HasValue(m) for one Result<T>, with `m` cast to a matcher of T.
template <class ResultRef>
class HasValueMatcherImpl : public ::testing::MatcherInterface<ResultRef> {
 public:
  using T = typename ResultValue<std::decay_t<ResultRef>>::type;

  explicit HasValueMatcherImpl(::testing::Matcher<const T&> value)
      : value_(std::move(value)) {}

  bool MatchAndExplain(
      ResultRef r, ::testing::MatchResultListener* listener) const override {
    if (!r.has_value()) {
      return false;  // gtest prints the error as the actual value
    }
    return value_.MatchAndExplain(r.value(), listener);
  }
  void DescribeTo(std::ostream* os) const override {
    *os << "has a value that ";
    value_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "is an error or has a value that ";
    value_.DescribeNegationTo(os);
  }

 private:
  ::testing::Matcher<const T&> value_;
};

template <class ValueMatcher>
class HasValueMatcher {
 public:
  explicit HasValueMatcher(ValueMatcher value) : value_(std::move(value)) {}

  template <class ResultRef>
  operator ::testing::Matcher<ResultRef>() const {  // NOLINT: as gMock's own
    using T = typename HasValueMatcherImpl<ResultRef>::T;
    return ::testing::Matcher<ResultRef>(new HasValueMatcherImpl<ResultRef>(
        ::testing::SafeMatcherCast<const T&>(value_)));
  }

 private:
  ValueMatcher value_;
};

class StatusIsMatcher {
 public:
  StatusIsMatcher(ErrorCode code,
                  ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <class StatusOrResult>
  bool MatchAndExplain(const StatusOrResult& s,
                       ::testing::MatchResultListener* listener) const {
    // gtest prints `s` (code name and message) as the actual value; say
    // which half differs.
    const Error* error = ErrorOf(s);
    if (error == nullptr) {
      return false;
    }
    if (error->code != code_) {
      *listener << "whose code is not " << ErrorCodeName(code_);
      return false;
    }
    if (!message_.Matches(error->message)) {
      *listener << "whose message does not match";
      return false;
    }
    return true;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "is error " << ErrorCodeName(code_) << " with a message that ";
    message_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "is not error " << ErrorCodeName(code_) << " or has a message that ";
    message_.DescribeNegationTo(os);
  }

 private:
  ErrorCode code_;
  ::testing::Matcher<const std::string&> message_;
};

}  // namespace internal

// Matches a Status that is ok or a Result that holds a value.
inline ::testing::PolymorphicMatcher<internal::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(internal::IsOkMatcher());
}

// Matches a Result that holds a value (HasValue()) or a value that `value`
// matches (HasValue(Eq(3))).
template <class ValueMatcher>
internal::HasValueMatcher<ValueMatcher> HasValue(ValueMatcher value) {
  return internal::HasValueMatcher<ValueMatcher>(std::move(value));
}
inline auto HasValue() { return HasValue(::testing::_); }

// Matches a Status or Result holding an error of `code` whose message
// `message` matches (a matcher such as HasSubstr("x"), or a whole string).
template <class MessageMatcher>
::testing::PolymorphicMatcher<internal::StatusIsMatcher> StatusIs(
    ErrorCode code, MessageMatcher&& message) {
  return ::testing::MakePolymorphicMatcher(internal::StatusIsMatcher(
      code, ::testing::SafeMatcherCast<const std::string&>(
                std::forward<MessageMatcher>(message))));
}
inline ::testing::PolymorphicMatcher<internal::StatusIsMatcher> StatusIs(
    ErrorCode code) {
  return StatusIs(code, ::testing::_);
}

}  // namespace imab::testing
