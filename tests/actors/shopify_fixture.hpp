// The fixture of the Shopify shop tests: the real engine with its Shopify
// shop actor against the real Shopify simulator over loopback HTTP. Every
// wait polls the simulator (or the engine's store) with a bound.
#pragma once

#include "actors/shopify_shop.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/engine.hpp"
#include "simulators/shopify/simulator.hpp"
#include "tests/support/config.hpp"
#include "tests/support/eventually.hpp"

using namespace shelfsync;
using namespace std::chrono_literals;
using shelfsync::tests::eventually;
namespace sim = shelfsync::shopify::sim;

namespace shopify_fixture {

inline constexpr const char* loc_a = "gid://shopify/Location/1001";
inline constexpr const char* loc_b = "gid://shopify/Location/1002";
inline constexpr const char* loc_c = "gid://shopify/Location/1003";
inline constexpr const char* token = "shpat_shop_test_token";
inline constexpr const char* token_env = "SHELFSYNC_TEST_SHOPIFY_TOKEN";

inline std::atomic<int> dirs{0};

class shopify_shop_test : public ::testing::Test {
 protected:
  void SetUp() override {
    sim.add_shop("eu", token);
    sim.add_location("eu", "WH A", loc_a);
    sim.add_location("eu", "WH B", loc_b);
    sim.add_location("eu", "Shop floor", loc_c);
    server = std::make_unique<shopify::simulator_server>(sim);
    ::setenv(token_env, token, 1);
    dir = (std::filesystem::temp_directory_path() /
           ("shelfsync-shopify-" + std::to_string(::getpid()) + "-" +
            std::to_string(dirs++)))
              .string();
    std::filesystem::remove_all(dir);
  }

  void TearDown() override {
    eng.reset();
    server->stop();
    std::filesystem::remove_all(dir);
  }

  /// WH-A → loc_a and WH-B → loc_b for shop "eu"; WH-C is not this shop's.
  config_ptr make_config(bool stock_sync = true, bool wh_b = true) {
    auto eu = tests::make_shop(
        "eu", channel_kind::shopify,
        {{"WH-A", true, loc_a}, {"WH-B", wh_b, wh_b ? loc_b : ""}});
    eu.stock_sync = stock_sync;
    eu.shopify.shop_url = server->shop_url("eu");
    eu.shopify.access_token_env = token_env;
    return tests::make_config(dir, {"WH-A", "WH-B", "WH-C"}, {eu});
  }

  void start(config_ptr conf = nullptr) {
    auto e = engine::start(conf ? conf : make_config(), opts);
    ASSERT_TRUE(e) << to_string(e.error());
    eng = std::move(*e);
  }

  static stock_event set(const std::string& id, const std::string& product,
                         const std::string& warehouse, int64_t on_hand) {
    stock_event e;
    e.id = id;
    e.product = product;
    e.warehouse = warehouse;
    e.fields = stock_event::has_on_hand;
    e.on_hand = on_hand;
    return e;
  }

  void ingest(std::vector<stock_event> batch) {
    std::promise<caf::expected<ingest_result>> done;
    eng->ingest(std::move(batch), [&](caf::expected<ingest_result> r) {
      done.set_value(std::move(r));
    });
    auto r = done.get_future().get();
    ASSERT_TRUE(r) << to_string(r.error());
  }

  /// The simulator's item with `sku` (the first one), or null.
  const sim::item* item(const std::string& sku) {
    snapshot = sim.inventory("eu");
    for (auto& it : snapshot.items())
      if (it.sku == sku) return &it;
    return nullptr;
  }

  /// The active level of `sku` at `loc` in the simulator, or -1.
  int64_t level(const std::string& sku, const std::string& loc) {
    auto* it = item(sku);
    if (it == nullptr) return -1;
    auto* lv = it->stocked_at(loc);
    return lv ? lv->available : -1;
  }

  /// The delivery record of `product` for shop "eu".
  delivery_record deliveries(const std::string& product) {
    delivery_record rec;
    auto found = eng->db().load_delivery("eu", product, rec);
    if (!found || !*found) rec.clear();
    return rec;
  }

  bool confirmed(const std::string& product, const std::string& loc,
                 int64_t value) {
    auto rec = deliveries(product);
    auto i = rec.find(loc);
    return i != rec.end() && i->second.state == delivery_state::confirmed &&
           i->second.confirmed == value;
  }

  static std::string code(int i) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "P-%03d", i);
    return buf;
  }

  /// Seeds `n` items stocked at loc_a, delivers i + 1 for each and waits
  /// until every one is confirmed.
  void deliver_catalog(int n, config_ptr conf = nullptr) {
    for (int i = 0; i < n; ++i)
      sim.add_item("eu", code(i), true, {{loc_a, 0}});
    start(conf);
    std::vector<stock_event> batch;
    for (int i = 0; i < n; ++i)
      batch.push_back(set("e" + std::to_string(i), code(i), "WH-A", i + 1));
    ingest(std::move(batch));
    ASSERT_TRUE(eventually(
        [&] {
          for (int i = 0; i < n; ++i)
            if (!confirmed(code(i), loc_a, i + 1)) return false;
          return true;
        },
        30s));
    ASSERT_TRUE(eng->sync());
  }

  /// Changes every `step`-th item to 500 behind shelfsync's back.
  std::vector<int> edit_behind(int n, int step) {
    std::vector<int> edited;
    for (int i = 0; i < n; i += step) {
      sim.set_available("eu", item(code(i))->id, loc_a, 500);
      edited.push_back(i);
    }
    return edited;
  }

  size_t requests() { return sim.requests("eu").size(); }

  size_t requests_named(const std::string& operation) {
    size_t n = 0;
    for (auto& r : sim.requests("eu"))
      n += r.operation_name == operation ? 1 : 0;
    return n;
  }

  shop_status status() {
    std::promise<std::vector<shop_status>> done;
    eng->shops([&](std::vector<shop_status> s) {
      done.set_value(s);
    });
    auto all = done.get_future().get();
    return all.empty() ? shop_status{} : all.front();
  }

  shopify::simulator sim;
  std::unique_ptr<shopify::simulator_server> server;
  std::string dir;
  std::unique_ptr<engine> eng;
  engine_options opts;
  sim::store snapshot;
};

} // namespace shopify_fixture

using shopify_fixture::loc_a;
using shopify_fixture::loc_b;
using shopify_fixture::loc_c;
using shopify_fixture::shopify_shop_test;
