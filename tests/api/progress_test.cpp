// The progress line of import on a terminal.
#include "api/progress.hpp"

#include <gtest/gtest.h>

using namespace shelfsync;

TEST(import_progress, shows_percent_rate_and_eta) {
  EXPECT_EQ(import_progress(12000, 48000, 2.0),
            "importing 12000/48000 events (25%), 6000/s, ETA 0m06s");
  EXPECT_EQ(import_progress(1000, 601000, 1.0),
            "importing 1000/601000 events (0%), 1000/s, ETA 10m00s");
}

TEST(import_progress, shows_no_rate_from_a_tiny_first_interval) {
  // 1000 events in a millisecond would read 1000000/s, and an ETA of
  // nothing: until min_rate_seconds have passed there is no rate.
  auto first = import_progress(1000, 1000000, 0.001);
  EXPECT_EQ(first, "importing 1000/1000000 events (0%)");
  EXPECT_EQ(import_progress(1000, 1000000, min_rate_seconds * 0.99), first);
  EXPECT_NE(import_progress(1000, 1000000, min_rate_seconds).find("ETA"),
            std::string::npos);
}

TEST(import_progress, ends_at_100_percent) {
  EXPECT_EQ(import_progress(500, 500, 0.1), "importing 500/500 events (100%)");
  EXPECT_EQ(import_progress(0, 0, 0.1), "importing 0/0 events (100%)");
}
