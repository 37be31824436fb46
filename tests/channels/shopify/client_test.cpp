// The real client against the real simulator, over loopback HTTP.
#include "channels/shopify/client.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "simulators/shopify/simulator.hpp"

using namespace shelfsync;
using namespace shelfsync::shopify;
using namespace std::chrono_literals;

namespace {

constexpr const char* loc_a = "gid://shopify/Location/1001";
constexpr const char* loc_b = "gid://shopify/Location/1002";
constexpr const char* loc_c = "gid://shopify/Location/1003";
constexpr const char* token = "shpat_secret_token_123";

class client_test : public ::testing::Test {
 protected:
  client_test() : server(sim) {
    sim.add_shop("eu", token);
    sim.add_location("eu", "WH A", loc_a);
    sim.add_location("eu", "WH B", loc_b);
    sim.add_location("eu", "Shop floor", loc_c);
  }

  client_config config() {
    client_config cfg;
    cfg.shop_url = server.shop_url("eu");
    cfg.access_token = token;
    cfg.http.request_timeout = 2s;
    return cfg;
  }

  const sim::level* level(const std::string& item, const std::string& loc) {
    snapshot = sim.inventory("eu");
    auto* it = snapshot.find_item(item);
    return it ? it->find_level(loc) : nullptr;
  }

  bool tracked(const std::string& item) {
    snapshot = sim.inventory("eu");
    return snapshot.find_item(item)->tracked;
  }

  push_request one_row(const std::string& item, const std::string& loc,
                       int64_t qty, std::string key) {
    push_request p;
    p.idempotency_key = std::move(key);
    p.quantities = {{item, loc, qty}};
    return p;
  }

  simulator sim;
  simulator_server server;
  sim::store snapshot;
};

// -- lookup ------------------------------------------------------------------

TEST_F(client_test, lookup_by_sku_matches_exactly) {
  sim.add_item("eu", "AB-10", true, {{loc_a, 1}});
  auto ab1 = sim.add_item("eu", "AB-1", false, {{loc_a, 4}, {loc_b, 0}});
  sim.add_item("eu", "ab-1", true, {{loc_a, 1}});
  sim.add_item("eu", "DUP", true, {{loc_a, 1}});
  sim.add_item("eu", "DUP", true, {{loc_b, 1}});
  client c{config()};
  auto r = c.lookup_skus({"AB-1", "NOPE", "DUP"});
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  ASSERT_EQ(r.matches.size(), 3u);
  // "AB-1" loosely matches three items; the first page holds two of them
  // and no second exact match, so the client pages to be sure.
  EXPECT_EQ(r.matches[0].status, sku_status::found);
  EXPECT_EQ(r.matches[0].item.id, ab1);
  EXPECT_FALSE(r.matches[0].item.tracked);
  ASSERT_EQ(r.matches[0].item.levels.size(), 2u);
  EXPECT_EQ(r.matches[0].item.levels[0].location_id, loc_a);
  EXPECT_EQ(r.matches[0].item.levels[0].available, 4);
  EXPECT_EQ(r.matches[1].status, sku_status::not_found);
  EXPECT_EQ(r.matches[2].status, sku_status::ambiguous);
  EXPECT_EQ(r.matches[2].error, "several inventory items have SKU DUP");
  EXPECT_EQ(r.matches[2].exact_ids.size(), 2u);
  auto log = sim.requests("eu");
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.front().operation_name, "ShelfsyncLookupSkus");
  EXPECT_EQ(log.front().operations.size(), 3u); // one aliased search per SKU
}

TEST_F(client_test, lookup_pages_through_loose_matches) {
  sim.add_item("eu", "P-1", true, {{loc_a, 1}});
  sim.add_item("eu", "P-2", true, {{loc_a, 1}});
  sim.add_item("eu", "P-3", true, {{loc_a, 1}});
  auto p = sim.add_item("eu", "P-", true, {{loc_b, 8}});
  client c{config()};
  auto r = c.lookup_skus({"P-"});
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(r.matches[0].status, sku_status::found);
  EXPECT_EQ(r.matches[0].item.id, p);
  ASSERT_EQ(r.matches[0].item.levels.size(), 1u);
  EXPECT_EQ(r.matches[0].item.levels[0].available, 8);
  EXPECT_GE(r.status.requests, 3);
}

