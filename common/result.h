// Errors as values across module boundaries (std::expected is C++23; g++ 12
// lacks it). A Result holds either a value or an Error with a message that is
// safe to log (never a secret).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace tlsrelay {

struct Error {
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;
inline Status okStatus() {
  return Ok{};
}
inline Error makeError(std::string message) {
  return Error{std::move(message)};
}

}  // namespace tlsrelay
