#include "core/shop_view.hpp"

#include <gtest/gtest.h>

using namespace shelfsync;

namespace {

product_record stock(int64_t a, int64_t b, int64_t reserved_b = 0) {
  product_record p;
  p.stock["WH-A"].on_hand = a;
  p.stock["WH-B"].on_hand = b;
  p.stock["WH-B"].reserved = reserved_b;
  return p;
}

shop_config shopify_shop() {
  shop_config s;
  s.id = "eu";
  s.channel = channel_kind::shopify;
  s.warehouses = {{"WH-A", true, "gid://shopify/Location/1"},
                  {"WH-B", true, "gid://shopify/Location/2"},
                  {"WH-C", false, ""}};
  return s;
}

shop_config amazon_shop() {
  shop_config s;
  s.id = "us";
  s.channel = channel_kind::amazon;
  s.warehouses = {{"WH-A", true, ""}, {"WH-B", false, ""}};
  return s;
}

} // namespace

TEST(shop_view, shopify_has_a_quantity_per_enabled_mapped_location) {
  auto view = compute_view(shopify_shop(), stock(5, 7, 2));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->size(), 2u);
  EXPECT_EQ(view->at("gid://shopify/Location/1"), 5);
  EXPECT_EQ(view->at("gid://shopify/Location/2"), 5);
}

TEST(shop_view, shopify_location_of_an_unseen_warehouse_is_zero) {
  product_record p;
  p.stock["WH-A"].on_hand = 3;
  auto view = compute_view(shopify_shop(), p);
  EXPECT_EQ(view->at("gid://shopify/Location/2"), 0);
}

TEST(shop_view, amazon_sums_enabled_warehouses_only) {
  auto s = amazon_shop();
  EXPECT_EQ(compute_view(s, stock(5, 7))->at(""), 5);
  s.warehouses[1].enabled = true;
  EXPECT_EQ(compute_view(s, stock(5, 7, 2))->at(""), 10);
}

TEST(shop_view, no_view_while_stock_sync_is_off) {
  auto s = amazon_shop();
  s.stock_sync = false;
  EXPECT_FALSE(compute_view(s, stock(5, 7)));
}

TEST(shop_view, rules_apply_buffer_then_percent_then_max) {
  stock_rules r;
  r.buffer = 3;
  r.percent = 50;
  r.max = 100;
  EXPECT_EQ(apply_rules(r, 10), 3); // (10 - 3) * 50% = 3.5 -> 3
  EXPECT_EQ(apply_rules(r, 2), 0);  // buffer never goes below 0
  EXPECT_EQ(apply_rules(r, 1000), 100);
  EXPECT_EQ(apply_rules(stock_rules{}, -4), 0);
  stock_rules only_percent;
  only_percent.percent = 33;
  EXPECT_EQ(apply_rules(only_percent, 10), 3);
  EXPECT_EQ(apply_rules(only_percent, INT64_MAX), 3043712772162076016);
}

TEST(shop_view, rules_apply_to_the_amazon_sum) {
  auto s = amazon_shop();
  s.warehouses[1].enabled = true;
  s.rules.buffer = 4;
  EXPECT_EQ(compute_view(s, stock(5, 7))->at(""), 8);
}
