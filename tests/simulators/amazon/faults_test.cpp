// The simulator's random fault switches: seeded, counted, and striking only
// where Amazon answers in the shape they produce.
#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "simulators/amazon/simulator.hpp"
#include "net/client.hpp"

using namespace shelfsync;
using namespace shelfsync::amazon;
using nlohmann::json;

namespace {

struct sim_faults_test : ::testing::Test {
  simulator sim{simulator_config{}};
  simulator_server server{sim};

  /// Sends `method path` `n` times (no token: what gets through is 403).
  void send(http::verb method, const std::string& path, int n) {
    http::client c{*http::parse_url(server.base_url())};
    for (int i = 0; i < n; ++i)
      c.send(http::make_json_request(method, path, "{}"));
  }

  /// The statuses of the requests logged so far (0: dropped).
  std::vector<int> statuses() {
    std::vector<int> out;
    for (auto& r : sim.requests())
      out.push_back(r.status);
    return out;
  }

  json post_faults(const std::string& body) {
    http::client c{*http::parse_url(server.base_url())};
    auto r = c.send(
        http::make_json_request(http::verb::post, "/_sim/amazon/faults", body));
    EXPECT_TRUE(r);
    return json::parse(r.value().body(), nullptr, false);
  }
};

} // namespace

TEST_F(sim_faults_test, random_faults_follow_their_seed_and_are_counted) {
  auto set = post_faults(R"({"random_seed": 11, "drop_rate": 0.2,
    "fail_rate": 0.25, "throttle_rate": 0.25, "slow_rate": 0.2,
    "slow_ms": 5})");
  EXPECT_EQ(set["fail_rate"], 0.25);
  send(http::verb::get, "/feeds/2021-06-30/feeds/123", 40);
  auto first = statuses();
  ASSERT_EQ(first.size(), 40u);
  auto count = [&](int status) {
    return static_cast<uint64_t>(
        std::count(first.begin(), first.end(), status));
  };
  auto injected = sim.injected();
  EXPECT_EQ(injected.dropped, count(0));
  EXPECT_EQ(injected.failed, count(503));
  EXPECT_EQ(injected.throttled, count(429));
  EXPECT_GT(injected.dropped, 0u);
  EXPECT_GT(injected.failed, 0u);
  EXPECT_GT(injected.throttled, 0u);
  EXPECT_GT(injected.slowed, 0u);
  EXPECT_GT(count(403), 0u) << "requests without faults are carried out";
  EXPECT_EQ(post_faults("{}")["injected"]["failed"], injected.failed);

  // The same seed and request order meet the same faults.
  post_faults(R"({"random_seed": 11})");
  send(http::verb::get, "/feeds/2021-06-30/feeds/123", 40);
  auto both = statuses();
  EXPECT_EQ(std::vector<int>(both.begin() + 40, both.end()), first);
}

TEST_F(sim_faults_test, random_throttles_spare_the_slow_operations) {
  // createFeed allows 1 request per 2 minutes: a 429 there would cost a
  // client a minute. Other faults still strike it.
  post_faults(R"({"random_seed": 5, "throttle_rate": 0.5, "fail_rate": 0.5})");
  send(http::verb::post, "/feeds/2021-06-30/feeds", 30);
  auto all = statuses();
  EXPECT_EQ(std::count(all.begin(), all.end(), 429), 0);
  EXPECT_GT(std::count(all.begin(), all.end(), 503), 0);
  EXPECT_EQ(sim.injected().throttled, 0u);
}

TEST_F(sim_faults_test, random_errors_keep_off_lwa_and_rates_are_checked) {
  post_faults(R"({"random_seed": 5, "fail_rate": 1})");
  send(http::verb::post, "/auth/o2/token", 5);
  for (auto s : statuses())
    EXPECT_NE(s, 503) << "LWA does not answer in SP-API's error shape";
  EXPECT_TRUE(post_faults(R"({"fail_rate": 1.5})").contains("error"));
  EXPECT_TRUE(
      post_faults(R"({"fail_rate": 0.6, "drop_rate": 0.6})").contains("error"));
}