TEST_F(client_test, reads_levels_with_paging) {
  std::map<std::string, int64_t> levels;
  for (int i = 0; i < 6; ++i) {
    auto id = "gid://shopify/Location/" + std::to_string(2001 + i);
    sim.add_location("eu", "L" + std::to_string(i), id);
    levels[id] = i;
  }
  auto item = sim.add_item("eu", "MANY", true, levels);
  auto cfg = config();
  cfg.reads.levels_first = 4;
  client c{cfg};
  auto r = c.read_levels({item, "gid://shopify/InventoryItem/1"});
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  ASSERT_EQ(r.items.size(), 2u);
  ASSERT_TRUE(r.items[0].item);
  EXPECT_EQ(r.items[0].item->levels.size(), 6u);
  EXPECT_TRUE(r.items[0].item->levels_complete);
  EXPECT_FALSE(r.items[1].item); // unknown id
  EXPECT_EQ(r.status.requests, 2);
}

// -- push --------------------------------------------------------------------

TEST_F(client_test, sets_quantities) {
  auto a = sim.add_item("eu", "A", true, {{loc_a, 5}, {loc_b, 1}});
  client c{config()};
  push_request p;
  p.idempotency_key = "k-set";
  p.quantities = {{a, loc_a, 12}, {a, loc_b, 0}};
  auto r = c.push(p);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_TRUE(r.outcome.applied);
  EXPECT_EQ(r.outcome.changes.size(), 4u); // available and on_hand per row
  EXPECT_EQ(level(a, loc_a)->available, 12);
  EXPECT_EQ(level(a, loc_b)->available, 0);
  ASSERT_TRUE(r.status.cost);
  EXPECT_EQ(r.status.cost->requested, 13);
  auto rec = sim.requests("eu").back();
  EXPECT_EQ(rec.rows, 2u);
  EXPECT_EQ(rec.idempotency_keys, std::vector<std::string>{"k-set"});
  EXPECT_EQ(rec.answer, "ok");
}

TEST_F(client_test, switches_tracking_on_with_the_update) {
  auto a = sim.add_item("eu", "UNTRACKED", false, {{loc_a, 0}});
  client c{config()};
  auto p = one_row(a, loc_a, 3, "k-track");
  p.track = {a};
  auto r = c.push(p);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_TRUE(r.outcome.applied);
  EXPECT_TRUE(r.outcome.tracking_errors.empty());
  EXPECT_TRUE(tracked(a));
  EXPECT_EQ(level(a, loc_a)->available, 3);
}

TEST_F(client_test, activates_at_a_new_location) {
  auto a = sim.add_item("eu", "NEWLOC", true, {{loc_a, 2}});
  client c{config()};
  push_request p;
  p.idempotency_key = "k-act";
  p.activate = {{a, loc_b, {}}};
  p.quantities = {{a, loc_a, 2}, {a, loc_b, 7}};
  auto r = c.push(p);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_TRUE(r.outcome.applied);
  EXPECT_TRUE(r.outcome.activation_errors.empty());
  ASSERT_NE(level(a, loc_b), nullptr);
  EXPECT_TRUE(level(a, loc_b)->active);
  EXPECT_EQ(level(a, loc_b)->available, 7);
  EXPECT_EQ(level(a, loc_b)->history, (std::vector<int64_t>{0, 7}));
  EXPECT_EQ(sim.requests("eu").back().idempotency_keys,
            (std::vector<std::string>{"k-act.a0", "k-act"}));
}

TEST_F(client_test, without_activation_a_new_location_is_a_row_error) {
  auto a = sim.add_item("eu", "NOTSTOCKED", true, {{loc_a, 2}});
  client c{config()};
  push_request p;
  p.idempotency_key = "k-ns";
  p.quantities = {{a, loc_a, 9},
                  {a, loc_b, 7},
                  {"gid://shopify/InventoryItem/5", loc_a, 1}};
  auto r = c.push(p);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_FALSE(r.outcome.applied);
  ASSERT_EQ(r.outcome.row_errors.size(), 2u);
  EXPECT_EQ(r.outcome.row_errors[0].row, 1u);
  EXPECT_EQ(r.outcome.row_errors[0].error.code, "ITEM_NOT_STOCKED_AT_LOCATION");
  EXPECT_EQ(r.outcome.row_errors[1].row, 2u);
  EXPECT_EQ(r.outcome.row_errors[1].error.code, "INVALID_INVENTORY_ITEM");
  EXPECT_EQ(level(a, loc_a)->available, 2); // all or nothing
}

