// Explanations of the numbers a shop holds, built from the store.
#include "api/explanation.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "api/product_history.hpp"
#include "api/state_replay.hpp"
#include "tests/support/config.hpp"

using namespace shelfsync;
using json = nlohmann::json;

namespace {

constexpr const char* loc1 = tests::location_a;

/// The two-shop config, plus a WH-C no shop sees; WH-B has no Shopify
/// location, Amazon counts WH-A only and applies all three rules.
config_ptr explained_config(const std::string& dir) {
  auto c = tests::two_shop_config(dir);
  c->warehouses.push_back({"WH-C"});
  c->shops[0].warehouses[1].location.clear();
  c->shops[1].warehouses[1].enabled = false;
  c->shops[1].rules = {2, 50, 3};
  return c;
}

stock_event event(std::string id, std::string wh, int64_t on_hand,
                  int64_t reserved = -1, int64_t version = 0) {
  stock_event e;
  e.id = std::move(id);
  e.product = "003";
  e.warehouse = std::move(wh);
  e.fields = stock_event::has_on_hand;
  e.on_hand = on_hand;
  if (reserved >= 0) {
    e.fields |= stock_event::has_reserved;
    e.reserved = reserved;
  }
  if (version != 0) {
    e.fields |= stock_event::has_version;
    e.version = version;
  }
  return e;
}

struct explanation_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-explain-" + std::to_string(::getpid())))
                        .string();
  config_ptr conf = explained_config(dir);
  std::unique_ptr<store> db;
  product_record rec;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    db = std::move(*store::open(dir, durability::wal));
  }

  void TearDown() override {
    db.reset();
    std::filesystem::remove_all(dir);
  }

  /// Logs `events` and applies them as the engine does.
  void apply(std::vector<stock_event> events) {
    auto appended = db->append(std::move(events));
    ASSERT_TRUE(appended);
    product_records records;
    records["003"] = rec;
    apply_in_log_order(*conf, appended->accepted, records);
    rec = records["003"];
  }

  json explain(const std::string& shop) {
    auto x = explain_product(*db, *conf, *conf->find_shop(shop), "003", rec);
    EXPECT_TRUE(x) << to_string(x.error());
    return x ? *x : json{};
  }
};

} // namespace

TEST_F(explanation_test, amazon_sum_rules_exclusions_events_and_feed) {
  apply({event("wms-1", "WH-A", 12, 2, 17), event("wms-2", "WH-B", 5),
         event("wms-3", "WH-C", 4)});
  delivery d;
  d.state = delivery_state::confirmed;
  d.has_confirmed = true;
  d.confirmed = 3;
  d.sent = 3;
  d.request = "feed-77";
  d.sent_ms = 1'790'000'000'000;
  ASSERT_FALSE(db->put_delivery("amazon-us", "003", {{"", d}}));
  auto x = explain("amazon-us");
  EXPECT_EQ(x["channel"], "amazon");
  EXPECT_EQ(x["rules"], json({{"buffer", 2}, {"percent", 50}, {"max", 3}}));
  ASSERT_EQ(x["numbers"].size(), 1u);
  auto& n = x["numbers"][0];
  EXPECT_EQ(n["value"], 3);
  EXPECT_FALSE(n.contains("location"));
  ASSERT_EQ(n["warehouses"].size(), 1u);
  EXPECT_EQ(n["warehouses"][0]["warehouse"], "WH-A");
  EXPECT_EQ(n["warehouses"][0]["available"], 10);
  EXPECT_EQ(n["warehouses"][0]["version"], 17);
  // available 10, minus 2 = 8, half = 4, at most 3.
  std::vector<int64_t> steps;
  for (auto& s : n["calculation"])
    steps.push_back(s["value"]);
  EXPECT_EQ(steps, (std::vector<int64_t>{10, 8, 4, 3}));
  EXPECT_EQ(n["calculation"][1]["step"], "buffer");
  EXPECT_EQ(n["computed_now"], 3);
  ASSERT_EQ(n["events"].size(), 1u);
  EXPECT_EQ(n["events"][0]["id"], "wms-1");
  EXPECT_EQ(n["events"][0]["type"], "absolute+reserved");
  EXPECT_EQ(n["events"][0]["seq"], 1);
  EXPECT_EQ(n["delivery"]["state"], "confirmed");
  EXPECT_EQ(n["delivery"]["confirmed"], 3);
  EXPECT_EQ(n["delivery"]["feed_id"], "feed-77");
  EXPECT_TRUE(n["delivery"]["error"].is_null());
  ASSERT_EQ(x["excluded"].size(), 2u);
  EXPECT_EQ(x["excluded"][0]["warehouse"], "WH-B");
  EXPECT_EQ(x["excluded"][0]["reason"], "disabled for this shop");
  EXPECT_EQ(x["excluded"][0]["available"], 5);
  EXPECT_EQ(x["excluded"][1]["warehouse"], "WH-C");
  EXPECT_EQ(x["excluded"][1]["reason"], "not listed for this shop");
  EXPECT_EQ(x["history"]["truncated"], false);
}

