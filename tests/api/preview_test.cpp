// Previewing a config change (`shelfsync preview`, POST /v1/config/preview):
// runs the real `shelfsync sim` and `shelfsync serve`, brings two shops to
// confirmed numbers, then previews a config that raises, lowers, zeroes a
// location (its warehouse disabled) and activates one (a warehouse mapped to
// it), over HTTP on the running server and with the CLI on the stopped
// store; checks the report, and that neither the simulators nor the store
// saw anything of it.
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "net/url.hpp"
#include "storage/store.hpp"
#include "tests/api/child_process.hpp"
#include "tests/support/eventually.hpp"

using json = nlohmann::json;
using namespace shelfsync;
using namespace std::chrono_literals;

namespace {

constexpr const char* loc1 = "gid://shopify/Location/1001";
constexpr const char* loc2 = "gid://shopify/Location/1002";
constexpr const char* loc3 = "gid://shopify/Location/1003";

struct preview_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-preview-" + std::to_string(::getpid())))
                        .string();
  uint16_t sim_port = tests::free_port();
  uint16_t api_port = tests::free_port();
  std::string sim_url = "http://127.0.0.1:" + std::to_string(sim_port);
  std::string bearer = "Bearer preview-test-token";

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::setenv("PREVIEW_TEST_API_TOKEN", "preview-test-token", 1);
    ::setenv("PREVIEW_TEST_SHOPIFY", "shpat_preview", 1);
    ::setenv("PREVIEW_TEST_LWA_ID", "lwa-id", 1);
    ::setenv("PREVIEW_TEST_LWA_SECRET", "lwa-secret", 1);
    ::setenv("PREVIEW_TEST_LWA_REFRESH", "lwa-refresh", 1);
    std::ofstream{dir + "/config.json"} << current().dump(2);
    std::ofstream{dir + "/new.json"} << next().dump(2);
  }

  void TearDown() override { std::filesystem::remove_all(dir); }

  /// In force: eu-store stocks WH-A at 1001 and WH-B at 1002 (WH-C is
  /// disabled, its location 1003 unused); amazon-us counts WH-A.
  json current() const {
    return {
        {"node",
         {{"data_dir", dir + "/data"},
          {"listen", "127.0.0.1:" + std::to_string(api_port)}}},
        {"api", {{"token_env", "PREVIEW_TEST_API_TOKEN"}}},
        {"warehouses",
         json::array({{{"id", "WH-A"}}, {{"id", "WH-B"}}, {{"id", "WH-C"}}})},
        {"shops",
         json::array({{{"id", "eu-store"},
                       {"channel", "shopify"},
                       {"shopify",
                        {{"shop_url", sim_url + "/eu-store"},
                         {"access_token_env", "PREVIEW_TEST_SHOPIFY"}}},
                       {"warehouses", json::array({{{"warehouse", "WH-A"},
                                                    {"enabled", true},
                                                    {"location", loc1}},
                                                   {{"warehouse", "WH-B"},
                                                    {"enabled", true},
                                                    {"location", loc2}},
                                                   {{"warehouse", "WH-C"},
                                                    {"enabled", false},
                                                    {"location", loc3}}})}},
                      {{"id", "amazon-us"},
                       {"channel", "amazon"},
                       {"amazon",
                        {{"endpoint", sim_url},
                         {"lwa_endpoint", sim_url + "/auth/o2/token"},
                         {"seller_id", "A1PREVIEW"},
                         {"marketplace_ids", {"ATVPDKIKX0DER"}},
                         {"client_id_env", "PREVIEW_TEST_LWA_ID"},
                         {"client_secret_env", "PREVIEW_TEST_LWA_SECRET"},
                         {"refresh_token_env", "PREVIEW_TEST_LWA_REFRESH"},
                         {"batch_interval_seconds", 1},
                         {"feed_poll_seconds", 1}}},
                       {"warehouses",
                        json::array({{{"warehouse", "WH-A"}, {"enabled", true}},
                                     {{"warehouse", "WH-B"},
                                      {"enabled", false}}})}}})}};
  }

  /// The change previewed: eu-store keeps a buffer of 1 (lowers 1001),
  /// disables WH-B (zeroes 1002) and enables WH-C at 1003 (activates it);
  /// amazon-us also counts WH-B (raises).
  json next() const {
    auto c = current();
    auto& eu = c["shops"][0];
    eu["rules"] = {{"buffer", 1}};
    eu["warehouses"][1]["enabled"] = false;
    eu["warehouses"][2]["enabled"] = true;
    c["shops"][1]["warehouses"][1]["enabled"] = true;
    return c;
  }

  void seed(const std::string& path, const json& body) {
    http::client c{*http::parse_url(sim_url)};
    auto r = c.send(http::make_request(http::verb::post, path, body.dump(),
                                       "application/json"));
    ASSERT_TRUE(r.ok());
    ASSERT_LT(r.value().result_int(), 300) << path << ": " << r.value().body();
  }

  /// GET on the simulators; the parsed body.
  json sim_get(const std::string& path) {
    http::client c{*http::parse_url(sim_url)};
    auto r = c.send(http::make_request(http::verb::get, path, "", ""));
    if (!r.ok()) return {};
    return json::parse(r.value().body(), nullptr, false);
  }

  /// How many requests each simulated channel received so far.
  std::pair<size_t, size_t> sim_requests() {
    return {sim_get("/_sim/shopify/eu-store/requests")["requests"].size(),
            sim_get("/_sim/amazon/requests")["requests"].size()};
  }

  http::response call(http::verb method, const std::string& target,
                      const std::string& authorization,
                      const std::string& body = {}) {
    http::client c{
        *http::parse_url("http://127.0.0.1:" + std::to_string(api_port))};
    auto req = http::make_request(method, target, body,
                                  body.empty() ? "" : "application/json");
    if (!authorization.empty())
      req.set(boost::beast::http::field::authorization, authorization);
    auto r = c.send(std::move(req));
    EXPECT_TRUE(r.ok()) << target;
    return r.ok() ? r.value() : http::response{};
  }

  json get_json(const std::string& target) {
    return json::parse(call(http::verb::get, target, bearer).body(), nullptr,
                       false);
  }

  /// Runs `shelfsync args...` to its end; the exit code, stdout, stderr.
  std::tuple<int, std::string, std::string>
  run(const std::vector<std::string>& args) {
    auto out = dir + "/cli.out";
    auto err = dir + "/cli.err";
    std::filesystem::remove(out);
    std::filesystem::remove(err);
    tests::child_process p;
    p.start(args, out, err);
    auto code = p.wait();
    return {code, tests::read_file(out), tests::read_file(err)};
  }
};

