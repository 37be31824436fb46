#include "channels/shopify/bucket.hpp"

#include <gtest/gtest.h>

#include "channels/shopify/backoff.hpp"

using namespace shelfsync::shopify;
using namespace std::chrono_literals;
using clock_type = bucket_model::clock;

namespace {

TEST(bucket_model, follows_shopify_and_refills_with_time) {
  bucket_model b;
  auto t0 = clock_type::now();
  EXPECT_TRUE(b.can_afford(2000, t0));
  b.observe({1000, 100, 50}, t0);
  EXPECT_EQ(b.maximum(), 1000);
  EXPECT_EQ(b.restore_rate(), 50);
  EXPECT_DOUBLE_EQ(b.available(t0), 100);
  EXPECT_FALSE(b.can_afford(150, t0));
  EXPECT_TRUE(b.can_afford(150, t0 + 1s));
  EXPECT_DOUBLE_EQ(b.available(t0 + 100s), 1000); // never above the maximum
  EXPECT_EQ(b.wait_for(150, t0),
            std::chrono::duration_cast<clock_type::duration>(1s));
  EXPECT_EQ(b.wait_for(50, t0), clock_type::duration::zero());
  EXPECT_EQ(b.max_request_cost(), 1000);
}

TEST(bucket_model, spending_reserves_points_until_the_answer) {
  bucket_model b{2000, 100};
  auto t0 = clock_type::now();
  b.observe({2000, 20, 100}, t0);
  b.spend(13, t0);
  EXPECT_DOUBLE_EQ(b.available(t0), 7);
  EXPECT_FALSE(b.can_afford(13, t0));
  EXPECT_GT(b.wait_for(13, t0), clock_type::duration::zero());
  b.observe({2000, 1990, 100}, t0 + 10ms);
  EXPECT_TRUE(b.can_afford(13, t0 + 10ms));
}

TEST(bucket_model, a_cost_above_the_bucket_waits_for_a_full_bucket) {
  bucket_model b{100, 10};
  auto t0 = clock_type::now();
  b.observe({100, 0, 10}, t0);
  EXPECT_FALSE(b.can_afford(150, t0 + 1h));
  EXPECT_EQ(b.wait_for(150, t0),
            std::chrono::duration_cast<clock_type::duration>(10s));
  EXPECT_EQ(b.max_request_cost(), 100);
}

TEST(cost_estimator, learns_from_requested_cost) {
  cost_estimator c;
  EXPECT_EQ(c.estimate(request_kind::read_levels, 100), 100);
  c.learn(request_kind::read_levels, 100, 150);
  EXPECT_EQ(c.estimate(request_kind::read_levels, 200), 300);
  EXPECT_EQ(c.estimate(request_kind::push, 13), 13);
}

TEST(backoff, grows_exponentially_with_jitter_up_to_the_maximum) {
  backoff b{{100ms, 1s, 2.0, 0.5}, 42};
  auto d0 = b.next();
  EXPECT_GE(d0, 50ms);
  EXPECT_LE(d0, 100ms);
  auto d1 = b.next();
  EXPECT_GE(d1, 100ms);
  EXPECT_LE(d1, 200ms);
  for (int i = 0; i < 10; ++i)
    EXPECT_LE(b.next(), 1s);
  EXPECT_EQ(b.attempts(), 12u);
  b.reset();
  EXPECT_LE(b.next(), 100ms);
}

TEST(backoff, honours_retry_after) {
  backoff b{{100ms, 1s, 2.0, 0.5}, 7};
  EXPECT_EQ(b.next(5s), 5s);
  EXPECT_EQ(parse_retry_after("2.0"),
            std::optional<std::chrono::milliseconds>{2000ms});
  EXPECT_EQ(parse_retry_after(" 1 "),
            std::optional<std::chrono::milliseconds>{1000ms});
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(parse_retry_after(""));
}

} // namespace
