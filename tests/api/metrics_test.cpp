#include "api/metrics.hpp"

#include <cstring>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "api/version.hpp"

using namespace shelfsync;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

} // namespace

TEST(metrics, renders_counters_histogram_and_channel_figures) {
  metrics m;
  m.batch_done(10, 2, 0.003);
  m.batch_done(5, 0, 2.0);
  m.batch_rejected(7);
  shop_status eu;
  eu.shop = "eu-store";
  eu.pending = 4;
  eu.in_flight = 1;
  eu.details = R"({"budget": {"maximum": 2000},
                   "metrics": {"requests": 12, "bucket_available": 1500.5,
                               "latency_ms_p99": 80, "odd_total": 3,
                               "bad name": 1, "label": "text"},
                   "histograms": {"request_seconds": {"le": [0.1, 1],
                                                      "counts": [2, 1, 1],
                                                      "sum": 3.5,
                                                      "count": 4}}})";
  auto text = m.render({eu});
  auto has = [&](const std::string& line) {
    return has_line(text, line);
  };
  EXPECT_TRUE(has("shelfsync_events_accepted_total 15"));
  EXPECT_TRUE(has("shelfsync_events_duplicate_total 2"));
  EXPECT_TRUE(has("shelfsync_events_rejected_total 7"));
  EXPECT_TRUE(has("# TYPE shelfsync_batch_seconds histogram"));
  EXPECT_TRUE(has("shelfsync_batch_seconds_bucket{le=\"0.005\"} 1"));
  EXPECT_TRUE(has("shelfsync_batch_seconds_bucket{le=\"1\"} 1"));
  EXPECT_TRUE(has("shelfsync_batch_seconds_bucket{le=\"+Inf\"} 2"));
  EXPECT_TRUE(has("shelfsync_batch_seconds_count 2"));
  EXPECT_TRUE(has("shelfsync_outbox_depth{shop=\"eu-store\"} 4"));
  EXPECT_TRUE(has("shelfsync_in_flight{shop=\"eu-store\"} 1"));
  // Channel counts are counters named *_total; levels are gauges.
  EXPECT_TRUE(has("# TYPE shelfsync_channel_requests_total counter"));
  EXPECT_TRUE(has("shelfsync_channel_requests_total{shop=\"eu-store\"} 12"));
  EXPECT_TRUE(has("# TYPE shelfsync_channel_budget_available gauge"));
  EXPECT_TRUE(
      has("shelfsync_channel_budget_available{shop=\"eu-store\"} 1500.5"));
  EXPECT_TRUE(has("# TYPE shelfsync_channel_odd_total counter"));
  // Durations are histograms in seconds, never precomputed percentiles.
  EXPECT_TRUE(has("# TYPE shelfsync_channel_request_seconds histogram"));
  EXPECT_TRUE(has("shelfsync_channel_request_seconds_bucket{shop=\"eu-store\","
                  "le=\"0.1\"} 2"));
  EXPECT_TRUE(has("shelfsync_channel_request_seconds_bucket{shop=\"eu-store\","
                  "le=\"+Inf\"} 4"));
  EXPECT_TRUE(has("shelfsync_channel_request_seconds_count{shop=\"eu-store\"} "
                  "4"));
  EXPECT_EQ(text.find("latency_ms"), std::string::npos);
  EXPECT_EQ(text.find("bad name"), std::string::npos);
  EXPECT_EQ(text.find("shelfsync_channel_label"), std::string::npos);
}

TEST(metrics, every_family_has_help_and_type) {
  metrics m;
  shop_status eu;
  eu.shop = "eu-store";
  eu.details = R"({"metrics": {"requests": 1, "something_new": 2}})";
  auto text = m.render({eu});
  std::istringstream lines{text};
  std::set<std::string> helped;
  std::set<std::string> typed;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    auto name = line.substr(0, line.find_first_of("{ "));
    for (auto suffix : {"_bucket", "_sum", "_count"})
      if (!typed.count(name) && name.size() > std::strlen(suffix) &&
          name.compare(name.size() - std::strlen(suffix), std::string::npos,
                       suffix) == 0)
        name.resize(name.size() - std::strlen(suffix));
    EXPECT_TRUE(helped.count(name)) << "no HELP before " << line;
    EXPECT_TRUE(typed.count(name)) << "no TYPE before " << line;
  }
  EXPECT_TRUE(has_line(text, std::string{"shelfsync_build_info{version=\""} +
                                 version() + "\"} 1"));
  for (auto family :
       {"process_cpu_seconds_total", "process_open_fds",
        "process_resident_memory_bytes", "process_start_time_seconds"})
    EXPECT_TRUE(typed.count(family)) << family;
}