TEST_F(explanation_test, shopify_per_location_with_a_refused_request) {
  apply({event("a", "WH-A", 6), event("b", "WH-B", 9)});
  delivery d;
  d.state = delivery_state::failed;
  d.sent = 6;
  d.request = "push-key-1";
  d.error_code = "NOT_TRACKED";
  d.error_message = "item is not stocked";
  d.error_at = "2026-11-27T10:00:00.000Z";
  d.permanent = true;
  delivery before;
  before.state = delivery_state::confirmed;
  before.has_confirmed = true;
  before.confirmed = 4;
  constexpr const char* loc9 = "gid://shopify/Location/1009";
  ASSERT_FALSE(
      db->put_delivery("eu-store", "003", {{loc1, d}, {loc9, before}}));
  auto x = explain("eu-store");
  EXPECT_EQ(
      x["mapping"][0],
      json({{"warehouse", "WH-A"}, {"enabled", true}, {"location", loc1}}));
  ASSERT_EQ(x["numbers"].size(), 1u);
  auto& n = x["numbers"][0];
  EXPECT_EQ(n["location"], loc1);
  EXPECT_EQ(n["warehouse"], "WH-A");
  EXPECT_EQ(n["value"], 6);
  EXPECT_EQ(n["calculation"].size(), 1u);
  EXPECT_EQ(n["delivery"]["state"], "failed");
  EXPECT_EQ(n["delivery"]["sent"], 6);
  EXPECT_EQ(n["delivery"]["idempotency_key"], "push-key-1");
  EXPECT_EQ(n["delivery"]["error"]["code"], "NOT_TRACKED");
  EXPECT_EQ(n["delivery"]["error"]["permanent"], true);
  EXPECT_EQ(x["excluded"][0]["warehouse"], "WH-B");
  EXPECT_EQ(x["excluded"][0]["reason"], "enabled but not mapped to a location");
  ASSERT_EQ(x["former_locations"].size(), 1u);
  EXPECT_EQ(x["former_locations"][0]["location"], loc9);
  EXPECT_EQ(x["former_locations"][0]["delivery"]["confirmed"], 4);
  auto text = explanation_text(x);
  EXPECT_NE(text.find("location gid://shopify/Location/1001: 6"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("error NOT_TRACKED (permanent)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("WH-B: on_hand 9"), std::string::npos) << text;
  EXPECT_NE(text.find("no longer in the view:\n  " + std::string{loc9} +
                      ": confirmed; confirmed 4"),
            std::string::npos)
      << text;
}

TEST_F(explanation_test, stock_sync_off_and_long_histories_are_said) {
  std::vector<stock_event> many;
  for (int i = 0; i < 40; ++i)
    many.push_back(event("e" + std::to_string(i), "WH-A", i));
  apply(std::move(many));
  auto x = explain("amazon-us");
  EXPECT_EQ(x["numbers"][0]["delivery"]["state"], "pending");
  EXPECT_EQ(x["numbers"][0]["events"].size(), product_record::recent_limit);
  EXPECT_EQ(x["numbers"][0]["events"][0]["seq"], 9); // the 32 latest of 40
  EXPECT_EQ(x["history"]["truncated"], true);
  EXPECT_NE(x["history"]["note"].get<std::string>().find("shelfsync log"),
            std::string::npos);
  auto off = std::make_shared<config>(*conf);
  off->shops[1].stock_sync = false;
  conf = off;
  apply({event("z", "WH-A", 1)});
  x = explain("amazon-us");
  EXPECT_TRUE(x["numbers"].empty());
  EXPECT_EQ(x["note"], "stock sync is off for this shop: nothing is sent");
}

TEST_F(explanation_test, history_applies_each_event_and_marks_stale_ones) {
  apply({event("v5", "WH-A", 10, -1, 5), event("v4", "WH-A", 99, -1, 4),
         event("v6", "WH-A", 7, 3, 6)});
  auto h = read_history(*db, "003");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[1].outcome, apply_outcome::stale);
  EXPECT_EQ((*h)[1].after.on_hand, 10);
  EXPECT_EQ((*h)[2].after.available(), 4);
  EXPECT_EQ(event_values((*h)[2].event), "on_hand=7 reserved=3 version=6");
  EXPECT_TRUE(read_history(*db, "other")->empty());
}
