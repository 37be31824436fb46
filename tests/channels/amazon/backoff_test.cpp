#include "channels/amazon/backoff.hpp"

#include <set>

#include <gtest/gtest.h>

using namespace shelfsync::amazon;
using namespace std::chrono_literals;

TEST(backoff, grows_exponentially_with_equal_jitter_up_to_max) {
  backoff_policy p{1000ms, 8000ms, 2.0};
  EXPECT_EQ(backoff_delay(p, 0, 0.0), 500ms);
  EXPECT_EQ(backoff_delay(p, 0, 0.999999), 999ms);
  EXPECT_EQ(backoff_delay(p, 2, 0.0), 2000ms);
  EXPECT_EQ(backoff_delay(p, 10, 1.0), 8000ms);
  EXPECT_EQ(backoff_delay(p, 1000, 0.0), 4000ms);
}

TEST(backoff, jitter_spreads_and_reset_restarts) {
  backoff b{{1000ms, 60000ms, 2.0}, 7};
  std::set<int64_t> seen;
  for (int i = 0; i < 5; ++i) {
    backoff fresh{{1000ms, 60000ms, 2.0}, static_cast<uint64_t>(i)};
    seen.insert(fresh.next().count());
  }
  EXPECT_GT(seen.size(), 1u);
  b.next();
  b.next();
  EXPECT_EQ(b.attempts(), 2u);
  EXPECT_GE(b.next(), 2000ms);
  b.reset();
  EXPECT_LE(b.next(), 1000ms);
  EXPECT_EQ(b.next(30s), 30s);
}

TEST(poll_delay, first_at_feed_poll_then_doubling_up_to_ten_times) {
  EXPECT_EQ(poll_delay(15s, 0), 15s);
  EXPECT_EQ(poll_delay(15s, 1), 30s);
  EXPECT_EQ(poll_delay(15s, 2), 60s);
  EXPECT_EQ(poll_delay(15s, 3), 120s);
  EXPECT_EQ(poll_delay(15s, 4), 150s);
  EXPECT_EQ(poll_delay(15s, 100), 150s);
}
