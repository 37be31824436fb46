// preview_config on a store: the states a shop can move between (stock sync
// switched off, removed, added), the largest changes kept in order, and a
// scan that goes on past the first chunk of products.
#include "api/config_preview.hpp"

#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "api/state_replay.hpp"
#include "tests/support/config.hpp"

using namespace shelfsync;

namespace {

stock_event on_hand(const std::string& product, const std::string& wh,
                    int64_t n) {
  stock_event e;
  e.id = product + "/" + wh;
  e.product = product;
  e.warehouse = wh;
  e.fields = stock_event::has_on_hand;
  e.on_hand = n;
  return e;
}

struct config_preview_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-config-preview-" + std::to_string(::getpid())))
                        .string();
  std::shared_ptr<config> conf = tests::two_shop_config(dir);
  std::unique_ptr<store> db;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    db = std::move(*store::open(dir, durability::wal));
  }

  void TearDown() override {
    db.reset();
    std::filesystem::remove_all(dir);
  }

  /// Logs `events`, applies them under `conf` as the engine does and
  /// commits the records.
  void apply(std::vector<stock_event> events) {
    auto appended = db->append(std::move(events));
    ASSERT_TRUE(appended);
    product_records records;
    for (auto& e : appended->accepted) {
      product_record rec;
      if (*db->load_product(e.product, rec)) records[e.product] = rec;
    }
    apply_in_log_order(*conf, appended->accepted, records);
    state_batch batch;
    for (auto& [code, rec] : records)
      batch.put_product(code, rec);
    ASSERT_FALSE(db->commit(batch, appended->last_seq));
  }

  preview_report preview(const config& next, size_t top = 10) {
    preview_options opts;
    opts.top = top;
    auto r = preview_config(*db, next, opts);
    EXPECT_TRUE(r) << to_string(r.error());
    return r ? *r : preview_report{};
  }
};

const shop_preview& shop(const preview_report& r, const std::string& id) {
  for (auto& s : r.shops)
    if (s.shop == id) return s;
  static shop_preview none;
  ADD_FAILURE() << "no shop " << id << " in the report";
  return none;
}

} // namespace

TEST_F(config_preview_test, same_config_changes_nothing) {
  apply({on_hand("p1", "WH-A", 5), on_hand("p2", "WH-B", 7)});
  auto r = preview(*conf);
  EXPECT_EQ(r.products, 2u);
  EXPECT_EQ(r.events_not_in_state, 0u);
  ASSERT_EQ(r.shops.size(), 2u);
  for (auto& s : r.shops) {
    EXPECT_EQ(s.status, "no changes") << s.shop;
    EXPECT_EQ(s.products_changed, 0u);
    EXPECT_TRUE(s.largest.empty());
    EXPECT_TRUE(s.zeroed.empty());
    EXPECT_TRUE(s.activated.empty());
  }
}

TEST_F(config_preview_test, stock_sync_off_removed_and_added_shops) {
  apply({on_hand("p1", "WH-A", 5), on_hand("p2", "WH-B", 7)});
  auto next = std::make_shared<config>(*conf);
  next->shops[0].stock_sync = false;          // eu-store keeps its numbers
  next->shops.erase(next->shops.begin() + 1); // amazon-us leaves
  next->shops.push_back(tests::make_shop("amazon-eu", channel_kind::amazon,
                                         {{"WH-B", true, ""}}));
  auto r = preview(*next);
  ASSERT_EQ(r.shops.size(), 3u);
  EXPECT_EQ(r.shops[0].shop, "eu-store");
  EXPECT_EQ(r.shops[0].status, "stock sync off");
  EXPECT_EQ(r.shops[0].no_longer_updated, 2u);
  EXPECT_EQ(r.shops[0].products_changed, 0u);
  EXPECT_EQ(r.shops[1].shop, "amazon-eu");
  EXPECT_EQ(r.shops[1].status, "changes");
  EXPECT_EQ(r.shops[1].first_sent, 2u);
  EXPECT_EQ(r.shops[2].shop, "amazon-us");
  EXPECT_EQ(r.shops[2].status, "removed");
  EXPECT_TRUE(r.shops[2].channel.empty());
  EXPECT_EQ(r.shops[2].no_longer_updated, 2u);
  auto text = preview_text(r);
  EXPECT_NE(text.find("shop amazon-us: removed from the config: 2 products "
                      "keep their last numbers"),
            std::string::npos)
      << text;
}

TEST_F(config_preview_test, largest_changes_in_order_across_chunks) {
  // 2,500 products (more than one chunk of the scan), each with WH-A = its
  // number; a max of 100 lowers every product above it.
  std::vector<stock_event> events;
  for (int i = 1; i <= 2500; ++i) {
    char code[16];
    std::snprintf(code, sizeof code, "p%05d", i);
    events.push_back(on_hand(code, "WH-A", i));
  }
  apply(std::move(events));
  auto next = std::make_shared<config>(*conf);
  next->shops[1].rules.max = 100;
  next->shops[0].warehouses[0].location = tests::location_b; // remapped
  next->shops[0].warehouses[1].enabled = false;
  auto r = preview(*next, 3);
  EXPECT_EQ(r.products, 2500u);
  auto& amazon = shop(r, "amazon-us");
  EXPECT_EQ(amazon.products_changed, 2400u);
  EXPECT_EQ(amazon.numbers_down, 2400u);
  EXPECT_EQ(amazon.numbers_up, 0u);
  ASSERT_EQ(amazon.largest.size(), 3u);
  EXPECT_EQ(amazon.largest[0].product, "p02500");
  EXPECT_EQ(*amazon.largest[0].before, 2500);
  EXPECT_EQ(amazon.largest[0].after, 100);
  EXPECT_EQ(amazon.largest[1].product, "p02499");
  EXPECT_EQ(amazon.largest[2].product, "p02498");
  // WH-A moves from location a to b: a is zeroed (nothing maps to it), b
  // activated for every product.
  auto& eu = shop(r, "eu-store");
  EXPECT_EQ(eu.products_changed, 2500u);
  ASSERT_EQ(eu.zeroed.size(), 1u);
  EXPECT_EQ(eu.zeroed[0].location, tests::location_a);
  EXPECT_EQ(eu.zeroed[0].products, 2500u);
  EXPECT_EQ(eu.zeroed[0].reason, "no enabled warehouse is mapped to it");
  // Location b was in every view already (WH-B, 0): not activated, raised.
  EXPECT_TRUE(eu.activated.empty());
  EXPECT_EQ(eu.numbers_up, 2500u);
  EXPECT_EQ(eu.numbers_down, 2500u);
  // Equal changes rank by product: p02500 at a (2500 -> 0) before p02500
  // at b (0 -> 2500).
  ASSERT_EQ(eu.largest.size(), 3u);
  EXPECT_EQ(eu.largest[0].product, "p02500");
  EXPECT_EQ(eu.largest[0].location, tests::location_a);
  EXPECT_EQ(eu.largest[1].product, "p02500");
  EXPECT_EQ(eu.largest[1].location, tests::location_b);
  EXPECT_EQ(eu.largest[2].product, "p02499");
  // The store is as it was: a preview stores nothing.
  product_record rec;
  ASSERT_TRUE(*db->load_product("p02500", rec));
  EXPECT_EQ(rec.views["amazon-us"], (shop_view{{"", 2500}}));
}
