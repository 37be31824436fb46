#include "channels/amazon/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace shelfsync::amazon {

std::string_view to_string(operation op) {
  switch (op) {
  case operation::create_feed_document:
    return "createFeedDocument";
  case operation::create_feed:
    return "createFeed";
  case operation::get_feed:
    return "getFeed";
  case operation::get_feeds:
    return "getFeeds";
  case operation::cancel_feed:
    return "cancelFeed";
  case operation::get_feed_document:
    return "getFeedDocument";
  case operation::patch_listings_item:
    return "patchListingsItem";
  case operation::json_listings_feed_submission:
    return "JSON_LISTINGS_FEED submission";
  }
  return "unknown";
}

rate_spec default_rate(operation op) {
  switch (op) {
  case operation::create_feed_document:
    return {0.5, 15};
  case operation::create_feed:
    return {0.0083, 15};
  case operation::get_feed:
    return {2, 15};
  case operation::get_feeds:
    return {0.0222, 10};
  case operation::cancel_feed:
    return {2, 15};
  case operation::get_feed_document:
    return {0.0222, 10};
  case operation::patch_listings_item:
    return {5, 5};
  case operation::json_listings_feed_submission:
    return {5.0 / 300.0, 5};
  }
  return {1, 1};
}

rate_table default_rates() {
  rate_table out;
  for (size_t i = 0; i < operation_count; ++i)
    out[i] = default_rate(static_cast<operation>(i));
  return out;
}

// -- token_bucket -------------------------------------------------------------

token_bucket::token_bucket(rate_spec spec, rate_clock::time_point now)
    : spec_(spec), tokens_(spec.burst), updated_(now), closed_until_(now) {}

void token_bucket::refill(rate_clock::time_point now) {
  if (now <= updated_) return;
  auto from = std::max(updated_, closed_until_);
  if (now > from) {
    std::chrono::duration<double> dt = now - from;
    tokens_ = std::min(spec_.burst, tokens_ + dt.count() * spec_.rate);
  }
  updated_ = now;
}

double token_bucket::tokens(rate_clock::time_point now) const {
  auto copy = *this;
  copy.refill(now);
  return copy.tokens_;
}

bool token_bucket::try_take(rate_clock::time_point now) {
  refill(now);
  if (now < closed_until_ || tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

rate_clock::duration token_bucket::wait_time(rate_clock::time_point now) const {
  auto copy = *this;
  copy.refill(now);
  rate_clock::duration closed{0};
  if (now < closed_until_) closed = closed_until_ - now;
  if (copy.tokens_ >= 1.0) return closed;
  if (spec_.rate <= 0) return rate_clock::duration::max();
  // Refill starts when the bucket reopens.
  std::chrono::duration<double> refill{(1.0 - copy.tokens_) / spec_.rate};
  return closed + std::chrono::ceil<rate_clock::duration>(refill);
}

void token_bucket::exhaust(rate_clock::time_point now,
                           rate_clock::time_point until) {
  refill(now);
  tokens_ = 0;
  closed_until_ = std::max(closed_until_, until);
}

void token_bucket::set_rate(double rate, rate_clock::time_point now) {
  refill(now);
  if (rate > 0) spec_.rate = rate;
}

// -- rate_limiter -------------------------------------------------------------

rate_limiter::rate_limiter(rate_table rates, double headroom, now_function now)
    : headroom_(headroom > 0 && headroom <= 1 ? headroom : default_headroom),
      now_(std::move(now)) {
  auto t = this->now();
  for (size_t i = 0; i < operation_count; ++i)
    buckets_[i].emplace(rate_spec{rates[i].rate * headroom_, rates[i].burst},
                        t);
}

rate_clock::time_point rate_limiter::now() const {
  return now_ ? now_() : rate_clock::now();
}

rate_clock::duration
rate_limiter::delay_locked(operation op, rate_clock::time_point t) const {
  auto d = buckets_[static_cast<size_t>(op)]->wait_time(t);
  if (op == operation::create_feed)
    d = std::max(
        d,
        buckets_[static_cast<size_t>(operation::json_listings_feed_submission)]
            ->wait_time(t));
  return d;
}

rate_clock::duration rate_limiter::delay(operation op) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return delay_locked(op, now());
}

bool rate_limiter::try_acquire(operation op) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto t = now();
  if (delay_locked(op, t) > rate_clock::duration::zero()) return false;
  buckets_[static_cast<size_t>(op)]->try_take(t);
  if (op == operation::create_feed)
    buckets_[static_cast<size_t>(operation::json_listings_feed_submission)]
        ->try_take(t);
  return true;
}

void rate_limiter::wait_for(operation op) {
  while (!try_acquire(op)) {
    auto d = delay(op);
    std::this_thread::sleep_for(
        std::max<rate_clock::duration>(d, std::chrono::milliseconds{1}));
  }
}

void rate_limiter::note_429(operation op,
                            std::optional<rate_clock::duration> retry_after) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto t = now();
  auto close = [&](operation which) {
    auto& bucket = *buckets_[static_cast<size_t>(which)];
    auto until = t;
    if (retry_after) until += *retry_after;
    bucket.exhaust(t, until);
  };
  close(op);
  // Amazon's 429 does not say which of createFeed's two limits was hit.
  if (op == operation::create_feed)
    close(operation::json_listings_feed_submission);
}

void rate_limiter::note_rate_limit(operation op, double rate) {
  std::lock_guard<std::mutex> guard{mtx_};
  buckets_[static_cast<size_t>(op)]->set_rate(rate * headroom_, now());
}

rate_spec rate_limiter::spec(operation op) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return buckets_[static_cast<size_t>(op)]->spec();
}

} // namespace shelfsync::amazon
