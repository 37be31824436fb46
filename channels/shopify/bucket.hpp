#pragma once

#include <chrono>
#include <map>

#include "channels/shopify/wire.hpp"

namespace shelfsync::shopify {

/// The client's model of a shop's leaky bucket (calculated query cost
/// points), so that a request is only sent when Shopify will accept it.
/// Shopify is the authority: every answer's throttleStatus replaces the
/// model; between answers the bucket refills at the restore rate. Not
/// thread-safe; one per shop, owned by the shop's sending thread.
class bucket_model {
 public:
  using clock = std::chrono::steady_clock;

  /// Starts full, with the Standard plan's figures until Shopify says
  /// otherwise.
  explicit bucket_model(double maximum = 2000, double restore_rate = 100);

  /// Takes the state from an answer received at `at`. The status was
  /// computed a little earlier on Shopify's side, so the model errs low.
  void observe(const throttle_status& s, clock::time_point at);

  /// Takes `cost` points for a request sent at `at`; the answer's
  /// throttleStatus later replaces the guess (also after a lost answer the
  /// points stay taken, as Shopify may have charged them).
  void spend(double cost, clock::time_point at);

  /// Points available at `now`.
  double available(clock::time_point now) const;

  /// True when a request of `cost` would not be THROTTLED at `now`.
  bool can_afford(double cost, clock::time_point now) const;

  /// How long until `cost` points are available (zero when they are). A
  /// cost above the bucket's size can never be afforded: the time until
  /// the bucket is full is returned, and the request must be split.
  clock::duration wait_for(double cost, clock::time_point now) const;

  /// `maximumAvailable`.
  double maximum() const { return maximum_; }
  /// `restoreRate` in points per second.
  double restore_rate() const { return restore_rate_; }
  /// The largest requested cost one query may have: Shopify refuses more
  /// than 1000, and the bucket must hold it.
  double max_request_cost() const;

 private:
  double maximum_;
  double restore_rate_;
  double available_;
  clock::time_point at_;
};

/// The kinds of request the client sends, for cost learning.
enum class request_kind {
  lookup,
  sku_candidates,
  read_levels,
  levels_page,
  push
};

/// Estimates a request's requestedQueryCost before sending it: the wire's
/// formula, scaled by how far Shopify's charge for the last request of the
/// same kind was from the formula.
class cost_estimator {
 public:
  /// The estimate for a request whose formula gives `formula`.
  double estimate(request_kind k, double formula) const;
  /// Learns from an answer: Shopify charged `requested` for `formula`.
  void learn(request_kind k, double formula, double requested);

 private:
  std::map<request_kind, double> ratio_;
};

} // namespace shelfsync::shopify
