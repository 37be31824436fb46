#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace shelfsync::amazon {

/// Shape of an exponential backoff.
struct backoff_policy {
  /// Delay before the first retry, before jitter.
  std::chrono::milliseconds initial{1000};
  /// No delay exceeds this, before jitter.
  std::chrono::milliseconds max{5 * 60 * 1000};
  /// Growth factor per attempt.
  double multiplier = 2.0;
};

/// The delay before retry number `attempt` (0 = first retry): the base
/// min(max, initial * multiplier^attempt) with "equal jitter", i.e. a value
/// drawn uniformly from [base/2, base] using `unit` in [0, 1).
std::chrono::milliseconds backoff_delay(const backoff_policy& policy,
                                        uint32_t attempt, double unit);

/// Counts failures of one thing and hands out jittered delays for them.
class backoff {
 public:
  explicit backoff(backoff_policy policy = {},
                   uint64_t seed = std::random_device{}());

  /// The delay before the next retry; counts an attempt.
  std::chrono::milliseconds next();

  /// The delay before the next retry, but never less than `at_least` (e.g.
  /// a Retry-After the server gave); counts an attempt.
  std::chrono::milliseconds next(std::chrono::milliseconds at_least);

  /// Forgets past failures, after a success.
  void reset() { attempts_ = 0; }

  /// Failures counted since the last reset.
  uint32_t attempts() const { return attempts_; }

 private:
  backoff_policy policy_;
  std::mt19937_64 rng_;
  uint32_t attempts_ = 0;
};

/// When to ask getFeed for the `poll`-th time (0 = first) after the previous
/// ask (or, for the first, after submission): `feed_poll` first, then
/// doubling, never more than 10 × `feed_poll` (product contract §2.9).
std::chrono::milliseconds poll_delay(std::chrono::milliseconds feed_poll,
                                     uint32_t poll);

} // namespace shelfsync::amazon
