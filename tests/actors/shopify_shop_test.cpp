// The real engine with its Shopify shop actor against the real Shopify
// simulator over loopback HTTP. Every wait polls the simulator (or the
// engine's store) with a bound, and every test asserts what Shopify holds.
// The shop's logic (coalescing, pacing after a throttle, retries, no retry
// after a refusal, stock sync off) is tested on the deterministic scheduler
// with a scripted worker: shopify_rounds_test.cpp.
#include "tests/actors/shopify_fixture.hpp"

using shopify_fixture::token;
using shopify_fixture::token_env;

namespace {

// -- rules 1 to 6 ------------------------------------------------------------

TEST_F(shopify_shop_test, sets_each_mapped_location_and_switches_tracking_on) {
  sim.add_item("eu", "P-1", false, {{loc_a, 0}, {loc_b, 0}});
  start();
  ingest({set("e1", "P-1", "WH-A", 7), set("e2", "P-1", "WH-B", 3)});
  ASSERT_TRUE(eventually([&] {
    return level("P-1", loc_a) == 7 && level("P-1", loc_b) == 3;
  }));
  EXPECT_TRUE(item("P-1")->tracked);
  EXPECT_TRUE(eventually([&] {
    return confirmed("P-1", loc_a, 7) && confirmed("P-1", loc_b, 3);
  }));
  EXPECT_EQ(level("P-1", loc_c), -1); // never stocked there
}

TEST_F(shopify_shop_test, activates_where_the_item_is_not_stocked) {
  sim.add_item("eu", "P-2", true, {{loc_a, 1}});
  start();
  ingest({set("e1", "P-2", "WH-A", 4), set("e2", "P-2", "WH-B", 9)});
  ASSERT_TRUE(eventually([&] {
    return level("P-2", loc_b) == 9;
  }));
  EXPECT_EQ(level("P-2", loc_a), 4);
  auto* lv = item("P-2")->stocked_at(loc_b);
  ASSERT_NE(lv, nullptr);
  EXPECT_EQ(lv->history.front(), 0); // activated without a quantity
}

TEST_F(shopify_shop_test, activates_at_a_newly_mapped_location_after_reload) {
  sim.add_item("eu", "P-3", true, {{loc_a, 0}});
  start(make_config(true, false));
  ingest({set("e1", "P-3", "WH-A", 2), set("e2", "P-3", "WH-B", 6)});
  ASSERT_TRUE(eventually([&] {
    return level("P-3", loc_a) == 2;
  }));
  EXPECT_EQ(level("P-3", loc_b), -1); // WH-B not enabled yet
  eng->reload(make_config(true, true));
  ingest({set("e3", "P-3", "WH-A", 5)});
  ASSERT_TRUE(eventually([&] {
    return level("P-3", loc_b) == 6 && level("P-3", loc_a) == 5;
  }));
}

TEST_F(shopify_shop_test, zeroes_unmapped_locations_holding_stock) {
  auto id = sim.add_item("eu", "P-4", true, {{loc_a, 1}, {loc_c, 5}});
  start();
  ingest({set("e1", "P-4", "WH-A", 8)});
  ASSERT_TRUE(eventually([&] {
    return level("P-4", loc_c) == 0;
  }));
  EXPECT_EQ(level("P-4", loc_a), 8);
  // A point-of-sale edit behind shelfsync's back is undone with the next
  // update of the product: the levels are read with every update.
  sim.set_available("eu", id, loc_c, 3);
  ingest({set("e2", "P-4", "WH-A", 9)});
  ASSERT_TRUE(eventually([&] {
    return level("P-4", loc_a) == 9 && level("P-4", loc_c) == 0;
  }));
}

TEST_F(shopify_shop_test, several_items_with_the_sku_is_an_error_state) {
  sim.add_item("eu", "DUP", true, {{loc_a, 1}});
  sim.add_item("eu", "DUP", true, {{loc_a, 2}});
  start();
  ingest({set("e1", "DUP", "WH-A", 5)});
  ASSERT_TRUE(eventually([&] {
    auto rec = deliveries("DUP");
    auto i = rec.find(loc_a);
    return i != rec.end() && i->second.state == delivery_state::failed;
  }));
  auto d = deliveries("DUP").at(loc_a);
  EXPECT_EQ(d.error_code, "AMBIGUOUS_SKU");
  EXPECT_EQ(d.error_message, "several inventory items have SKU DUP");
  EXPECT_FALSE(d.error_at.empty());
  EXPECT_TRUE(d.permanent);
  EXPECT_EQ(requests_named("ShelfsyncPush"), 0u);
  snapshot = sim.inventory("eu");
  for (auto& it : snapshot.items())
    EXPECT_NE(it.find_level(loc_a)->available, 5);
  EXPECT_NE(status().last_error.find("several inventory items"),
            std::string::npos);
}

TEST_F(shopify_shop_test, a_dropped_answer_is_retried_with_the_same_key) {
  sim.add_item("eu", "P-7", true, {{loc_a, 0}, {loc_b, 0}});
  auto f = sim.faults("eu");
  f.drop_next = 1;
  f.drop_when = shopify::fault_point::after_apply;
  f.mutations_only = true;
  sim.set_faults("eu", f);
  start();
  ingest({set("e1", "P-7", "WH-A", 11)});
  ASSERT_TRUE(eventually([&] {
    return confirmed("P-7", loc_a, 11);
  }));
  std::vector<shopify::sim_request_record> records;
  for (auto& r : sim.requests("eu"))
    if (r.operation_name == "ShelfsyncPush") records.push_back(r);
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records[0].answer, "dropped");
  EXPECT_TRUE(records[0].applied);
  EXPECT_EQ(records[1].answer, "replayed");
  EXPECT_FALSE(records[1].applied);
  EXPECT_EQ(records[0].idempotency_keys, records[1].idempotency_keys);
  auto* lv = item("P-7")->stocked_at(loc_a);
  ASSERT_NE(lv, nullptr);
  EXPECT_EQ(lv->history, (std::vector<int64_t>{0, 11})); // applied once
  EXPECT_EQ(lv->writes, 2u); // the seed, then one push
}

