// Two real `shelfsync serve` processes in clustered mode on 3 real
// nats-server processes, over HTTP: ingest on one node, read on the other,
// a resend, a refused batch, and a SIGKILLed node whose slots the other
// takes over.
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster/event_log.hpp"
#include "cluster/slots.hpp"
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
  /// The Shopify shop "eu" at `url` (its token set in the environment),
  /// warehouse WH-A at `location`.
  static json eu_shop(const std::string& url, const std::string& location) {
    ::setenv("SERVE_CLUSTER_SHOPIFY_TOKEN", "shpat_serve_cluster", 1);
    return {
        {"id", "eu"},
        {"channel", "shopify"},
        {"stock_sync", true},
        {"shopify",
         {{"shop_url", url},
          {"api_version", "2026-10"},
          {"access_token_env", "SERVE_CLUSTER_SHOPIFY_TOKEN"}}},
        {"warehouses",
         {{{"warehouse", "WH-A"}, {"enabled", true}, {"location", location}}}}};
  }

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
        const std::vector<std::string>& urls,
        const json& shops = json::array()) {
    return start_with(id, port, urls, 3, {{{"id", "WH-A"}}, {{"id", "WH-B"}}},
                      shops);
  }

  /// Starts node `id` with `replicas`, `warehouses` and `shops`.
  std::unique_ptr<tests::shelfsync_process>
  start_with(const std::string& id, uint16_t port,
             const std::vector<std::string>& urls, int replicas,
             const json& warehouses, const json& shops) {
    json conf{{"node",
               {{"data_dir", dir + "/" + id},
                {"listen", "127.0.0.1:" + std::to_string(port)},
                {"cluster",
                 {{"node_id", id},
                  {"nats", urls},
                  {"slots", 4},
                  {"replicas", replicas}}}}},
              {"api", {{"token_env", "SERVE_CLUSTER_TOKEN"}}},
              {"warehouses", warehouses},
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
  auto shop = eu_shop(server.shop_url("eu"), loc_a);
  shop["warehouses"].push_back({{"warehouse", "WH-B"}, {"enabled", false}});
  json shops = json::array({shop});
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

namespace {

/// A Shopify shop whose token is not set: it is not started, but it is in
/// the config (and so in what must agree).
json one_shop() {
  return json::array(
      {{{"id", "eu"},
        {"channel", "shopify"},
        {"shopify",
         {{"shop_url", "http://127.0.0.1:1"},
          {"access_token_env", "SERVE_CLUSTER_UNSET_TOKEN"}}},
        {"warehouses", {{{"warehouse", "WH-A"}, {"enabled", false}}}}}});
}

} // namespace

TEST_F(serve_cluster, a_node_with_another_config_takes_no_slots_and_says_so) {
  ASSERT_NE(std::getenv("SHELFSYNC_BIN"), nullptr);
  START_NATS(nats, 1);
  ::unsetenv("SERVE_CLUSTER_UNSET_TOKEN");
  auto p1 = tests::free_port();
  auto p2 = tests::free_port();
  json both = {{{"id", "WH-A"}}, {{"id", "WH-B"}}};
  auto n1 = start_with("n1", p1, nats.urls(), 1, both, one_shop());
  ASSERT_TRUE(n1);
  // n2 lacks a warehouse: its config differs from the cluster's.
  auto n2 =
      start_with("n2", p2, nats.urls(), 1, {{{"id", "WH-A"}}}, one_shop());
  ASSERT_TRUE(n2);

  auto cluster_of = [&](uint16_t port) {
    auto r = send(port, http::verb::get, "/v1/cluster");
    EXPECT_TRUE(r.ok());
    if (!r.ok() || r.value().result_int() != 200) return json{};
    return json::parse(r.value().body());
  };
  auto owned_by = [](const json& view, const std::string& id) {
    for (auto& n : view["nodes"])
      if (n["id"] == id) return n["slots_owned"].get<int>();
    return -1;
  };
  json view;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  do {
    view = cluster_of(p2);
    if (!view.is_null() && view["node"]["takes_slots"] == false &&
        owned_by(view, "n1") == 4 && owned_by(view, "n2") == 0)
      break;
    std::this_thread::sleep_for(200ms);
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_FALSE(view.is_null());
  EXPECT_EQ(view["node"]["id"], "n2") << view.dump(2);
  EXPECT_EQ(view["node"]["takes_slots"], false) << view.dump(2);
  EXPECT_EQ(owned_by(view, "n1"), 4) << view.dump(2);
  EXPECT_EQ(owned_by(view, "n2"), 0) << view.dump(2);
  EXPECT_EQ(view["config_digest_set_by"], "n1");
  ASSERT_EQ(view["nodes"].size(), 2u);
  EXPECT_EQ(view["nodes"][0]["address"], "127.0.0.1:" + std::to_string(p1));
  EXPECT_EQ(view["nodes"][0]["alive"], true);
  EXPECT_EQ(view["nodes"][0]["shops_owned"], json::array({"eu"}));
  EXPECT_NE(view["nodes"][1]["config_digest"], view["config_digest"]);
  ASSERT_EQ(view["slots"].size(), 4u);
  for (auto& s : view["slots"]) {
    EXPECT_EQ(s["owner"], "n1");
    EXPECT_EQ(s["lag_events"], 0);
  }
  ASSERT_EQ(view["problems"].size(), 1u) << view.dump(2);
  EXPECT_NE(
      view["problems"][0].get<std::string>().find("node n2's config digest"),
      std::string::npos);
  EXPECT_NE(n2->log().find("differs from the cluster's"), std::string::npos)
      << n2->log();

  // n2 is not ready and refuses events (checked against a config the
  // cluster does not share); n1 takes them.
  auto ready = send(p2, http::verb::get, "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready.value().result_int(), 503);
  EXPECT_NE(ready.value().body().find("differs from the cluster's"),
            std::string::npos)
      << ready.value().body();
  auto refused =
      send(p2, http::verb::post, "/v1/stock/events", batch(0, 3, "sku-x"));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused.value().result_int(), 503) << refused.value().body();
  EXPECT_NE(refused.value().body().find("send it to another node"),
            std::string::npos);
  auto posted =
      send(p1, http::verb::post, "/v1/stock/events", batch(0, 3, "sku-x"));
  ASSERT_TRUE(posted.ok());
  ASSERT_EQ(posted.value().result_int(), 200) << posted.value().body();
  EXPECT_EQ(product(p2, "sku-x")["warehouses"]["WH-A"]["on_hand"], 3);

  // /metrics: n2 says it disagrees; n1 shows the lag of the slots it owns,
  // and the scrape passes promtool.
  auto m2 = send(p2, http::verb::get, "/metrics");
  ASSERT_TRUE(m2.ok());
  EXPECT_NE(m2.value().body().find("shelfsync_cluster_config_agrees 0"),
            std::string::npos);
  auto m1 = send(p1, http::verb::get, "/metrics");
  ASSERT_TRUE(m1.ok());
  auto text = m1.value().body();
  EXPECT_NE(text.find("shelfsync_cluster_config_agrees 1"), std::string::npos);
  for (int slot = 0; slot < 4; ++slot)
    EXPECT_NE(text.find("shelfsync_cluster_slot_lag_events{slot=\"" +
                        std::to_string(slot) + "\"} 0"),
              std::string::npos)
        << text;
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    std::ofstream{dir + "/scrape.txt"} << text;
    auto lint = std::system(("promtool check metrics <" + dir +
                             "/scrape.txt >" + dir + "/lint.txt 2>&1")
                                .c_str());
    std::stringstream said;
    said << std::ifstream{dir + "/lint.txt"}.rdbuf();
    EXPECT_EQ(lint, 0) << said.str();
    EXPECT_EQ(said.str(), "");
  }

  // n2 restarts with n1's config: it takes a fair share. SIGTERM: it hands
  // its membership over at once.
  n2->signal(SIGTERM);
  ASSERT_EQ(n2->wait_exit(15s), 0) << n2->log();
  n2.reset();
  n2 = start_with("n2", p2, nats.urls(), 1, both, one_shop());
  ASSERT_TRUE(n2);
  deadline = std::chrono::steady_clock::now() + 20s;
  do {
    view = cluster_of(p1);
    if (!view.is_null() && owned_by(view, "n1") == 2 &&
        owned_by(view, "n2") == 2 && view["problems"].empty())
      break;
    std::this_thread::sleep_for(200ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(owned_by(view, "n1"), 2) << view.dump(2);
  EXPECT_EQ(owned_by(view, "n2"), 2) << view.dump(2);
  EXPECT_TRUE(view["problems"].empty()) << view.dump(2);
  EXPECT_EQ(product(p2, "sku-x")["warehouses"]["WH-A"]["on_hand"], 3);
  ready = send(p2, http::verb::get, "/readyz");
  ASSERT_TRUE(ready.ok());
  // No longer out of rotation for its config (a shop's missing token may
  // still keep it from being ready).
  EXPECT_EQ(ready.value().body().find("differs from the cluster's"),
            std::string::npos)
      << ready.value().body();
}

namespace {

/// Runs the shelfsync binary with `args`; its exit code, output in `out`.
int run_cli(const std::string& dir, const std::string& args, std::string& out) {
  auto cmd = std::string{std::getenv("SHELFSYNC_BIN")} + " " + args + " >" +
             dir + "/cli.out 2>&1";
  auto status = std::system(cmd.c_str());
  std::stringstream text;
  text << std::ifstream{dir + "/cli.out"}.rdbuf();
  out = text.str();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

TEST_F(serve_cluster, log_and_replay_read_the_cluster_s_log) {
  ASSERT_NE(std::getenv("SHELFSYNC_BIN"), nullptr);
  START_NATS(nats, 1);
  auto p1 = tests::free_port();
  // A shop selling WH-A's stock with a buffer of 2.
  json shop =
      json::array({{{"id", "eu"},
                    {"channel", "shopify"},
                    {"shopify",
                     {{"shop_url", "http://127.0.0.1:1"},
                      {"access_token_env", "SERVE_CLUSTER_UNSET_TOKEN"}}},
                    {"rules", {{"buffer", 2}}},
                    {"warehouses",
                     {{{"warehouse", "WH-A"},
                       {"enabled", true},
                       {"location", "gid://shopify/Location/1"}}}}}});
  auto n1 = start_with("n1", p1, nats.urls(), 1,
                       {{{"id", "WH-A"}}, {{"id", "WH-B"}}}, shop);
  ASSERT_TRUE(n1);
  // sku-x: +1 three times, then an absolute value with a version, then an
  // older version (stale); sku-y elsewhere in the same batches.
  json first = json::parse(batch(0, 3, "sku-x"));
  first.push_back({{"id", "y-1"},
                   {"product", "sku-y"},
                   {"warehouse", "WH-B"},
                   {"delta", 7}});
  json second = json::array({{{"id", "v-2"},
                              {"product", "sku-x"},
                              {"warehouse", "WH-A"},
                              {"on_hand", 10},
                              {"version", 2}},
                             {{"id", "v-1"},
                              {"product", "sku-x"},
                              {"warehouse", "WH-A"},
                              {"on_hand", 4},
                              {"version", 1}}});
  for (auto& body : {first, second}) {
    auto r = send(p1, http::verb::post, "/v1/stock/events", body.dump());
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
  }
  ASSERT_EQ(product(p1, "sku-x")["warehouses"]["WH-A"]["on_hand"], 10);
  ASSERT_EQ(product(p1, "sku-y")["warehouses"]["WH-B"]["on_hand"], 7);

  auto config = "--config " + dir + "/n1.json";
  std::string out;
  // log: the product's events from the cluster's log, while n1 serves.
  ASSERT_EQ(run_cli(dir, "log " + config + " --product sku-x", out), 0) << out;
  EXPECT_NE(out.find("product sku-x: 5 events in the cluster's log"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("ev-2  delta  WH-A  delta=+1  -> on_hand 3"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("v-2  absolute  WH-A"), std::string::npos) << out;
  EXPECT_NE(out.find("v-1  absolute  WH-A  on_hand=4 version=1  -> on_hand 10 "
                     "reserved 0 available 10  stale"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("y-1"), std::string::npos) << "another product's event";
  EXPECT_NE(out.find("WH-A  on_hand 10 reserved 0 available 10"),
            std::string::npos)
      << "the stored state\n"
      << out;
  EXPECT_EQ(run_cli(dir, "log " + config + " --product never-seen", out), 1);
  EXPECT_NE(out.find("no event for product \"never-seen\" in the cluster's "
                     "log"),
            std::string::npos)
      << out;

  // replay: the states rebuilt from the log equal the stored ones.
  ASSERT_EQ(run_cli(dir, "replay " + config, out), 0) << out;
  EXPECT_NE(out.find("2 products from the cluster's log: 0 differ"),
            std::string::npos)
      << out;

  // A stored state that its events do not give is found.
  auto js = test::connect_to(nats.urls());
  ASSERT_TRUE(js);
  auto slot = cluster::slot_of("sku-x", 4);
  auto stored = cluster::load_product(*js, slot, "sku-x");
  ASSERT_TRUE(stored && *stored);
  auto wrong = (*stored)->value;
  wrong.record.stock["WH-A"].on_hand = 99;
  ASSERT_TRUE(cluster::store_product(*js, slot, wrong, (*stored)->subject_seq));
  EXPECT_EQ(run_cli(dir, "replay " + config, out), 3) << out;
  EXPECT_NE(out.find("product \"sku-x\" (slot " + std::to_string(slot) +
                     "): the cluster stores WH-A on_hand 99"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("1 differ"), std::string::npos) << out;

  // explain, on the command line and over HTTP: the number the shop gets
  // from the stock the cluster stores (the tampered 99 - buffer 2), with the
  // events behind it.
  ASSERT_EQ(
      run_cli(dir, "explain " + config + " --product sku-x --shop eu", out), 0)
      << out;
  EXPECT_NE(out.find("location gid://shopify/Location/1: 97"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("v-2"), std::string::npos) << out;
  EXPECT_NE(out.find("clustered mode"), std::string::npos) << out;
  auto x = send(p1, http::verb::get, "/v1/products/sku-x/explain?shop=eu");
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(x.value().result_int(), 200) << x.value().body();
  auto body = json::parse(x.value().body());
  ASSERT_EQ(body["numbers"].size(), 1u) << body.dump(2);
  EXPECT_EQ(body["numbers"][0]["value"], 97) << "the tampered 99 - 2";
  EXPECT_EQ(body["numbers"][0]["events"].size(), 5u) << body.dump(2);
  EXPECT_EQ(body["cluster"]["applied_seq"], body["applied_seq"]);
  x = send(p1, http::verb::get, "/v1/products/never-seen/explain?shop=eu");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x.value().result_int(), 404);
}

TEST_F(serve_cluster, explain_shows_the_delivery_the_cluster_keeps) {
  ASSERT_NE(std::getenv("SHELFSYNC_BIN"), nullptr);
  START_NATS(nats, 1);
  const std::string loc_a = "gid://shopify/Location/1001";
  shopify::simulator sim;
  sim.add_shop("eu", "shpat_serve_cluster");
  sim.add_location("eu", "WH A", loc_a);
  sim.add_item("eu", "sku-0", true, {{loc_a, 0}});
  shopify::simulator_server server{sim};
  auto shop = eu_shop(server.shop_url("eu"), loc_a);
  shop["rules"] = {{"buffer", 1}};
  json shops = json::array({shop});
  auto p1 = tests::free_port();
  auto n1 = start_with("n1", p1, nats.urls(), 1, {{{"id", "WH-A"}}}, shops);
  ASSERT_TRUE(n1);
  auto r = send(p1, http::verb::post, "/v1/stock/events", batch(0, 3, "sku-0"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value().result_int(), 200) << r.value().body();
  // Until the shop confirmed 3 - buffer 1.
  json number;
  for (int i = 0; i < 300; ++i) {
    auto x = send(p1, http::verb::get, "/v1/products/sku-0/explain?shop=eu");
    ASSERT_TRUE(x.ok());
    ASSERT_EQ(x.value().result_int(), 200) << x.value().body();
    auto body = json::parse(x.value().body());
    ASSERT_EQ(body["numbers"].size(), 1u) << body.dump(2);
    number = body["numbers"][0];
    if (number["delivery"]["state"] == "confirmed") break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(number["value"], 2) << number.dump(2);
  EXPECT_EQ(number["delivery"]["state"], "confirmed") << number.dump(2);
  EXPECT_EQ(number["delivery"]["confirmed"], 2) << number.dump(2);
  EXPECT_EQ(number["events"].size(), 3u) << number.dump(2);
  // log --product shows the same delivery record.
  std::string out;
  ASSERT_EQ(
      run_cli(dir, "log --config " + dir + "/n1.json --product sku-0", out), 0)
      << out;
  EXPECT_NE(out.find("shop eu " + loc_a + ": confirmed 2 (from seq"),
            std::string::npos)
      << out;
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
  json shops = json::array({eu_shop(server.shop_url("eu"), loc_a)});
  auto p1 = tests::free_port();
  auto p2 = tests::free_port();
  json warehouses = {{{"id", "WH-A"}}, {{"id", "WH-B"}}};
  auto n1 = start_with("n1", p1, nats.urls(), 1, warehouses, shops);
  auto n2 = start_with("n2", p2, nats.urls(), 1, warehouses, shops);
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

TEST_F(serve_cluster, a_node_whose_nats_servers_are_gone_stops_promptly) {
  ASSERT_NE(std::getenv("SHELFSYNC_BIN"), nullptr);
  START_NATS(nats, 1);
  const std::string loc_a = "gid://shopify/Location/1001";
  shopify::simulator sim;
  sim.add_shop("eu", "shpat_serve_cluster");
  sim.add_location("eu", "WH A", loc_a);
  sim.add_item("eu", "sku-0", true, {{loc_a, 0}});
  shopify::simulator_server server{sim};
  auto shop = eu_shop(server.shop_url("eu"), loc_a);
  shop["warehouses"].push_back({{"warehouse", "WH-B"}, {"enabled", false}});
  json shops = json::array({shop});
  auto p1 = tests::free_port();
  auto n1 = start_with("n1", p1, nats.urls(), 1,
                       {{{"id", "WH-A"}}, {{"id", "WH-B"}}}, shops);
  ASSERT_TRUE(n1);
  // The node owns its slots and drives the shop: an event reaches it.
  auto r = send(p1, http::verb::post, "/v1/stock/events", batch(0, 2, "sku-0"));
  ASSERT_TRUE(r.ok());
  auto reached = false;
  for (int i = 0; i < 300 && !reached; ++i) {
    auto inv = sim.inventory("eu");
    for (auto& it : inv.items())
      reached = reached || (it.sku == "sku-0" && it.stocked_at(loc_a) &&
                            it.stocked_at(loc_a)->available == 2);
    if (!reached) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(reached) << n1->log();
  // Every NATS server goes; then the node is told to stop. Its leases
  // cannot be handed over: they run out by their TTL, and it exits anyway.
  nats.kill(0);
  std::this_thread::sleep_for(500ms); // the client notices the loss
  auto asked = std::chrono::steady_clock::now();
  n1->signal(SIGTERM);
  auto code = n1->wait_exit(10s);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - asked);
  EXPECT_TRUE(code.has_value())
      << "still running 10 s after SIGTERM; its log:\n"
      << n1->log();
  if (!code) {
    n1->signal(SIGKILL);
    n1->wait_exit(5s);
  }
  std::printf("stopped %lld ms after SIGTERM\n",
              static_cast<long long>(took.count()));
  server.stop();
}
