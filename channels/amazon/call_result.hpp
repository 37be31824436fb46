#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "net/client.hpp"
#include "net/message.hpp"

namespace shelfsync::amazon {

/// What the caller should do about a call's outcome.
enum class call_status {
  /// The call did what it was asked.
  ok,
  /// 429 QuotaExceeded (or the local rate model refused to call): retry after
  /// retry_after, or after backoff when there is none.
  throttled,
  /// 5xx, timeout, dropped connection, unreachable host: retry with backoff.
  retryable,
  /// 4xx other than 429 (bad input, refused credentials, unknown id): do not
  /// retry unchanged; report Amazon's code and message.
  permanent,
};

/// Returns "ok", "throttled", "retryable" or "permanent".
std::string_view to_string(call_status status);

/// Why a call did not succeed, as Amazon (or the network) said it.
struct call_error {
  call_status status = call_status::retryable;
  /// The HTTP status, or 0 when no response arrived (or no request was sent).
  int http_status = 0;
  /// Amazon's error code ("QuotaExceeded", "Unauthorized", "InvalidInput",
  /// LWA's "invalid_grant"), or the transport failure ("timeout",
  /// "connection_dropped", ...), or "RateModel" for a local refusal.
  std::string code;
  /// Amazon's message, or a sentence about the failure. Never holds secrets.
  std::string message;
  /// Amazon's details, when given.
  std::string details;
  /// x-amzn-RequestId, when given; quote it to Amazon support.
  std::string request_id;
  /// When to try again, from Retry-After or the local rate model.
  std::optional<std::chrono::milliseconds> retry_after;
  /// x-amzn-RateLimit-Limit, when given.
  std::optional<double> rate_limit;
  /// False when the request certainly never reached the server (a retry is
  /// always safe); true when the server may have acted on it.
  bool sent = true;
};

/// One line for logs: "createFeed: throttled (429 QuotaExceeded: You
/// exceeded your quota...)".
std::string to_string(const call_error& error);

/// Either a value of T or a call_error.
template<class T>
class call_result {
 public:
  call_result(T value) : value_(std::move(value)) {}
  call_result(call_error error) : value_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(value_); }
  explicit operator bool() const { return ok(); }

  /// ok, or the error's status.
  call_status status() const { return ok() ? call_status::ok : error().status; }

  /// Requires ok().
  T& value() { return std::get<T>(value_); }
  const T& value() const { return std::get<T>(value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// Requires !ok().
  const call_error& error() const { return std::get<call_error>(value_); }

 private:
  std::variant<T, call_error> value_;
};

/// The value of a call that returns nothing.
struct done {};

/// Classifies an SP-API response that is not 2xx: reads the ErrorList body
/// `{"errors":[{"code","message","details"}]}` and the x-amzn-RequestId,
/// x-amzn-RateLimit-Limit and Retry-After headers.
call_error classify_sp_api_error(const http::response& res);

/// Classifies a request that got no response (always retryable).
call_error classify_transport_error(const http::client_error& err);

/// Reads x-amzn-RateLimit-Limit from any response, when present.
std::optional<double> rate_limit_header(const http::response& res);

} // namespace shelfsync::amazon