TEST_F(client_test, non_mutable_item_is_a_row_error) {
  auto bundle = sim.add_item("eu", "BUNDLE", true, {{loc_a, 2}}, true);
  client c{config()};
  auto r = c.push(one_row(bundle, loc_a, 1, "k-bundle"));
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.outcome.row_errors.size(), 1u);
  EXPECT_EQ(r.outcome.row_errors[0].error.code, "NON_MUTABLE_INVENTORY_ITEM");
}

TEST_F(client_test, zeroes_unmapped_locations_from_fresh_levels) {
  // Mapped: A only. Shopify also holds stock at B (a POS edit) and a zero
  // at C; shelfsync leads, so B goes to 0 and C is left alone.
  auto a = sim.add_item("eu", "LEAD", true, {{loc_a, 5}, {loc_c, 0}});
  sim.set_available("eu", a, loc_b, 3);
  client c{config()};
  auto read = c.read_levels({a});
  ASSERT_TRUE(read.status.ok()) << read.status.message;
  ASSERT_TRUE(read.items[0].item);
  push_request p;
  p.idempotency_key = "k-lead";
  p.quantities = {{a, loc_a, 10}};
  for (auto& lv : read.items[0].item->levels)
    if (lv.location_id != loc_a && lv.available != 0)
      p.quantities.push_back({a, lv.location_id, 0, std::nullopt});
  ASSERT_EQ(p.quantities.size(), 2u);
  auto r = c.push(p);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(level(a, loc_a)->available, 10);
  EXPECT_EQ(level(a, loc_b)->available, 0);
  EXPECT_EQ(level(a, loc_b)->history, (std::vector<int64_t>{0, 3, 0}));
  EXPECT_EQ(level(a, loc_c)->writes, 1u); // only the seed wrote it
}

TEST_F(client_test, refuses_invalid_pushes_without_sending) {
  auto a = sim.add_item("eu", "X", true, {{loc_a, 1}});
  client c{config()};
  auto p = one_row(a, loc_a, 1, "k-dup");
  p.quantities.push_back(p.quantities.front());
  auto r = c.push(p);
  EXPECT_EQ(r.status.kind, outcome::permanent);
  EXPECT_EQ(r.status.code, "INVALID_PUSH");
  EXPECT_EQ(r.status.requests, 0);
  EXPECT_TRUE(sim.requests("eu").empty());
}

TEST_F(client_test, speaks_the_pre_2026_contract_too) {
  auto a = sim.add_item("eu", "OLD", true, {{loc_a, 1}});
  auto cfg = config();
  cfg.version = api_version{2025, 10};
  client c{cfg};
  auto r = c.push(one_row(a, loc_a, 6, ""));
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_TRUE(r.outcome.applied);
  EXPECT_EQ(level(a, loc_a)->available, 6);
  EXPECT_EQ(sim.requests("eu").back().api_version, "2025-10");
}

// -- throttling
// ----------------------------------------------------------------

TEST_F(client_test, throttled_when_over_budget_then_the_model_prevents_it) {
  auto a = sim.add_item("eu", "T", true, {{loc_a, 1}});
  sim.set_bucket_available("eu", 5);
  auto cfg = config();
  cfg.max_pacing_wait = 0ms;
  client c{cfg};
  // The fresh model believes the bucket is full: Shopify throttles.
  auto r = c.push(one_row(a, loc_a, 2, "k-t1"));
  EXPECT_EQ(r.status.kind, outcome::throttled);
  EXPECT_EQ(r.status.code, "THROTTLED");
  ASSERT_TRUE(r.status.retry_after);
  EXPECT_GE(*r.status.retry_after, 70ms); // (13 - 5) points at 100/s
  EXPECT_EQ(sim.requests("eu").back().answer, "throttled");
  EXPECT_EQ(level(a, loc_a)->available, 1);
  // Now the model knows; the next call is not sent at all.
  auto n = sim.requests("eu").size();
  auto again = c.push(one_row(a, loc_a, 2, "k-t2"));
  EXPECT_EQ(again.status.kind, outcome::throttled);
  EXPECT_EQ(again.status.requests, 0);
  EXPECT_EQ(sim.requests("eu").size(), n);
  EXPECT_FALSE(
      c.bucket().can_afford(c.push_cost_estimate(one_row(a, loc_a, 2, "x")),
                            bucket_model::clock::now()));
}

