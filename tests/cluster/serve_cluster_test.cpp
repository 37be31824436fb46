// Two real `shelfsync serve` processes in clustered mode on 3 real
// nats-server processes, over HTTP: ingest on one node, read on the other,
// a resend, a refused batch, and a SIGKILLed node whose slots the other
// takes over.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "net/url.hpp"
#include "simulators/shopify/simulator.hpp"
#include "tests/api/child_process.hpp"
#include "tests/cluster/nats_test_support.hpp"

using json = nlohmann::json;
using namespace shelfsync;
using namespace std::chrono_literals;

namespace {

struct serve_cluster : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-serve-cluster-" + std::to_string(::getpid())))
                        .string();

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::setenv("SERVE_CLUSTER_TOKEN", "cluster-token", 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  /// Starts node `id` on `port`; nothing when it does not come up.
  std::unique_ptr<tests::shelfsync_process>
  start(const std::string& id, uint16_t port,
        const std::vector<std::string>& urls, const json& shops = json::array(),
        int replicas = 3) {
    json conf{{"node",
               {{"data_dir", dir + "/" + id},
                {"listen", "127.0.0.1:" + std::to_string(port)},
                {"cluster",
                 {{"node_id", id},
                  {"nats", urls},
                  {"slots", 4},
                  {"replicas", replicas}}}}},
              {"api", {{"token_env", "SERVE_CLUSTER_TOKEN"}}},
              {"warehouses", {{{"id", "WH-A"}}, {{"id", "WH-B"}}}},
              {"shops", shops}};
    auto path = dir + "/" + id + ".json";
    std::ofstream{path} << conf.dump(2);
    auto child = std::make_unique<tests::shelfsync_process>(
        std::vector<std::string>{"serve", "--config", path},
        dir + "/" + id + ".log");
    EXPECT_TRUE(child->wait_until_started(port))
        << id << " did not come up; its log:\n"
        << child->log();
    return child;
  }

  static http::result send(uint16_t port, http::verb verb,
                           const std::string& target,
                           const std::string& body = "") {
    http::client c{
        *http::parse_url("http://127.0.0.1:" + std::to_string(port))};
    auto req = http::make_request(verb, target, body, "application/json");
    req.set(boost::beast::http::field::authorization, "Bearer cluster-token");
    return c.send(std::move(req));
  }

  /// GET /v1/products/{code} until it answers 200 (a take-over answers 503
  /// meanwhile), for at most `limit`; the body, or null.
  static json product(uint16_t port, const std::string& code,
                      std::chrono::seconds limit = 30s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = send(port, http::verb::get, "/v1/products/" + code);
      if (r.ok() && r.value().result_int() == 200)
        return json::parse(r.value().body());
      std::this_thread::sleep_for(200ms);
    }
    return nullptr;
  }
};

std::string batch(int first, int count, const std::string& product) {
  json events = json::array();
  for (int i = first; i < first + count; ++i)
    events.push_back({{"id", "ev-" + std::to_string(i)},
                      {"product", product},
                      {"warehouse", "WH-A"},
                      {"delta", 1}});
  return events.dump();
}

} // namespace

