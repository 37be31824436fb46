#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>

namespace shelfsync::amazon {

/// The SP-API operations shelfsync calls, each with its own token bucket.
enum class operation {
  create_feed_document,
  create_feed,
  get_feed,
  get_feeds,
  cancel_feed,
  get_feed_document,
  patch_listings_item,
  /// Not an HTTP operation: the extra JSON_LISTINGS_FEED limit on createFeed.
  json_listings_feed_submission,
};

/// Number of enumerators of `operation`.
inline constexpr size_t operation_count = 8;

/// Returns the operation's SP-API name, e.g. "createFeed".
std::string_view to_string(operation op);

/// A token bucket's shape: `rate` tokens per second, at most `burst`.
struct rate_spec {
  double rate = 0;
  double burst = 0;
};

/// The default usage plan of `op` (reference §1, §2, §5):
/// createFeedDocument 0.5/s burst 15; createFeed 0.0083/s burst 15;
/// getFeed 2/s burst 15; getFeeds 0.0222/s burst 10; cancelFeed 2/s burst 15;
/// getFeedDocument 0.0222/s burst 10; patchListingsItem 5/s burst 5;
/// JSON_LISTINGS_FEED submissions 5 per 300 s (rate 1/60, burst 5).
rate_spec default_rate(operation op);

/// The usage plans of every operation, indexed by `operation`.
using rate_table = std::array<rate_spec, operation_count>;

/// Returns the table of default_rate() for every operation.
rate_table default_rates();

/// The clock every rate model runs on.
using rate_clock = std::chrono::steady_clock;

/// A token bucket as SP-API describes it: tokens refill continuously at
/// `rate` per second up to `burst`; a request takes one; an empty bucket
/// means 429. Not thread-safe.
class token_bucket {
 public:
  /// A full bucket at `now`.
  token_bucket(rate_spec spec, rate_clock::time_point now);

  /// Takes a token if one is available at `now`.
  bool try_take(rate_clock::time_point now);

  /// How long from `now` until a token is available (zero if one is).
  rate_clock::duration wait_time(rate_clock::time_point now) const;

  /// Tokens available at `now` (fractional).
  double tokens(rate_clock::time_point now) const;

  /// Empties the bucket and keeps it closed until at least `until`.
  void exhaust(rate_clock::time_point now, rate_clock::time_point until);

  /// Changes the refill rate, e.g. from an x-amzn-RateLimit-Limit header.
  void set_rate(double rate, rate_clock::time_point now);

  const rate_spec& spec() const { return spec_; }

 private:
  void refill(rate_clock::time_point now);

  rate_spec spec_;
  double tokens_;
  rate_clock::time_point updated_;
  rate_clock::time_point closed_until_;
};

/// The client's model of its SP-API budget for one seller: one bucket per
/// operation, so that calls are spread out instead of earning 429s.
/// Thread-safe.
///
/// The model refills at `headroom` times Amazon's rate: at exactly Amazon's
/// rate, a request that travels faster than the one before it arrives before
/// Amazon's bucket has refilled and earns a 429.
class rate_limiter {
 public:
  /// Returns the current time; replaceable for tests.
  using now_function = std::function<rate_clock::time_point()>;

  /// Default share of Amazon's rate the model uses.
  static constexpr double default_headroom = 0.9;

  explicit rate_limiter(rate_table rates = default_rates(),
                        double headroom = default_headroom,
                        now_function now = {});

  /// How long until `op` may be called (zero if now). For createFeed this
  /// includes the JSON_LISTINGS_FEED submission bucket.
  rate_clock::duration delay(operation op) const;

  /// Takes a token for `op` if one is available now; createFeed takes from
  /// both of its buckets or from neither.
  bool try_acquire(operation op);

  /// Blocks until `op` may be called, then takes its token(s).
  void wait_for(operation op);

  /// Records a 429 for `op`: empties its bucket(s) and keeps them closed for
  /// `retry_after` when the answer named one, otherwise until one token
  /// refills at the modelled rate.
  void note_429(operation op,
                std::optional<rate_clock::duration> retry_after = {});

  /// Adopts the rate Amazon announced in x-amzn-RateLimit-Limit for `op`
  /// (times headroom).
  void note_rate_limit(operation op, double rate);

  /// The bucket shape currently modelled for `op` (rate times headroom).
  rate_spec spec(operation op) const;

 private:
  rate_clock::time_point now() const;
  rate_clock::duration delay_locked(operation op,
                                    rate_clock::time_point now) const;

  double headroom_;
  now_function now_;
  mutable std::mutex mtx_;
  std::array<std::optional<token_bucket>, operation_count> buckets_;
};

} // namespace shelfsync::amazon
