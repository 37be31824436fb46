// The fixture of the Amazon shop tests: the real engine with its Amazon shop
// actor against the real Amazon simulator over loopback HTTP.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "actors/engine.hpp"
#include "simulators/amazon/simulator.hpp"
#include "tests/support/config.hpp"
#include "tests/support/eventually.hpp"

using namespace shelfsync;
using namespace std::chrono_literals;
using nlohmann::json;
using shelfsync::tests::eventually;

namespace amazon_fixture {

inline const amazon::sim_seller seller{
    "A2SHOPTEST", "amzn1.application-oa2-client.t", "shop-test-secret",
    "Atzr|shop-test-refresh"};

inline constexpr const char* shop_id = "amazon-us";

/// What one feed document carried: quantity by SKU, and the SKUs in order.
struct feed_content {
  std::map<std::string, int64_t> quantities;
  std::vector<std::string> skus;
};

inline feed_content content_of(const amazon::sim_feed_view& feed) {
  feed_content out;
  auto doc = json::parse(feed.body, nullptr, false);
  if (!doc.is_object()) return out;
  for (auto& m : doc["messages"]) {
    auto sku = m["sku"].get<std::string>();
    out.skus.push_back(sku);
    out.quantities[sku] =
        m["patches"][0]["value"][0]["quantity"].get<int64_t>();
  }
  return out;
}

/// The simulator's clock, which a test can push forward.
struct shifted_clock {
  std::atomic<int64_t> offset_ms{0};
  amazon::rate_clock::time_point now() const {
    return amazon::rate_clock::now() + std::chrono::milliseconds{offset_ms};
  }
};

class amazon_shop_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::remove_all(dir);
    amazon::simulator_config scfg;
    scfg.now = [this] {
      return clock.now();
    };
    scfg.sellers = {seller};
    scfg.queue_delay = 100ms;
    scfg.processing_delay = 200ms;
    sim = std::make_unique<amazon::simulator>(scfg);
    server = std::make_unique<amazon::simulator_server>(*sim);
    set_credentials();
  }

  void TearDown() override {
    eng.reset();
    // Every feed the shop produced is valid against Amazon's schemas.
    if (sim) {
      for (auto& f : sim->feeds())
        EXPECT_TRUE(f.validation_issues.empty())
            << "feed " << f.feed_id << ": " << f.validation_issues.front();
    }
    server.reset();
    sim.reset();
    std::filesystem::remove_all(dir);
    for (auto name : {"SHOP_TEST_ID", "SHOP_TEST_SECRET", "SHOP_TEST_REFRESH"})
      ::unsetenv(name);
  }

  static void set_credentials() {
    ::setenv("SHOP_TEST_ID", seller.client_id.c_str(), 1);
    ::setenv("SHOP_TEST_SECRET", seller.client_secret.c_str(), 1);
    ::setenv("SHOP_TEST_REFRESH", seller.refresh_token.c_str(), 1);
  }

  /// The engine's config: WH-A always enabled for the shop, WH-B as asked.
  config_ptr make_config(bool wh_b = false,
                         std::chrono::milliseconds interval = 100ms,
                         bool sync = true) {
    auto s = tests::make_shop(shop_id, channel_kind::amazon,
                              {{"WH-A", true, ""}, {"WH-B", wh_b, ""}});
    s.stock_sync = sync;
    s.amazon.endpoint = server->base_url();
    s.amazon.lwa_endpoint = server->base_url() + "/auth/o2/token";
    s.amazon.seller_id = seller.seller_id;
    s.amazon.marketplace_ids = {"ATVPDKIKX0DER"};
    s.amazon.client_id_env = "SHOP_TEST_ID";
    s.amazon.client_secret_env = "SHOP_TEST_SECRET";
    s.amazon.refresh_token_env = "SHOP_TEST_REFRESH";
    s.amazon.batch_interval = interval;
    s.amazon.feed_poll = 100ms;
    return tests::make_config(dir, {"WH-A", "WH-B"}, {s});
  }

  void start(config_ptr conf) {
    auto started = engine::start(std::move(conf), opts);
    ASSERT_TRUE(started) << to_string(started.error());
    eng = std::move(*started);
  }

  static stock_event on_hand(std::string product, std::string wh, int64_t n) {
    static int counter = 0;
    stock_event e;
    e.id = "ev-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    e.product = std::move(product);
    e.warehouse = std::move(wh);
    e.fields = stock_event::has_on_hand;
    e.on_hand = n;
    return e;
  }

  void ingest(std::vector<stock_event> batch) {
    std::promise<caf::expected<ingest_result>> done;
    auto answer = done.get_future();
    eng->ingest(std::move(batch), [&](caf::expected<ingest_result> r) {
      done.set_value(std::move(r));
    });
    ASSERT_EQ(answer.wait_for(10s), std::future_status::ready);
    auto r = answer.get();
    ASSERT_TRUE(r) << to_string(r.error());
    ASSERT_TRUE(eng->sync());
  }

  std::optional<int64_t> listed(const std::string& sku) const {
    auto l = sim->listing(seller.seller_id, sku);
    if (!l) return std::nullopt;
    return l->quantity();
  }

  /// What GET /v1/products/{sku} shows for the shop (the delivery record).
  delivery delivered(const std::string& sku) {
    delivery_record rec;
    auto found = eng->db().load_delivery(shop_id, sku, rec);
    EXPECT_TRUE(found);
    auto i = rec.find("");
    return i == rec.end() ? delivery{} : i->second;
  }

  bool confirmed(const std::string& sku, int64_t value) {
    auto d = delivered(sku);
    return d.state == delivery_state::confirmed && d.has_confirmed &&
           d.confirmed == value;
  }

  shop_status status() {
    std::promise<std::vector<shop_status>> done;
    auto answer = done.get_future();
    eng->shops([&](std::vector<shop_status> s) {
      done.set_value(std::move(s));
    });
    EXPECT_EQ(answer.wait_for(10s), std::future_status::ready);
    auto all = answer.get();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? shop_status{} : all.front();
  }

  json metrics() { return json::parse(status().details)["metrics"]; }

  /// Confirms P1 at 5, then sends P1 = 9 through a createFeed that Amazon
  /// carries out while `fault` keeps its answer from the shop.
  void create_feed_unheard(amazon::sim_faults fault) {
    start(make_config());
    ingest({on_hand("P1", "WH-A", 5)});
    ASSERT_TRUE(eventually([&] {
      return confirmed("P1", 5);
    }));
    fault.path_prefix = "/feeds/2021-06-30/feeds";
    sim->set_faults(fault);
    ingest({on_hand("P1", "WH-A", 9)});
    ASSERT_TRUE(eventually([&] {
      return sim->feeds().size() == 2u;
    }));
  }

  /// Expects P1 back at 5 at Amazon, from a third feed, and confirmed.
  void expect_p1_back_at_5() {
    EXPECT_TRUE(eventually(
        [&] {
          return listed("P1") == 5 && sim->feeds().size() == 3u &&
                 confirmed("P1", 5);
        },
        20s))
        << "Amazon lists " << listed("P1").value_or(-1) << " after "
        << sim->feeds().size() << " feeds";
  }

  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-amazon-shop-" + std::to_string(::getpid())))
                        .string();
  shifted_clock clock;
  std::unique_ptr<amazon::simulator> sim;
  std::unique_ptr<amazon::simulator_server> server;
  std::unique_ptr<engine> eng;
  engine_options opts;
};

} // namespace amazon_fixture

using amazon_fixture::amazon_shop_test;
using amazon_fixture::content_of;
using amazon_fixture::feed_content;
using amazon_fixture::seller;
using amazon_fixture::shop_id;
