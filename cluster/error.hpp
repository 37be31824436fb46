#pragma once

#include <string>
#include <utility>
#include <variant>

namespace shelfsync::cluster {

/// What kind of failure a NATS call met, for the caller to decide what to do.
enum class errc {
  /// A compare-and-set was refused: someone else wrote first (a lease taken,
  /// a stale revision or expected subject sequence). Never retry blindly.
  conflict,
  /// The key, message or stream does not exist.
  not_found,
  /// No answer in time (an election, a lost quorum, a slow server); the
  /// write may or may not have been stored: retry with the same msg-id.
  timeout,
  /// No connection to any server, or no JetStream responder.
  unavailable,
  /// The call was refused as invalid (bad name, bad argument).
  invalid,
  /// Any other failure; the message says what.
  failure,
};

/// Returns a stable name for `x`: "conflict", "timeout", ...
const char* to_string(errc x);

/// A failure of a NATS call: its kind and one clear line saying what failed.
struct error {
  errc code = errc::failure;
  std::string message;
};

/// Either a value or an error; what every call of this library returns.
template<class T>
class outcome {
 public:
  outcome(T value) : state_(std::move(value)) {}
  outcome(error e) : state_(std::move(e)) {}

  /// Returns whether it holds a value.
  explicit operator bool() const { return state_.index() == 0; }

  /// The value; only when `*this` is true.
  T& value() { return std::get<0>(state_); }
  const T& value() const { return std::get<0>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

  /// The error; only when `*this` is false.
  const error& err() const { return std::get<1>(state_); }

 private:
  std::variant<T, error> state_;
};

/// The value of a call that returns nothing but success.
struct done {};

/// A success or an error.
using status = outcome<done>;

} // namespace shelfsync::cluster
