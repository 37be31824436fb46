#include "channels/shopify/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace shelfsync::shopify {

backoff::backoff(backoff_policy policy, uint64_t seed)
    : policy_(policy), rng_(seed) {}

std::chrono::milliseconds
backoff::next(std::optional<std::chrono::milliseconds> retry_after) {
  auto base = static_cast<double>(policy_.initial.count()) *
              std::pow(policy_.multiplier, static_cast<double>(attempt_));
  base = std::min(base, static_cast<double>(policy_.maximum.count()));
  ++attempt_;
  auto jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> dist{base * (1 - jitter), base};
  auto delay = std::chrono::milliseconds{static_cast<int64_t>(dist(rng_))};
  if (retry_after && *retry_after > delay) delay = *retry_after;
  return delay;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v) {
  while (!v.empty() && v.front() == ' ')
    v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ')
    v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  bool dot = false;
  for (char c : v) {
    if (c == '.' && !dot)
      dot = true;
    else if (c < '0' || c > '9')
      return std::nullopt;
  }
  auto seconds = std::stod(std::string{v});
  return std::chrono::milliseconds{
      static_cast<int64_t>(std::ceil(seconds * 1000))};
}

} // namespace shelfsync::shopify
