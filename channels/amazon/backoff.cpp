#include "channels/amazon/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace shelfsync::amazon {

std::chrono::milliseconds backoff_delay(const backoff_policy& policy,
                                        uint32_t attempt, double unit) {
  double base = static_cast<double>(policy.initial.count()) *
                std::pow(std::max(1.0, policy.multiplier),
                         static_cast<double>(std::min<uint32_t>(attempt, 63)));
  base = std::min(base, static_cast<double>(policy.max.count()));
  unit = std::clamp(unit, 0.0, 1.0);
  return std::chrono::milliseconds{
      static_cast<int64_t>(base / 2 + unit * base / 2)};
}

backoff::backoff(backoff_policy policy, uint64_t seed)
    : policy_(policy), rng_(seed) {}

std::chrono::milliseconds backoff::next() {
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  return backoff_delay(policy_, attempts_++, unit(rng_));
}

std::chrono::milliseconds backoff::next(std::chrono::milliseconds at_least) {
  return std::max(next(), at_least);
}

std::chrono::milliseconds poll_delay(std::chrono::milliseconds feed_poll,
                                     uint32_t poll) {
  auto limit = feed_poll * 10;
  auto d = feed_poll;
  for (uint32_t i = 0; i < poll && d < limit; ++i)
    d *= 2;
  return std::min(d, limit);
}

} // namespace shelfsync::amazon
