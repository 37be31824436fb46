#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace shelfsync::shopify {

/// How retries back off.
struct backoff_policy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds maximum{std::chrono::seconds{60}};
  double multiplier = 2.0;
  /// Fraction of each delay that is random: the delay is drawn uniformly
  /// from [(1 - jitter) * d, d].
  double jitter = 0.5;
};

/// Exponential backoff with jitter that honours the server's Retry-After.
/// Not thread-safe; one per retrying caller.
class backoff {
 public:
  explicit backoff(backoff_policy policy = {},
                   uint64_t seed = std::random_device{}());

  /// The delay before the next attempt. A server-given `retry_after` is a
  /// floor: the delay is never shorter, even above `maximum`.
  std::chrono::milliseconds
  next(std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

  /// Starts over after a success.
  void reset() { attempt_ = 0; }

  /// Delays handed out since the last reset.
  uint32_t attempts() const { return attempt_; }

 private:
  backoff_policy policy_;
  std::mt19937_64 rng_;
  uint32_t attempt_ = 0;
};

/// Parses a Retry-After header value given in seconds (Shopify sends
/// "2.0"); nullopt for anything else, e.g. an HTTP date.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v);

} // namespace shelfsync::shopify