TEST_F(shopify_shop_test, sets_pending_at_a_crash_are_delivered_after_restart) {
  for (auto sku : {"R-1", "R-2", "R-3"})
    sim.add_item("eu", sku, true, {{loc_a, 0}, {loc_b, 0}});
  auto f = sim.faults("eu");
  f.drop_next = 1000; // Shopify unreachable: every request is dropped
  sim.set_faults("eu", f);
  start();
  ingest({set("e1", "R-1", "WH-A", 1), set("e2", "R-2", "WH-A", 2),
          set("e3", "R-3", "WH-B", 3)});
  ASSERT_TRUE(eventually([&] {
    return requests() >= 1;
  }));
  eng.reset(); // the engine goes away with everything pending
  EXPECT_EQ(level("R-1", loc_a), 0);
  sim.set_faults("eu", shopify::sim_faults{});
  start();
  ASSERT_TRUE(eventually([&] {
    return level("R-1", loc_a) == 1 && level("R-2", loc_a) == 2 &&
           level("R-3", loc_b) == 3;
  }));
  EXPECT_TRUE(eventually([&] {
    return status().pending == 0;
  }));
}

TEST_F(shopify_shop_test, values_already_held_wait_for_tracking_to_be_on) {
  // Shopify holds the desired values, but the item is not tracked: only a
  // push that switches tracking on is needed, and it never gets through
  // before the engine stops.
  sim.add_item("eu", "T-1", false, {{loc_a, 7}, {loc_b, 3}});
  auto f = sim.faults("eu");
  f.mutations_only = true;
  f.drop_next = 1000;
  sim.set_faults("eu", f);
  start();
  ingest({set("e1", "T-1", "WH-A", 7), set("e2", "T-1", "WH-B", 3)});
  ASSERT_TRUE(eventually([&] {
    return sim.faults("eu").drop_next < 1000;
  }));
  eng.reset();
  sim.set_faults("eu", shopify::sim_faults{});
  start();
  // The values held are not "delivered" before tracking is on.
  EXPECT_TRUE(eventually([&] {
    return item("T-1")->tracked;
  }));
  EXPECT_TRUE(eventually([&] {
    return confirmed("T-1", loc_a, 7) && confirmed("T-1", loc_b, 3) &&
           status().pending == 0;
  }));
}

// -- configuration -----------------------------------------------------------

TEST_F(shopify_shop_test, a_missing_token_is_an_error_state_not_a_crash) {
  sim.add_item("eu", "M-1", true, {{loc_a, 0}});
  ::unsetenv(token_env);
  start();
  ingest({set("e1", "M-1", "WH-A", 1)});
  ASSERT_TRUE(eng->sync());
  std::this_thread::sleep_for(200ms);
  auto s = status();
  EXPECT_NE(s.last_error.find(token_env), std::string::npos);
  EXPECT_EQ(s.last_error.find(token), std::string::npos);
  EXPECT_EQ(s.details.find(token), std::string::npos);
  EXPECT_EQ(requests(), 0u);
  EXPECT_EQ(s.pending, 1u);
  // The token appears and a reload picks it up.
  ::setenv(token_env, token, 1);
  eng->reload(make_config());
  ASSERT_TRUE(eventually([&] {
    return level("M-1", loc_a) == 1;
  }));
}

TEST_F(shopify_shop_test, refused_items_fail_for_good) {
  sim.add_item("eu", "N-1", true, {{loc_a, 0}}, /*non_mutable=*/true);
  start();
  ingest({set("e1", "N-1", "WH-A", 5), set("e2", "NOPE", "WH-A", 1)});
  ASSERT_TRUE(eventually([&] {
    auto a = deliveries("N-1");
    auto b = deliveries("NOPE");
    return a.count(loc_a) && a.at(loc_a).state == delivery_state::failed &&
           b.count(loc_a) && b.at(loc_a).state == delivery_state::failed;
  }));
  EXPECT_EQ(deliveries("N-1").at(loc_a).error_code,
            "NON_MUTABLE_INVENTORY_ITEM");
  EXPECT_EQ(deliveries("NOPE").at(loc_a).error_code, "SKU_NOT_FOUND");
  ASSERT_TRUE(eventually([&] {
    return status().pending == 0;
  }));
}

TEST_F(shopify_shop_test, status_shows_budget_and_numeric_metrics) {
  sim.add_item("eu", "B-1", true, {{loc_a, 0}});
  start();
  ingest({set("e1", "B-1", "WH-A", 5)});
  ASSERT_TRUE(eventually([&] {
    return confirmed("B-1", loc_a, 5);
  }));
  auto s = status();
  EXPECT_EQ(s.channel, "shopify");
  EXPECT_TRUE(s.stock_sync);
  EXPECT_FALSE(s.last_success.empty());
  auto d = nlohmann::json::parse(s.details);
  EXPECT_EQ(d["budget"]["maximum"].get<double>(), 2000);
  EXPECT_EQ(d["budget"]["restore_rate"].get<double>(), 100);
  EXPECT_GT(d["budget"]["available"].get<double>(), 0);
  for (auto& [name, value] : d["metrics"].items())
    EXPECT_TRUE(value.is_number()) << name;
  EXPECT_GE(d["metrics"]["requests"].get<double>(), 2);
  EXPECT_GE(d["metrics"]["rows"].get<double>(), 1);
}

} // namespace