TEST_F(client_test, pacing_waits_for_points_instead_of_being_throttled) {
  auto a = sim.add_item("eu", "PACE", true, {{loc_a, 1}});
  client c{config()};
  for (int i = 0; i < 3; ++i) {
    sim.set_bucket_available("eu", 0);
    c.bucket().observe({2000, 0, 100}, bucket_model::clock::now());
    auto start = std::chrono::steady_clock::now();
    auto r = c.push(one_row(a, loc_a, 10 + i, "k-pace" + std::to_string(i)));
    ASSERT_TRUE(r.status.ok()) << r.status.message;
    EXPECT_GE(std::chrono::steady_clock::now() - start, 120ms);
  }
  for (auto& rec : sim.requests("eu"))
    EXPECT_NE(rec.answer, "throttled");
  EXPECT_EQ(level(a, loc_a)->available, 12);
}

TEST_F(client_test, throttle_with_429_honours_retry_after) {
  auto a = sim.add_item("eu", "T429", true, {{loc_a, 1}});
  auto f = sim.faults("eu");
  f.throttle_all = true;
  f.throttle_with_429 = true;
  sim.set_faults("eu", f);
  client c{config()};
  auto r = c.push(one_row(a, loc_a, 2, "k-429"));
  EXPECT_EQ(r.status.kind, outcome::throttled);
  EXPECT_EQ(r.status.http_status, 429);
  ASSERT_TRUE(r.status.retry_after);
  EXPECT_GE(*r.status.retry_after, 100ms);
}

// -- failures
// ------------------------------------------------------------------

TEST_F(client_test, server_errors_are_retryable) {
  auto a = sim.add_item("eu", "E", true, {{loc_a, 1}});
  auto f = sim.faults("eu");
  f.fail_next = 2;
  f.fail_status = 502;
  sim.set_faults("eu", f);
  client c{config()};
  auto read = c.read_levels({a});
  EXPECT_EQ(read.status.kind, outcome::retryable);
  EXPECT_EQ(read.status.http_status, 502);
  EXPECT_FALSE(read.status.may_have_applied);
  auto push = c.push(one_row(a, loc_a, 4, "k-5xx"));
  EXPECT_EQ(push.status.kind, outcome::retryable);
  EXPECT_EQ(push.status.code, "HTTP_502");
  EXPECT_TRUE(push.status.may_have_applied);
  auto retry = c.push(one_row(a, loc_a, 4, "k-5xx"));
  ASSERT_TRUE(retry.status.ok()) << retry.status.message;
  EXPECT_EQ(level(a, loc_a)->available, 4);
}

TEST_F(client_test, timeout_is_retryable_and_the_retry_is_applied_once) {
  auto a = sim.add_item("eu", "SLOW", true, {{loc_a, 1}});
  auto f = sim.faults("eu");
  f.delay = 600ms;
  sim.set_faults("eu", f);
  auto cfg = config();
  cfg.http.request_timeout = 150ms;
  client c{cfg};
  auto p = one_row(a, loc_a, 8, "k-slow");
  auto r = c.push(p);
  EXPECT_EQ(r.status.kind, outcome::retryable);
  EXPECT_EQ(r.status.code, "timeout");
  EXPECT_TRUE(r.status.may_have_applied);
  EXPECT_EQ(level(a, loc_a)->available, 8); // Shopify did apply it
  // A retry while the first attempt is still "in progress" (its answer is
  // still being held back).
  f.delay = 0ms;
  sim.set_faults("eu", f);
  auto busy = c.push(p);
  EXPECT_EQ(busy.status.kind, outcome::retryable);
  EXPECT_EQ(busy.status.code, "IDEMPOTENCY_CONCURRENT_REQUEST");
  EXPECT_TRUE(busy.status.may_have_applied);
  std::this_thread::sleep_for(650ms);
  auto done = c.push(p);
  ASSERT_TRUE(done.status.ok()) << done.status.message;
  EXPECT_TRUE(done.outcome.applied);
  EXPECT_EQ(level(a, loc_a)->history, (std::vector<int64_t>{0, 1, 8}));
  EXPECT_EQ(level(a, loc_a)->writes, 2u); // the seed and one push
}