const json* shop_of(const json& report, const std::string& id) {
  for (auto& s : report["shops"])
    if (s["shop"] == id) return &s;
  return nullptr;
}

/// The available quantity of `sku` at `location` in the simulated store's
/// levels; -1 where the item is not active.
int64_t level(const json& levels, const std::string& sku,
              const std::string& location) {
  for (auto& item : levels["items"])
    if (item["sku"] == sku)
      for (auto& l : item["levels"])
        if (l["location"] == location && l["active"] == true)
          return l["available"];
  return -1;
}

/// What the report must say of the change, whichever way it was asked.
void expect_report(const json& report) {
  ASSERT_TRUE(report.is_object()) << report;
  EXPECT_EQ(report["products"], 2);
  auto* eu = shop_of(report, "eu-store");
  ASSERT_NE(eu, nullptr) << report.dump(2);
  EXPECT_EQ((*eu)["status"], "changes");
  EXPECT_EQ((*eu)["products_changed"], 2);
  // P-1: 1001 10 -> 9, 1002 5 -> 0, 1003 none -> 6; P-2: 1001 3 -> 2,
  // 1002 8 -> 0, 1003 none -> 1.
  EXPECT_EQ((*eu)["numbers_up"], 2);
  EXPECT_EQ((*eu)["numbers_down"], 4);
  ASSERT_EQ((*eu)["zeroed"].size(), 1u) << eu->dump(2);
  EXPECT_EQ((*eu)["zeroed"][0]["location"], loc2);
  EXPECT_EQ((*eu)["zeroed"][0]["products"], 2);
  EXPECT_EQ((*eu)["zeroed"][0]["reason"], "warehouse WH-B is disabled");
  ASSERT_EQ((*eu)["activated"].size(), 1u);
  EXPECT_EQ((*eu)["activated"][0]["location"], loc3);
  EXPECT_EQ((*eu)["activated"][0]["products"], 2);
  EXPECT_EQ((*eu)["activated"][0]["reason"], "warehouse WH-C is mapped to it");
  // Largest first, at most --top 3: P-2 1002 8 -> 0, P-1 1003 none -> 6,
  // P-1 1002 5 -> 0.
  auto& largest = (*eu)["largest"];
  ASSERT_EQ(largest.size(), 3u) << eu->dump(2);
  EXPECT_EQ(
      largest[0],
      json({{"product", "P-2"}, {"location", loc2}, {"from", 8}, {"to", 0}}));
  EXPECT_EQ(largest[1], json({{"product", "P-1"},
                              {"location", loc3},
                              {"from", nullptr},
                              {"to", 6}}));
  EXPECT_EQ(
      largest[2],
      json({{"product", "P-1"}, {"location", loc2}, {"from", 5}, {"to", 0}}));
  auto* amazon = shop_of(report, "amazon-us");
  ASSERT_NE(amazon, nullptr);
  EXPECT_EQ((*amazon)["products_changed"], 2);
  EXPECT_EQ((*amazon)["numbers_up"], 2);
  EXPECT_EQ((*amazon)["numbers_down"], 0);
  EXPECT_TRUE((*amazon)["zeroed"].empty());
  // P-2: 3 -> 11, P-1: 10 -> 15.
  ASSERT_EQ((*amazon)["largest"].size(), 2u);
  EXPECT_EQ(
      (*amazon)["largest"][0],
      json({{"product", "P-2"}, {"sku", "P-2"}, {"from", 3}, {"to", 11}}));
}

} // namespace

