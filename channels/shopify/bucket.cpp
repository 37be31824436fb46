#include "channels/shopify/bucket.hpp"

#include <algorithm>
#include <cmath>

namespace shelfsync::shopify {

bucket_model::bucket_model(double maximum, double restore_rate)
    : maximum_(maximum), restore_rate_(restore_rate), available_(maximum),
      at_(clock::now()) {}

void bucket_model::observe(const throttle_status& s, clock::time_point at) {
  if (s.maximum_available > 0) maximum_ = s.maximum_available;
  if (s.restore_rate > 0) restore_rate_ = s.restore_rate;
  available_ = std::clamp(s.currently_available, 0.0, maximum_);
  at_ = at;
}

void bucket_model::spend(double cost, clock::time_point at) {
  available_ = available(at) - cost;
  at_ = std::max(at, at_);
}

double bucket_model::available(clock::time_point now) const {
  if (now <= at_) return available_;
  auto dt = std::chrono::duration<double>(now - at_).count();
  return std::min(maximum_, available_ + dt * restore_rate_);
}

bool bucket_model::can_afford(double cost, clock::time_point now) const {
  return available(now) >= cost;
}

bucket_model::clock::duration
bucket_model::wait_for(double cost, clock::time_point now) const {
  auto have = available(now);
  auto target = std::min(cost, maximum_);
  if (have >= target && cost <= maximum_) return clock::duration::zero();
  auto seconds = (target - have) / restore_rate_;
  if (seconds <= 0) return clock::duration::zero();
  return std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(seconds));
}

double bucket_model::max_request_cost() const {
  return std::min(1000.0, maximum_);
}

double cost_estimator::estimate(request_kind k, double formula) const {
  auto i = ratio_.find(k);
  return std::ceil(formula * (i == ratio_.end() ? 1.0 : i->second));
}

void cost_estimator::learn(request_kind k, double formula, double requested) {
  if (formula > 0 && requested > 0) ratio_[k] = requested / formula;
}

} // namespace shelfsync::shopify
