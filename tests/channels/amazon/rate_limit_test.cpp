#include "channels/amazon/rate_limit.hpp"

#include <gtest/gtest.h>

using namespace shelfsync::amazon;
using namespace std::chrono_literals;

namespace {

/// A clock the test moves by hand.
struct manual_clock {
  rate_clock::time_point t = rate_clock::time_point{} + 1000h;
  rate_limiter::now_function fn() {
    return [this] {
      return t;
    };
  }
};

} // namespace

TEST(rate_limit, defaults_match_the_reference) {
  EXPECT_DOUBLE_EQ(default_rate(operation::create_feed).rate, 0.0083);
  EXPECT_DOUBLE_EQ(default_rate(operation::create_feed).burst, 15);
  EXPECT_DOUBLE_EQ(default_rate(operation::get_feed).rate, 2);
  EXPECT_DOUBLE_EQ(default_rate(operation::create_feed_document).rate, 0.5);
  EXPECT_DOUBLE_EQ(default_rate(operation::get_feed_document).rate, 0.0222);
  EXPECT_DOUBLE_EQ(default_rate(operation::get_feed_document).burst, 10);
  EXPECT_DOUBLE_EQ(
      default_rate(operation::json_listings_feed_submission).rate * 300, 5);
  EXPECT_DOUBLE_EQ(default_rate(operation::json_listings_feed_submission).burst,
                   5);
}

TEST(token_bucket, burst_then_refill_at_rate) {
  auto t0 = rate_clock::time_point{} + 10s;
  token_bucket b{{2, 3}, t0};
  EXPECT_TRUE(b.try_take(t0));
  EXPECT_TRUE(b.try_take(t0));
  EXPECT_TRUE(b.try_take(t0));
  EXPECT_FALSE(b.try_take(t0));
  EXPECT_EQ(b.wait_time(t0), 500ms);
  EXPECT_FALSE(b.try_take(t0 + 499ms));
  EXPECT_TRUE(b.try_take(t0 + 500ms));
  // Never more than the burst, however long it rests.
  EXPECT_DOUBLE_EQ(b.tokens(t0 + 1h), 3);
}

TEST(rate_limit, create_feed_is_bound_by_five_listings_feeds_per_5_minutes) {
  manual_clock clock;
  rate_limiter limiter{default_rates(), 1.0, clock.fn()};
  // createFeed's own burst is 15, but only 5 JSON_LISTINGS_FEEDs may go.
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(limiter.try_acquire(operation::create_feed)) << i;
  EXPECT_FALSE(limiter.try_acquire(operation::create_feed));
  EXPECT_EQ(limiter.delay(operation::create_feed), 60s);
  clock.t += 60s;
  EXPECT_TRUE(limiter.try_acquire(operation::create_feed));
  EXPECT_FALSE(limiter.try_acquire(operation::create_feed));
  // Other operations are independent.
  EXPECT_EQ(limiter.delay(operation::get_feed), 0s);
}

TEST(rate_limit, note_429_closes_the_bucket_for_retry_after_or_one_token) {
  manual_clock clock;
  rate_limiter limiter{default_rates(), 1.0, clock.fn()};
  limiter.note_429(operation::get_feed, 3s);
  EXPECT_FALSE(limiter.try_acquire(operation::get_feed));
  EXPECT_EQ(limiter.delay(operation::get_feed), 3500ms);
  clock.t += 3500ms;
  EXPECT_TRUE(limiter.try_acquire(operation::get_feed));

  limiter.note_429(operation::create_feed_document);
  EXPECT_EQ(limiter.delay(operation::create_feed_document), 2s);

  limiter.note_429(operation::create_feed);
  EXPECT_GE(limiter.delay(operation::create_feed), 60s);
}

TEST(rate_limit, adopts_the_announced_rate) {
  manual_clock clock;
  auto rates = default_rates();
  rates[static_cast<size_t>(operation::get_feed)] = {2, 1};
  rate_limiter limiter{rates, 1.0, clock.fn()};
  EXPECT_TRUE(limiter.try_acquire(operation::get_feed));
  limiter.note_rate_limit(operation::get_feed, 0.5);
  EXPECT_EQ(limiter.delay(operation::get_feed), 2s);
  EXPECT_DOUBLE_EQ(limiter.spec(operation::get_feed).rate, 0.5);
}

TEST(rate_limit, wait_for_blocks_until_a_token_refills) {
  auto rates = default_rates();
  rates[static_cast<size_t>(operation::get_feed)] = {50, 1};
  rate_limiter limiter{rates};
  limiter.wait_for(operation::get_feed);
  auto start = rate_clock::now();
  limiter.wait_for(operation::get_feed);
  EXPECT_GE(rate_clock::now() - start, 15ms);
}

TEST(rate_limit, headroom_keeps_the_model_below_amazons_rate) {
  manual_clock clock;
  rate_limiter limiter{default_rates(), 0.9, clock.fn()};
  EXPECT_DOUBLE_EQ(limiter.spec(operation::get_feed).rate, 1.8);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(limiter.try_acquire(operation::create_feed));
  // Amazon refills a JSON_LISTINGS_FEED slot every 60 s; the model waits
  // 66.7 s so that the next createFeed cannot arrive early.
  auto wait = limiter.delay(operation::create_feed);
  EXPECT_GT(wait, 66s);
  EXPECT_LT(wait, 67s);
  limiter.note_rate_limit(operation::get_feed, 10);
  EXPECT_DOUBLE_EQ(limiter.spec(operation::get_feed).rate, 9);
}
