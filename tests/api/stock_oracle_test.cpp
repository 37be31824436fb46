// The fault suite's oracle and history check: they decide the suite's
// verdict, so they are checked on cases worked out by hand.
#include "tests/api/stock_oracle.hpp"

#include <gtest/gtest.h>

using namespace shelfsync::tests;

namespace {

event_spec ev(std::string id, std::string warehouse) {
  event_spec e;
  e.id = std::move(id);
  e.product = "P";
  e.warehouse = std::move(warehouse);
  return e;
}

stock_oracle two_shops() {
  shop_spec shopify{"s", {{"A", "loc-a"}}, false, {}};
  shopify.rules.buffer = 1;
  shopify.rules.percent = 50;
  shop_spec amazon{"m", {{"A", ""}, {"B", ""}}, true, {}};
  amazon.rules.max = 8;
  return stock_oracle{{shopify, amazon}};
}

} // namespace

TEST(stock_oracle, applies_events_once_in_order_with_versions_and_rules) {
  auto oracle = two_shops();
  auto a = ev("1", "A");
  a.on_hand = 10;
  a.version = 5;
  auto b = ev("2", "B");
  b.delta = 4;
  auto stale = ev("3", "A");
  stale.on_hand = 99;
  stale.version = 5; // not newer: no effect
  auto reserve = ev("4", "A");
  reserve.reserved = 3;
  reserve.version = 6;
  auto duplicate = ev("2", "B");
  duplicate.delta = 1000;
  EXPECT_EQ(oracle.accept({a, b, stale, reserve, duplicate}), 4u);
  EXPECT_EQ(oracle.accept({duplicate}), 0u);
  EXPECT_EQ(oracle.stale(), 1u);
  EXPECT_EQ(oracle.stock("P").at("A"), (std::pair<int64_t, int64_t>{10, 3}));
  EXPECT_EQ(oracle.stock("P").at("B"), (std::pair<int64_t, int64_t>{4, 0}));
  // Shopify: (available in A - 1) * 50 % after each event.
  EXPECT_EQ(oracle.views("s", "P", "loc-a"),
            (std::vector<int64_t>{4, 4, 4, 3}));
  // Amazon: min(A + B, 8).
  EXPECT_EQ(oracle.views("m", "P", ""), (std::vector<int64_t>{8, 8, 8, 8}));
  EXPECT_TRUE(oracle.views("m", "Q", "").empty());
}

TEST(stock_oracle, history_may_skip_and_repeat_but_never_go_back) {
  std::vector<int64_t> views{0, 5, 3, 5, 7};
  EXPECT_EQ(check_history(views, {0, 5, 7}), "");
  EXPECT_EQ(check_history(views, {5, 3, 5}), "");
  EXPECT_EQ(check_history(views, {3, 3, 7}), "");
  EXPECT_EQ(check_history(views, {}), "");
  EXPECT_NE(check_history(views, {7, 5}), "");
  EXPECT_NE(check_history(views, {3, 0}), "");
  EXPECT_NE(check_history(views, {9}), "");
}