TEST_F(serve_cluster,
       any_node_takes_events_and_reads_them_and_survives_a_kill) {
  ASSERT_NE(std::getenv("SHELFSYNC_BIN"), nullptr);
  START_NATS(nats, 3);
  auto p1 = tests::free_port();
  auto p2 = tests::free_port();
  auto n1 = start("n1", p1, nats.urls());
  auto n2 = start("n2", p2, nats.urls());
  ASSERT_TRUE(n1 && n2);

  // Products over every slot; each gets 3 events posted to n1.
  std::vector<std::string> codes;
  for (int p = 0; p < 8; ++p)
    codes.push_back("sku-" + std::to_string(p));
  int next = 0;
  for (auto& code : codes) {
    auto body = batch(next, 3, code);
    next += 3;
    auto r = send(p1, http::verb::post, "/v1/stock/events", body);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
    EXPECT_EQ(json::parse(r.value().body())["accepted"], 3);
  }
  // Read on n2: every batch answered 200 by n1 is there.
  for (auto& code : codes) {
    auto p = product(p2, code);
    ASSERT_FALSE(p.is_null()) << code << "\n" << n2->log();
    EXPECT_EQ(p["warehouses"]["WH-A"]["on_hand"], 3) << code;
  }

  // The same batch resent to n2 is stored once and applied once.
  auto resent =
      send(p2, http::verb::post, "/v1/stock/events", batch(0, 3, codes[0]));
  ASSERT_TRUE(resent.ok());
  ASSERT_EQ(resent.value().result_int(), 200);
  EXPECT_EQ(json::parse(resent.value().body())["duplicates"], 3);
  EXPECT_EQ(product(p1, codes[0])["warehouses"]["WH-A"]["on_hand"], 3);

  // A bad batch is refused as on one node, and applies nothing.
  json bad = json::array({{{"id", "x1"},
                           {"product", codes[1]},
                           {"warehouse", "WH-A"},
                           {"delta", 5}},
                          {{"id", "x2"},
                           {"product", codes[1]},
                           {"warehouse", "WH-Z"},
                           {"delta", 5}}});
  auto refused = send(p1, http::verb::post, "/v1/stock/events", bad.dump());
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused.value().result_int(), 422);
  EXPECT_EQ(json::parse(refused.value().body())["index"], 1);
  EXPECT_EQ(product(p2, codes[1])["warehouses"]["WH-A"]["on_hand"], 3);

  // Each node shows its share of the slots in /metrics; between them they
  // own the 4 slots.
  int owned = 0;
  for (auto port : {p1, p2}) {
    auto m = send(port, http::verb::get, "/metrics");
    ASSERT_TRUE(m.ok());
    auto text = m.value().body();
    for (int slot = 0; slot < 4; ++slot)
      if (text.find("shelfsync_cluster_slot_owned{slot=\"" +
                    std::to_string(slot) + "\"} 1") != std::string::npos)
        ++owned;
    EXPECT_NE(
        text.find("shelfsync_cluster_lease_renewals_total{result=\"ok\"}"),
        std::string::npos)
        << text;
  }
  EXPECT_EQ(owned, 4);

  // n1 is SIGKILLed; n2 takes its slots (after their leases run out) and
  // applies what was posted to it meanwhile: nothing lost, nothing twice.
  n1.reset();
  for (auto& code : codes) {
    auto body = batch(next, 2, code);
    next += 2;
    auto r = send(p2, http::verb::post, "/v1/stock/events", body);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
  }
  for (auto& code : codes) {
    auto p = product(p2, code, 40s);
    ASSERT_FALSE(p.is_null()) << code << "\n" << n2->log();
    EXPECT_EQ(p["warehouses"]["WH-A"]["on_hand"], 5) << code;
  }
  auto m = send(p2, http::verb::get, "/metrics");
  ASSERT_TRUE(m.ok());
  for (int slot = 0; slot < 4; ++slot)
    EXPECT_NE(m.value().body().find("shelfsync_cluster_slot_owned{slot=\"" +
                                    std::to_string(slot) + "\"} 1"),
              std::string::npos)
        << "n2 took slot " << slot << "\n"
        << m.value().body();
}

