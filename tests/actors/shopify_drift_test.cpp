// The drift check of a Shopify shop, against the real simulator: a level
// changed behind shelfsync's back is found and set again within the
// interval, the reads stay within their share of the bucket, and a shop
// without the check reads nothing.
#include "tests/actors/shopify_fixture.hpp"

namespace {

class shopify_drift_test : public shopify_shop_test {
 protected:
  /// make_config() with the drift check on.
  config_ptr with_drift(uint32_t percent, uint32_t page) {
    auto c = std::make_shared<config>(*make_config());
    auto& dc = c->shops[0].shopify.drift_check;
    dc.enabled = true;
    dc.interval_seconds = 1;
    dc.budget_percent = percent;
    dc.page_size = page;
    return c;
  }

  nlohmann::json metrics() {
    return nlohmann::json::parse(status().details)["metrics"];
  }

  /// Seconds since midnight of an RFC 3339 time (the tests run for seconds).
  static double seconds_of(const std::string& at) {
    return std::stod(at.substr(11, 2)) * 3600 +
           std::stod(at.substr(14, 2)) * 60 + std::stod(at.substr(17, 6));
  }
};

} // namespace

TEST_F(shopify_drift_test, a_manual_edit_is_found_and_set_again) {
  deliver_catalog(10, with_drift(/*percent=*/25, /*page=*/4));
  auto id = item(code(3))->id;
  sim.set_available("eu", id, loc_a, 500);
  ASSERT_EQ(level(code(3), loc_a), 500);
  // Within the interval (1 s) and a pass (three paced reads).
  ASSERT_TRUE(eventually(
      [&] {
        return level(code(3), loc_a) == 4;
      },
      15s));
  // The pass goes on over the rest, which is left alone.
  ASSERT_TRUE(eventually(
      [&] { return metrics()["drift_checked"].get<int>() >= 10; }, 15s));
  auto m = metrics();
  EXPECT_EQ(m["drift_found"], 1);
  EXPECT_EQ(m["drift_corrected"], 1);
  // The delivery record notes what Shopify held, and the value is
  // confirmed again.
  ASSERT_TRUE(eventually([&] {
    return confirmed(code(3), loc_a, 4);
  }));
  auto d = deliveries(code(3))[loc_a];
  EXPECT_EQ(d.drifts, 1u);
  EXPECT_EQ(d.drift_seen, 500);
  EXPECT_FALSE(d.drift_at.empty());
  // The others were left alone.
  for (int i = 0; i < 10; ++i) {
    if (i == 3) continue;
    EXPECT_EQ(deliveries(code(i))[loc_a].drifts, 0u) << code(i);
  }
}

TEST_F(shopify_drift_test, reads_stay_within_their_budget_share) {
  constexpr double share = 0.25;
  deliver_catalog(30, with_drift(/*percent=*/25, /*page=*/5));
  sim.clear_requests("eu");
  std::this_thread::sleep_for(5s);
  auto seen = sim.requests("eu");
  ASSERT_GE(seen.size(), 3u) << "the drift check read nothing";
  double spent = 0;
  for (size_t i = 0; i + 1 < seen.size(); ++i) {
    EXPECT_EQ(seen[i].answer, "ok");
    EXPECT_FALSE(seen[i].applied); // reads only: nothing drifted
    spent += seen[i].requested_cost;
  }
  // What the reads asked for, but the last, is what the share of the
  // restore rate (100/s, the Standard bucket) gives over their span, with
  // one read of slack for the timing of arrivals.
  auto span = seconds_of(seen.back().at) - seconds_of(seen.front().at);
  EXPECT_LE(spent, share * 100 * span + seen.front().requested_cost)
      << seen.size() << " reads over " << span << " s";
  // And the shop's own account agrees with the simulator's.
  EXPECT_GE(metrics()["drift_reads"].get<double>(), seen.size());
}

TEST_F(shopify_drift_test, off_means_no_reads) {
  auto c = std::make_shared<config>(*make_config());
  c->shops[0].shopify.drift_check.interval_seconds = 1; // but not enabled
  deliver_catalog(5, c);
  sim.clear_requests("eu");
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(requests(), 0u);
  EXPECT_EQ(metrics()["drift_reads"], 0);
  auto d = nlohmann::json::parse(status().details)["drift_check"];
  EXPECT_EQ(d["enabled"], false);
}
