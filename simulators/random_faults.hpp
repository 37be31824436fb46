#pragma once

#include <chrono>
#include <cstdint>

/// What the channel simulators share of their fault injection: random faults
/// drawn per request and the count of faults injected. Which requests a kind
/// may strike, and how a fault looks on the wire, is each simulator's own.
namespace shelfsync::http {

/// Random faults: each kind strikes this share (0 to 1) of the requests a
/// simulator finds eligible, drawn from an RNG seeded with `random_seed`, so
/// that one request order always meets the same faults. At most one of drop,
/// fail and throttle strikes a request.
struct random_faults {
  /// The connection is closed unanswered.
  double drop_rate = 0;
  /// The request answers a server error.
  double fail_rate = 0;
  /// The request is throttled.
  double throttle_rate = 0;
  /// The answer is held back `slow` (independent of the above).
  double slow_rate = 0;
  std::chrono::milliseconds slow{0};
  /// Seed of the random faults' RNG; setting it restarts the sequence.
  uint64_t random_seed = 0;

  /// Returns whether any rate is set (else nothing is drawn).
  bool any() const {
    return drop_rate > 0 || fail_rate > 0 || throttle_rate > 0 || slow_rate > 0;
  }
};

/// How many faults a simulator injected, by kind.
struct fault_counts {
  uint64_t throttled = 0;
  uint64_t failed = 0;
  uint64_t dropped = 0;
  uint64_t slowed = 0;
};

/// Adds the rates, `slow_ms`, `random_seed` and `injected` to the JSON
/// object `out`, as the simulators' fault endpoints show them.
template<class Json>
void add_json(Json& out, const random_faults& f, const fault_counts& injected) {
  out["drop_rate"] = f.drop_rate;
  out["fail_rate"] = f.fail_rate;
  out["throttle_rate"] = f.throttle_rate;
  out["slow_rate"] = f.slow_rate;
  out["slow_ms"] = f.slow.count();
  out["random_seed"] = f.random_seed;
  out["injected"] = {{"throttled", injected.throttled},
                     {"failed", injected.failed},
                     {"dropped", injected.dropped},
                     {"slowed", injected.slowed}};
}

} // namespace shelfsync::http
