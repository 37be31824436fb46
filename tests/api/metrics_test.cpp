#include "api/metrics.hpp"

#include <gtest/gtest.h>

using namespace shelfsync;

TEST(metrics, renders_counters_histogram_and_channel_figures) {
  metrics m;
  m.batch_done(10, 2, 0.003);
  m.batch_done(5, 0, 2.0);
  m.batch_rejected(7);
  shop_status eu;
  eu.shop = "eu-store";
  eu.pending = 4;
  eu.details = R"({"budget": {"maximum": 2000},
                   "metrics": {"requests": 12, "bucket_available": 1500.5,
                               "bad name": 1, "label": "text"}})";
  auto text = m.render({eu});
  auto has = [&](const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("shelfsync_events_accepted_total 15"));
  EXPECT_TRUE(has("shelfsync_events_duplicate_total 2"));
  EXPECT_TRUE(has("shelfsync_events_rejected_total 7"));
  EXPECT_TRUE(has("shelfsync_batch_seconds_bucket{le=\"0.005\"} 1"));
  EXPECT_TRUE(has("shelfsync_batch_seconds_bucket{le=\"1\"} 1"));
  EXPECT_TRUE(has("shelfsync_batch_seconds_bucket{le=\"+Inf\"} 2"));
  EXPECT_TRUE(has("shelfsync_batch_seconds_count 2"));
  EXPECT_TRUE(has("shelfsync_outbox_depth{shop=\"eu-store\"} 4"));
  EXPECT_TRUE(has("shelfsync_channel_requests{shop=\"eu-store\"} 12"));
  EXPECT_TRUE(
      has("shelfsync_channel_bucket_available{shop=\"eu-store\"} 1500.5"));
  EXPECT_EQ(text.find("bad name"), std::string::npos);
  EXPECT_EQ(text.find("label"), std::string::npos);
}