TEST_F(serve_cluster,
       the_node_owning_a_shop_s_slot_drives_it_and_a_survivor_takes_over) {
  ASSERT_NE(std::getenv("SHELFSYNC_BIN"), nullptr);
  START_NATS(nats, 3);
  const std::string loc_a = "gid://shopify/Location/1001";
  shopify::simulator sim;
  sim.add_shop("eu", "shpat_serve_cluster");
  sim.add_location("eu", "WH A", loc_a);
  for (int p = 0; p < 4; ++p)
    sim.add_item("eu", "sku-" + std::to_string(p), true, {{loc_a, 0}});
  shopify::simulator_server server{sim};
  ::setenv("SERVE_CLUSTER_SHOPIFY_TOKEN", "shpat_serve_cluster", 1);
  json shops = json::array(
      {{{"id", "eu"},
        {"channel", "shopify"},
        {"stock_sync", true},
        {"shopify",
         {{"shop_url", server.shop_url("eu")},
          {"api_version", "2026-10"},
          {"access_token_env", "SERVE_CLUSTER_SHOPIFY_TOKEN"}}},
        {"warehouses",
         {{{"warehouse", "WH-A"}, {"enabled", true}, {"location", loc_a}},
          {{"warehouse", "WH-B"}, {"enabled", false}}}}}});
  auto p1 = tests::free_port();
  auto p2 = tests::free_port();
  auto n1 = start("n1", p1, nats.urls(), shops);
  auto n2 = start("n2", p2, nats.urls(), shops);
  ASSERT_TRUE(n1 && n2);
  auto level = [&](int p) {
    auto inv = sim.inventory("eu");
    for (auto& it : inv.items())
      if (it.sku == "sku-" + std::to_string(p))
        return it.stocked_at(loc_a)->available;
    return int64_t{-1};
  };
  auto converged = [&](int64_t want) {
    for (int i = 0; i < 300; ++i) {
      bool all = true;
      for (int p = 0; p < 4; ++p)
        all = all && level(p) == want;
      if (all) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  int next = 0;
  for (int p = 0; p < 4; ++p) {
    auto r = send(p1, http::verb::post, "/v1/stock/events",
                  batch(next, 3, "sku-" + std::to_string(p)));
    next += 3;
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
  }
  ASSERT_TRUE(converged(3)) << n1->log() << n2->log();

  // Both nodes name the same driver (the other reads the lease every
  // second), and exactly one drives the shop.
  std::string driver;
  int driven_here = 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::vector<json> seen;
    for (auto port : {p1, p2}) {
      auto r = send(port, http::verb::get, "/v1/shops/eu");
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
      auto c = json::parse(r.value().body())["cluster"];
      ASSERT_TRUE(c.is_object()) << r.value().body();
      seen.push_back(c);
    }
    if (seen[0]["driver"].is_string() &&
        seen[0]["driver"] == seen[1]["driver"]) {
      driver = seen[0]["driver"];
      driven_here = (seen[0]["driven_here"].get<bool>() ? 1 : 0) +
                    (seen[1]["driven_here"].get<bool>() ? 1 : 0);
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(driver.empty()) << "the nodes do not agree on the driver";
  EXPECT_EQ(driven_here, 1);

  // The driving node is SIGKILLed; the other drives the shop from where it
  // stopped, and no level goes backwards.
  auto& survivor_port = driver == "n1" ? p2 : p1;
  (driver == "n1" ? n1 : n2).reset();
  for (int p = 0; p < 4; ++p) {
    auto r = send(survivor_port, http::verb::post, "/v1/stock/events",
                  batch(next, 2, "sku-" + std::to_string(p)));
    next += 2;
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
  }
  ASSERT_TRUE(converged(5));
  auto inv = sim.inventory("eu");
  for (auto& it : inv.items())
    for (auto& lv : it.levels)
      for (size_t i = 1; i < lv.history.size(); ++i)
        EXPECT_GE(lv.history[i], lv.history[i - 1]) << it.sku;
  server.stop();
}

TEST_F(serve_cluster,
       a_resync_asked_on_a_node_not_driving_the_shop_restores_its_levels) {
  ASSERT_NE(std::getenv("SHELFSYNC_BIN"), nullptr);
  START_NATS(nats, 1);
  const std::string loc_a = "gid://shopify/Location/1001";
  shopify::simulator sim;
  sim.add_shop("eu", "shpat_serve_cluster");
  const std::string loc_b = "gid://shopify/Location/1002";
  sim.add_location("eu", "WH A", loc_a);
  sim.add_location("eu", "Pop-up", loc_b); // no warehouse maps to it
  for (int p = 0; p < 3; ++p)
    sim.add_item("eu", "sku-" + std::to_string(p), true,
                 {{loc_a, 0}, {loc_b, p == 2 ? 7 : 0}});
  shopify::simulator_server server{sim};
  ::setenv("SERVE_CLUSTER_SHOPIFY_TOKEN", "shpat_serve_cluster", 1);
  json shops = json::array(
      {{{"id", "eu"},
        {"channel", "shopify"},
        {"stock_sync", true},
        {"shopify",
         {{"shop_url", server.shop_url("eu")},
          {"api_version", "2026-10"},
          {"access_token_env", "SERVE_CLUSTER_SHOPIFY_TOKEN"}}},
        {"warehouses",
         {{{"warehouse", "WH-A"}, {"enabled", true}, {"location", loc_a}}}}}});
  auto p1 = tests::free_port();
  auto p2 = tests::free_port();
  auto n1 = start("n1", p1, nats.urls(), shops, 1);
  auto n2 = start("n2", p2, nats.urls(), shops, 1);
  ASSERT_TRUE(n1 && n2);
  auto item = [&](int p) {
    auto inv = sim.inventory("eu");
    for (auto& it : inv.items())
      if (it.sku == "sku-" + std::to_string(p)) return it;
    return shopify::sim::item{};
  };
  auto level_is = [&](int p, int64_t want, const std::string& loc) {
    for (int i = 0; i < 300; ++i) {
      auto it = item(p);
      if (auto* lv = it.stocked_at(loc); lv && lv->available == want)
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  for (int p = 0; p < 3; ++p) {
    auto r = send(p1, http::verb::post, "/v1/stock/events",
                  batch(10 * p, 3, "sku-" + std::to_string(p)));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
  }
  for (int p = 0; p < 3; ++p)
    ASSERT_TRUE(level_is(p, 3, loc_a)) << n1->log() << n2->log();
  // The unmapped location holding stock is zeroed with the update (rule 5).
  EXPECT_TRUE(level_is(2, 0, loc_b));

  // The node that does not drive the shop, as both nodes agree.
  uint16_t other = 0;
  for (int attempt = 0; attempt < 50 && other == 0; ++attempt) {
    std::vector<json> seen;
    for (auto port : {p1, p2}) {
      auto r = send(port, http::verb::get, "/v1/shops/eu");
      ASSERT_TRUE(r.ok()) << r.error().message << n1->log() << n2->log();
      seen.push_back(json::parse(r.value().body())["cluster"]);
    }
    if (seen[0]["driver"].is_string() && seen[0]["driver"] == seen[1]["driver"])
      other = seen[0]["driven_here"].get<bool>() ? p2 : p1;
    else
      std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(other, 0) << "the nodes do not agree on the driver";

  // Someone edits levels in Shopify; shelfsync's records still say 3.
  sim.set_available("eu", item(1).id, loc_a, 42);
  sim.set_available("eu", item(0).id, loc_b, 5);
  auto r = send(other, http::verb::post, "/v1/shops/eu/resync");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value().result_int(), 202) << r.value().body();
  EXPECT_EQ(json::parse(r.value().body())["resync"]["requested"], 1);
  EXPECT_TRUE(level_is(1, 3, loc_a)) << n1->log() << n2->log();
  EXPECT_TRUE(level_is(0, 0, loc_b));

  // The progress shows on the node that asked: finished, every product
  // compared, two rows pushed.
  json seen;
  for (int i = 0; i < 100; ++i) {
    auto got = send(other, http::verb::get, "/v1/shops/eu");
    ASSERT_TRUE(got.ok());
    seen = json::parse(got.value().body())["cluster"]["resync"];
    if (seen.is_object() && seen["state"] == "finished") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(seen.is_object());
  EXPECT_EQ(seen["state"], "finished") << seen.dump();
  EXPECT_EQ(seen["done"], 1);
  EXPECT_EQ(seen["scanned"], 3);
  EXPECT_EQ(seen["pushed"], 2);
  EXPECT_TRUE(level_is(0, 3, loc_a) && level_is(2, 3, loc_a));
  auto history = item(1).stocked_at(loc_a)->history;
  ASSERT_GE(history.size(), 2u);
  EXPECT_EQ(history[history.size() - 2], 42);
  EXPECT_EQ(history.back(), 3);

  r = send(other, http::verb::post, "/v1/shops/nope/resync");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().result_int(), 404) << r.value().body();

  // Two products Shopify has no item for fail for good; any node lists
  // them from the cluster's delivery records, a page at a time.
  for (auto code : {"gone-1", "gone-2"}) {
    r = send(p1, http::verb::post, "/v1/stock/events",
             json::array({{{"id", std::string{"ev-"} + code},
                           {"product", code},
                           {"warehouse", "WH-A"},
                           {"delta", 4}}})
                 .dump());
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
  }
  json page;
  for (int i = 0; i < 100; ++i) {
    r = send(other, http::verb::get,
             "/v1/shops/eu/deliveries?state=failed&limit=1");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
    page = json::parse(r.value().body());
    if (page["next_cursor"] == "gone-1") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(page["entries"].size(), 1u) << page.dump();
  EXPECT_EQ(page["entries"][0]["product"], "gone-1");
  EXPECT_EQ(page["entries"][0]["locations"][0]["location"], loc_a);
  EXPECT_NE(page["entries"][0]["locations"][0]["error"]["message"]
                .get<std::string>()
                .find("SKU_NOT_FOUND"),
            std::string::npos)
      << page.dump();
  EXPECT_EQ(page["next_cursor"], "gone-1");
  r = send(other, http::verb::get,
           "/v1/shops/eu/deliveries?state=failed&limit=1&cursor=gone-1");
  ASSERT_TRUE(r.ok());
  page = json::parse(r.value().body());
  ASSERT_EQ(page["entries"].size(), 1u) << page.dump();
  EXPECT_EQ(page["entries"][0]["product"], "gone-2");
  EXPECT_TRUE(page["next_cursor"].is_null());
  r = send(other, http::verb::get, "/v1/shops/eu/deliveries?state=in_flight");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(json::parse(r.value().body())["entries"].size(), 0u)
      << r.value().body();
  // The pending list is not kept in clustered mode: 501 saying so.
  r = send(other, http::verb::get, "/v1/shops/eu/deliveries?state=pending");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().result_int(), 501) << r.value().body();
  EXPECT_NE(r.value().body().find("clustered mode"), std::string::npos);
  server.stop();
}
