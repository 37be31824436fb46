// The drift check of a Shopify shop, against the real simulator: a level
// changed behind shelfsync's back is found and set again within the
// interval. Its schedule and budget share are tested on the deterministic
// scheduler (shopify_rounds_test.cpp).
#include "tests/actors/shopify_fixture.hpp"

namespace {

class shopify_drift_test : public shopify_shop_test {
 protected:
  /// make_config() with the drift check on.
  config_ptr with_drift(uint32_t percent, uint32_t page) {
    auto c = std::make_shared<config>(*make_config());
    auto& dc = c->shops[0].shopify.drift_check;
    dc.enabled = true;
    dc.interval = std::chrono::milliseconds{300};
    dc.budget_percent = percent;
    dc.page_size = page;
    return c;
  }

  nlohmann::json metrics() {
    return nlohmann::json::parse(status().details)["metrics"];
  }
};

} // namespace

TEST_F(shopify_drift_test, a_manual_edit_is_found_and_set_again) {
  deliver_catalog(10, with_drift(/*percent=*/25, /*page=*/4));
  auto id = item(code(3))->id;
  sim.set_available("eu", id, loc_a, 500);
  ASSERT_EQ(level(code(3), loc_a), 500);
  // Within the interval (0.3 s) and a pass (three paced reads).
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
