#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "simulators/shopify/execute.hpp"
#include "simulators/shopify/store.hpp"
#include "simulators/shopify/simulator.hpp"

namespace shelfsync::shopify {

/// Everything the simulator keeps per shop (guarded by simulator::mtx_).
struct simulator::shop_state {
  using clock = std::chrono::steady_clock;

  std::string access_token;
  sim_bucket_config bucket;
  /// Points in the bucket at `refilled`.
  double available = 2000;
  clock::time_point refilled = clock::now();
  sim::store inventory;
  std::map<std::string, sim::idempotency_record> idempotency;
  sim_faults faults;
  /// Draws the random faults (seeded from faults.random_seed).
  std::mt19937_64 fault_rng{0};
  sim_fault_counts injected;
  std::vector<sim_request_record> log;

  /// Leaks the points restored since the last refill into the bucket.
  void refill(clock::time_point now) {
    auto dt = std::chrono::duration<double>(now - refilled).count();
    if (dt > 0)
      available =
          std::min(bucket.maximum, available + dt * bucket.restore_rate);
    refilled = now;
  }

  /// A point count as Shopify prints it: whole numbers as integers.
  static sim::json points(double p) {
    auto whole = static_cast<int64_t>(p);
    if (static_cast<double>(whole) == p) return whole;
    return p;
  }

  /// Shopify's `throttleStatus` object (available points rounded down).
  sim::json throttle_status() const {
    return {{"maximumAvailable", points(bucket.maximum)},
            {"currentlyAvailable", static_cast<int64_t>(available)},
            {"restoreRate", points(bucket.restore_rate)}};
  }
};

/// How the simulator answers one request.
struct simulator::reply {
  http::response res;
  /// Close the connection instead of answering.
  bool drop = false;
  /// Hold the answer (or the drop) back this long.
  std::chrono::milliseconds delay{0};
};

} // namespace shelfsync::shopify
