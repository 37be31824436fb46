#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/messages.hpp"

namespace shelfsync {

/// The engine's counters, shared by the HTTP API and the import command.
class metrics {
 public:
  /// Upper bounds of the batch latency histogram, in seconds.
  static constexpr std::array<double, 10> latency_buckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

  /// Counts one answered batch and how long acceptance took.
  void batch_done(uint64_t accepted, uint64_t duplicates, double seconds);

  /// Counts one refused batch of `events` events.
  void batch_rejected(uint64_t events);

  /// Renders everything in the Prometheus text format, with the outbox depth
  /// of each shop from `shops`.
  std::string render(const std::vector<shop_status>& shops) const;

 private:
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> rejected_events_{0};
  std::atomic<uint64_t> rejected_batches_{0};
  std::array<std::atomic<uint64_t>, latency_buckets.size() + 1> buckets_{};
  std::atomic<uint64_t> latency_count_{0};
  std::atomic<uint64_t> latency_sum_us_{0};
};

} // namespace shelfsync
