#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace shelfsync {

/// A duration histogram in seconds with fixed upper bounds, in the shape
/// Prometheus exports: a count per bucket, the sum and the number observed.
/// Not thread-safe (each owner is one actor).
struct seconds_histogram {
  /// Upper bounds in seconds, increasing; an implicit +Inf bucket follows.
  std::vector<double> bounds;
  /// Observations per bucket (not cumulative); bounds.size() + 1 entries.
  std::vector<uint64_t> counts;
  double sum = 0;
  uint64_t count = 0;

  explicit seconds_histogram(std::vector<double> upper_bounds)
      : bounds(std::move(upper_bounds)), counts(bounds.size() + 1, 0) {}

  /// Counts one duration of `seconds`.
  void observe(double seconds) {
    size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i])
      ++i;
    ++counts[i];
    sum += seconds;
    ++count;
  }
};

/// The form a histogram takes in a shop's status details ("histograms"), which
/// GET /metrics renders as a Prometheus histogram.
inline void to_json(nlohmann::json& out, const seconds_histogram& h) {
  out = {{"le", h.bounds},
         {"counts", h.counts},
         {"sum", h.sum},
         {"count", h.count}};
}

} // namespace shelfsync