TEST_F(client_test, dropped_before_apply_is_retryable_and_nothing_applied) {
  auto a = sim.add_item("eu", "DROP1", true, {{loc_a, 1}});
  auto f = sim.faults("eu");
  f.drop_next = 1;
  f.drop_when = fault_point::before_apply;
  sim.set_faults("eu", f);
  client c{config()};
  auto r = c.push(one_row(a, loc_a, 5, "k-d1"));
  EXPECT_EQ(r.status.kind, outcome::retryable);
  EXPECT_EQ(r.status.code, "connection_dropped");
  EXPECT_TRUE(r.status.may_have_applied); // the client cannot tell
  EXPECT_EQ(level(a, loc_a)->available, 1);
}

TEST_F(client_test, dropped_after_apply_retried_with_same_key_applies_once) {
  auto a = sim.add_item("eu", "DROP2", true, {{loc_a, 1}});
  auto f = sim.faults("eu");
  f.drop_next = 1;
  f.drop_when = fault_point::after_apply;
  sim.set_faults("eu", f);
  client c{config()};
  auto p = one_row(a, loc_a, 5, "k-d2");
  auto r = c.push(p);
  EXPECT_EQ(r.status.kind, outcome::retryable);
  EXPECT_TRUE(r.status.may_have_applied);
  // Someone edits the level before the retry: a second application would
  // overwrite that edit.
  sim.set_available("eu", a, loc_a, 2);
  auto retry = c.push(p);
  ASSERT_TRUE(retry.status.ok()) << retry.status.message;
  EXPECT_TRUE(retry.outcome.applied);
  EXPECT_EQ(level(a, loc_a)->available, 2);
  EXPECT_EQ(level(a, loc_a)->history, (std::vector<int64_t>{0, 1, 5, 2}));
  auto log = sim.requests("eu");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].answer, "dropped");
  EXPECT_TRUE(log[0].applied);
  EXPECT_EQ(log[1].answer, "replayed");
  EXPECT_FALSE(log[1].applied);
  EXPECT_EQ(log[0].idempotency_keys, log[1].idempotency_keys);
}

TEST_F(client_test, changed_push_under_an_old_key_is_refused) {
  auto a = sim.add_item("eu", "KEY", true, {{loc_a, 1}});
  client c{config()};
  ASSERT_TRUE(c.push(one_row(a, loc_a, 5, "k-same")).status.ok());
  auto r = c.push(one_row(a, loc_a, 6, "k-same"));
  EXPECT_EQ(r.status.kind, outcome::permanent);
  EXPECT_EQ(r.status.code, "IDEMPOTENCY_KEY_PARAMETER_MISMATCH");
  EXPECT_EQ(level(a, loc_a)->available, 5);
}

TEST_F(client_test, wrong_token_is_permanent_and_never_echoed) {
  auto cfg = config();
  cfg.access_token = "shpat_wrong_value_456";
  client c{cfg};
  auto r = c.read_levels({"gid://shopify/InventoryItem/1"});
  EXPECT_EQ(r.status.kind, outcome::permanent);
  EXPECT_EQ(r.status.http_status, 401);
  EXPECT_EQ(r.status.code, "HTTP_401");
  EXPECT_EQ(r.status.message.find("shpat_"), std::string::npos);
  EXPECT_EQ(sim.requests("eu").back().answer, "unauthorized");
}

TEST_F(client_test, unknown_shop_is_permanent) {
  auto cfg = config();
  cfg.shop_url = server.shop_url("nowhere");
  client c{cfg};
  auto r = c.read_levels({"gid://shopify/InventoryItem/1"});
  EXPECT_EQ(r.status.kind, outcome::permanent);
  EXPECT_EQ(r.status.http_status, 404);
}

TEST_F(client_test, connection_refused_is_retryable_and_not_applied) {
  auto cfg = config();
  server.stop();
  client c{cfg};
  auto r = c.push(one_row("gid://shopify/InventoryItem/1", loc_a, 1, "k"));
  EXPECT_EQ(r.status.kind, outcome::retryable);
  EXPECT_EQ(r.status.code, "connect_failed");
  EXPECT_FALSE(r.status.may_have_applied);
}

TEST_F(client_test, bad_configuration_is_refused) {
  auto cfg = config();
  cfg.shop_url = "ftp://x";
  EXPECT_THROW(client{cfg}, std::invalid_argument);
  cfg = config();
  cfg.access_token.clear();
  EXPECT_NE(client::check(cfg), "");
}

} // namespace