TEST_F(preview_test, cli_and_http_report_a_change_and_send_nothing) {
  tests::shelfsync_process sim{{"sim", "--port", std::to_string(sim_port)},
                               dir + "/sim.log"};
  ASSERT_TRUE(sim.wait_until_up(sim_port, "/_sim/health")) << sim.log();
  auto locations = json::array({{{"id", loc1}, {"name", "A"}},
                                {{"id", loc2}, {"name", "B"}},
                                {{"id", loc3}, {"name", "C"}}});
  auto items = json::array();
  for (auto sku : {"P-1", "P-2"})
    items.push_back({{"sku", sku},
                     {"tracked", true},
                     {"levels", json::object({{loc1, 0}, {loc2, 0}})}});
  seed("/_sim/shopify/eu-store/seed", {{"access_token", "shpat_preview"},
                                       {"locations", locations},
                                       {"items", items}});
  seed("/_sim/amazon/sellers", {{"seller_id", "A1PREVIEW"},
                                {"client_id", "lwa-id"},
                                {"client_secret", "lwa-secret"},
                                {"refresh_token", "lwa-refresh"}});

  auto serve = std::make_unique<tests::shelfsync_process>(
      std::vector<std::string>{"serve", "--config", dir + "/config.json"},
      dir + "/serve.log");
  ASSERT_TRUE(serve->wait_until_started(api_port)) << serve->log();
  auto events = json::array();
  auto add = [&](const char* product, const char* wh, int on_hand) {
    events.push_back({{"id", std::string{product} + wh},
                      {"product", product},
                      {"warehouse", wh},
                      {"on_hand", on_hand}});
  };
  add("P-1", "WH-A", 10);
  add("P-1", "WH-B", 5);
  add("P-1", "WH-C", 7);
  add("P-2", "WH-A", 3);
  add("P-2", "WH-B", 8);
  add("P-2", "WH-C", 2);
  ASSERT_EQ(call(http::verb::post, "/v1/stock/events", bearer, events.dump())
                .result_int(),
            200);
  // Both shops hold their numbers before the preview.
  ASSERT_TRUE(tests::eventually(
      [&] {
        auto shops = get_json("/v1/shops");
        if (!shops.contains("shops")) return false;
        for (auto& s : shops["shops"])
          if (s["pending"] != 0 || s["in_flight"] != 0 ||
              s["last_success"].is_null())
            return false;
        return true;
      },
      30s))
      << get_json("/v1/shops").dump(2);
  auto before = get_json("/v1/products/P-1");
  EXPECT_EQ(before["shops"]["eu-store"]["locations"][loc1]["confirmed"], 10);
  EXPECT_EQ(before["shops"]["amazon-us"]["confirmed"], 10);
  auto requests = sim_requests();

  // Over HTTP, authenticated like every call.
  auto body = next().dump();
  EXPECT_EQ(call(http::verb::post, "/v1/config/preview", "", body).result_int(),
            401);
  auto res = call(http::verb::post, "/v1/config/preview?top=3", bearer, body);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  auto report = json::parse(res.body(), nullptr, false);
  expect_report(report);
  EXPECT_TRUE(report["warnings"].empty()) << report["warnings"];
  // An invalid config: the problems with their JSON paths, as check-config.
  auto bad = next();
  bad["shops"][0]["warehouses"][2]["warehouse"] = "WH-Z";
  bad["shops"][1]["rules"] = {{"percent", 150}};
  res = call(http::verb::post, "/v1/config/preview", bearer, bad.dump());
  ASSERT_EQ(res.result_int(), 422) << res.body();
  auto problems = json::parse(res.body())["problems"];
  std::vector<std::string> paths;
  for (auto& p : problems)
    paths.push_back(p["path"]);
  EXPECT_EQ(paths,
            (std::vector<std::string>{"$.shops[0].warehouses[2].warehouse",
                                      "$.shops[1].rules.percent"}))
      << problems;
  std::ofstream{dir + "/bad.json"} << bad.dump(2);
  auto [check_code, check_out, check_err] =
      run({"check-config", "--config", dir + "/bad.json"});
  EXPECT_EQ(check_code, 1);
  for (auto& p : problems)
    EXPECT_NE(check_err.find(p["path"].get<std::string>() + ": " +
                             p["message"].get<std::string>()),
              std::string::npos)
        << check_err;

  // Nothing sent, nothing changed: the numbers in force stay.
  std::this_thread::sleep_for(1500ms); // longer than amazon's batch interval
  EXPECT_EQ(sim_requests(), requests);
  EXPECT_EQ(get_json("/v1/products/P-1"), before);
  auto levels = sim_get("/_sim/shopify/eu-store/levels");
  EXPECT_EQ(level(levels, "P-1", loc2), 5) << levels.dump(2);
  EXPECT_EQ(level(levels, "P-1", loc3), -1) << levels.dump(2);

  // The CLI refuses a store in use, and says where to ask instead.
  auto [busy_code, busy_out, busy_err] =
      run({"preview", "--config", dir + "/new.json"});
  EXPECT_EQ(busy_code, 1);
  EXPECT_NE(busy_err.find("is in use"), std::string::npos) << busy_err;
  EXPECT_NE(busy_err.find("/v1/config/preview"), std::string::npos) << busy_err;

  serve->signal(SIGTERM);
  auto exited = serve->wait_exit(30s);
  ASSERT_TRUE(exited && *exited == 0) << serve->log();
  serve.reset();
  auto [code, out, err] =
      run({"preview", "--config", dir + "/new.json", "--top", "3", "--json"});
  ASSERT_EQ(code, 0) << err;
  auto cli = json::parse(out, nullptr, false);
  expect_report(cli);
  EXPECT_EQ(cli["shops"], report["shops"]);
  auto [text_code, text, text_err] =
      run({"preview", "--config", dir + "/new.json"});
  EXPECT_EQ(text_code, 0) << text_err;
  for (auto* line :
       {"shop eu-store (shopify): changes",
        "products whose numbers change: 2 (numbers up 2, down 4)",
        "zeroed: location gid://shopify/Location/1002 (warehouse WH-B is "
        "disabled): 2 products",
        "activated: location gid://shopify/Location/1003 (warehouse WH-C is "
        "mapped to it): 2 products",
        "P-2  gid://shopify/Location/1002  8 -> 0",
        "P-1  gid://shopify/Location/1003  none -> 6",
        "P-1  SKU P-1  10 -> 15"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  auto [bad_code, bad_out, bad_err] =
      run({"preview", "--config", dir + "/bad.json"});
  EXPECT_EQ(bad_code, 1);
  EXPECT_EQ(bad_err, check_err);

  // The store still holds the numbers of the config in force.
  auto db = store::open_read_only(dir + "/data");
  ASSERT_TRUE(db) << to_string(db.error());
  product_record rec;
  ASSERT_TRUE((*db)->load_product("P-1", rec));
  EXPECT_EQ(rec.views["eu-store"], (shop_view{{loc1, 10}, {loc2, 5}}));
  EXPECT_EQ(rec.views["amazon-us"], (shop_view{{"", 10}}));
  EXPECT_EQ(sim_requests(), requests);
}
