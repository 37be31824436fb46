#include "simulators/shopify/simulator.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "net/client.hpp"

using namespace shelfsync;
using namespace shelfsync::shopify;
using sim::json;

namespace {

constexpr const char* loc_a = "gid://shopify/Location/1001";
constexpr const char* loc_b = "gid://shopify/Location/1002";

/// A simulator with shop "eu" on loopback and a raw HTTP client to it.
class simulator_test : public ::testing::Test {
 protected:
  simulator_test()
      : server(sim), http(*http::parse_url(server.shop_url("eu"))) {
    sim.add_shop("eu", "tok");
    sim.add_location("eu", "WH A", loc_a);
    sim.add_location("eu", "WH B", loc_b);
    item = sim.add_item("eu", "SKU-1", true, {{loc_a, 5}});
  }

  /// POSTs a GraphQL request; returns status and parsed body.
  std::pair<int, json> post(const std::string& query, json variables = {},
                            const std::string& version = "2026-10",
                            const std::string& token = "tok") {
    json body{{"query", query}};
    if (!variables.is_null()) body["variables"] = variables;
    auto req = http::make_json_request(
        http::verb::post, "/admin/api/" + version + "/graphql.json",
        body.dump());
    req.set("X-Shopify-Access-Token", token);
    auto res = http.send(std::move(req));
    EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.error().message);
    if (!res.ok()) return {0, json()};
    return {static_cast<int>(res.value().result_int()),
            json::parse(res.value().body(), nullptr, false)};
  }

  json set_input(int64_t quantity, bool with_change_from = true) {
    json row{{"inventoryItemId", item},
             {"locationId", loc_a},
             {"quantity", quantity}};
    if (with_change_from) row["changeFromQuantity"] = nullptr;
    return {{"name", "available"},
            {"reason", "correction"},
            {"quantities", json::array({row})}};
  }

  static constexpr const char* set_doc = R"(
    mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
      inventorySetQuantities(input: $input) @idempotent(key: $key) {
        inventoryAdjustmentGroup { id reason changes { name delta item { id } location { id } } }
        userErrors { field message code }
      }
    })";

  simulator sim;
  simulator_server server;
  http::client http;
  std::string item;
};

TEST_F(simulator_test, wrong_token_is_401_with_shopifys_body) {
  auto [status, body] =
      post("{ locations(first: 1) { nodes { id } } }", {}, "2026-10", "nope");
  EXPECT_EQ(status, 401);
  EXPECT_EQ(body["errors"], "[API] Invalid API key or access token "
                            "(unrecognized login or wrong password)");
  EXPECT_EQ(sim.requests("eu").back().answer, "unauthorized");
}

TEST_F(simulator_test, set_quantities_applies_and_costs_13) {
  auto [status, body] = post(set_doc, {{"input", set_input(9)}, {"key", "k1"}});
  ASSERT_EQ(status, 200);
  auto& payload = body["data"]["inventorySetQuantities"];
  EXPECT_EQ(payload["userErrors"], json::array());
  auto& changes = payload["inventoryAdjustmentGroup"]["changes"];
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0]["name"], "available");
  EXPECT_EQ(changes[0]["delta"], 4);
  EXPECT_EQ(changes[1]["name"], "on_hand");
  EXPECT_EQ(changes[0]["location"]["id"], loc_a);
  auto& cost = body["extensions"]["cost"];
  EXPECT_EQ(cost["requestedQueryCost"], 13);
  EXPECT_EQ(cost["actualQueryCost"], 13);
  EXPECT_EQ(cost["throttleStatus"]["maximumAvailable"], 2000);
  EXPECT_EQ(cost["throttleStatus"]["restoreRate"], 100);
  auto inv = sim.inventory("eu");
  auto* lv = inv.find_item(item)->find_level(loc_a);
  EXPECT_EQ(lv->available, 9);
  EXPECT_EQ(lv->history, (std::vector<int64_t>{0, 5, 9}));
}

TEST_F(simulator_test, idempotency_replays_and_detects_mismatch) {
  post(set_doc, {{"input", set_input(9)}, {"key", "k1"}});
  sim.set_available("eu", item, loc_a, 3); // a POS edit in between
  auto [s2, replay] = post(set_doc, {{"input", set_input(9)}, {"key", "k1"}});
  EXPECT_EQ(replay["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]
                  ["changes"][0]["delta"],
            4);
  EXPECT_EQ(sim.inventory("eu").find_item(item)->find_level(loc_a)->available,
            3);
  EXPECT_EQ(sim.requests("eu").back().answer, "replayed");
  auto [s3, mismatch] = post(set_doc, {{"input", set_input(7)}, {"key", "k1"}});
  auto& err = mismatch["data"]["inventorySetQuantities"]["userErrors"][0];
  EXPECT_EQ(err["code"], "IDEMPOTENCY_KEY_PARAMETER_MISMATCH");
  EXPECT_TRUE(err["field"].is_null());
}

TEST_F(simulator_test, enforces_the_2026_04_contract) {
  auto [s1, no_cfq] =
      post(set_doc, {{"input", set_input(9, false)}, {"key", "k2"}});
  EXPECT_EQ(no_cfq["errors"][0]["message"],
            "InventoryQuantityInput must include the following argument: "
            "changeFromQuantity.");
  EXPECT_EQ(no_cfq["errors"][0]["extensions"]["code"],
            "INVALID_FIELD_ARGUMENTS");
  EXPECT_EQ(no_cfq["errors"][0]["path"],
            json::array({"inventorySetQuantities"}));
  EXPECT_TRUE(no_cfq["data"]["inventorySetQuantities"].is_null());

  auto input = set_input(9);
  input["ignoreCompareQuantity"] = true;
  auto [s2, ignore] = post(set_doc, {{"input", input}, {"key", "k3"}});
  EXPECT_EQ(ignore["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
  EXPECT_FALSE(ignore.contains("data"));
  EXPECT_NE(ignore["errors"][0]["message"].get<std::string>().find(
                "Field is not defined on InventorySetQuantitiesInput"),
            std::string::npos);

  auto [s3, no_idem] = post(R"(mutation($input: InventorySetQuantitiesInput!) {
      inventorySetQuantities(input: $input) { userErrors { code } } })",
                            {{"input", set_input(9)}});
  EXPECT_EQ(no_idem["errors"][0]["extensions"]["code"], "BAD_REQUEST");
  EXPECT_EQ(no_idem["extensions"]["cost"]["actualQueryCost"], 10);
  EXPECT_EQ(sim.inventory("eu").find_item(item)->find_level(loc_a)->available,
            5);

  // Before 2026-01 the same document's directive is unknown.
  auto [s4, old] =
      post(set_doc, {{"input", set_input(9)}, {"key", "k4"}}, "2025-10");
  EXPECT_EQ(old["errors"][0]["extensions"]["code"], "undefinedDirective");
}

TEST_F(simulator_test, row_errors_write_nothing) {
  auto input = set_input(9);
  input["quantities"].push_back({{"inventoryItemId", item},
                                 {"locationId", loc_b},
                                 {"quantity", 1},
                                 {"changeFromQuantity", nullptr}});
  input["quantities"].push_back(
      {{"inventoryItemId", "gid://shopify/InventoryItem/1"},
       {"locationId", loc_a},
       {"quantity", 1},
       {"changeFromQuantity", nullptr}});
  auto [s, body] = post(set_doc, {{"input", input}, {"key", "k5"}});
  auto& errs = body["data"]["inventorySetQuantities"]["userErrors"];
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0]["code"], "ITEM_NOT_STOCKED_AT_LOCATION");
  EXPECT_EQ(errs[0]["field"],
            json::array({"input", "quantities", "1", "locationId"}));
  EXPECT_EQ(errs[1]["code"], "INVALID_INVENTORY_ITEM");
  EXPECT_TRUE(body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]
                  .is_null());
  EXPECT_EQ(sim.inventory("eu").find_item(item)->find_level(loc_a)->available,
            5);
}

TEST_F(simulator_test, validation_errors_have_shopifys_shape) {
  auto [s, body] =
      post("query Q { inventoryItems(first: 1) { nodes { id bogus } } }");
  EXPECT_EQ(s, 200);
  auto& e = body["errors"][0];
  EXPECT_EQ(e["message"],
            "Field 'bogus' doesn't exist on type 'InventoryItem'");
  EXPECT_EQ(e["extensions"]["code"], "undefinedField");
  EXPECT_EQ(e["locations"][0]["line"], 1);
  EXPECT_EQ(e["locations"][0]["column"], 49);
  EXPECT_EQ(e["path"],
            json::array({"query Q", "inventoryItems", "nodes", "bogus"}));
  EXPECT_FALSE(body.contains("data"));

  auto [s2, b2] = post("{ inventoryItems { nodes { id } } }");
  EXPECT_EQ(b2["errors"][0]["message"],
            "you must provide one of first or last");

  auto [s3, b3] = post("{ inventoryItem { id } }");
  EXPECT_EQ(b3["errors"][0]["extensions"]["code"], "missingRequiredArguments");

  auto [s4, b4] = post("query($x: ID!) { location(id: $y) { id } }");
  EXPECT_EQ(b4["errors"].size(), 2u);

  auto [s5, b5] = post("{ inventoryItems(first: 1) { nodes { ...F } } }");
  EXPECT_EQ(b5["errors"][0]["extensions"]["code"], "useAndDefineFragment");

  auto [s6, b6] = post("{ locations(first: 1) { nodes { id }");
  EXPECT_EQ(b6["errors"][0]["message"],
            "Unexpected end of document at [1, 37]");
}

TEST_F(simulator_test, queries_fragments_nodes_and_cost) {
  auto [s, body] = post(R"(
    query Read($ids: [ID!]!) {
      nodes(ids: $ids) { __typename ...Item }
    }
    fragment Item on InventoryItem {
      id sku
      inventoryLevels(first: 10) {
        nodes { location { id } quantities(names: ["available", "on_hand"]) { name quantity } }
        pageInfo { hasNextPage }
      }
    })",
                        {{"ids", {item, "gid://shopify/InventoryItem/999"}}});
  ASSERT_EQ(s, 200) << body.dump();
  auto& nodes = body["data"]["nodes"];
  ASSERT_EQ(nodes.size(), 2u) << body.dump();
  EXPECT_EQ(nodes[0]["__typename"], "InventoryItem");
  EXPECT_EQ(nodes[0]["sku"], "SKU-1");
  auto& lv = nodes[0]["inventoryLevels"]["nodes"];
  ASSERT_EQ(lv.size(), 1u);
  EXPECT_EQ(lv[0]["location"]["id"], loc_a);
  EXPECT_EQ(lv[0]["quantities"][0]["quantity"], 5);
  EXPECT_TRUE(nodes[1].is_null());
  // 2 ids x (1 + 2 + 10 x (1 + 1)) = 46 requested; one item with one level
  // actually returned: 1 + 2 + 1 x 2 = 5.
  EXPECT_EQ(body["extensions"]["cost"]["requestedQueryCost"], 46);
  EXPECT_EQ(body["extensions"]["cost"]["actualQueryCost"], 5);
}

TEST_F(simulator_test, throttles_like_shopify) {
  // A bucket that barely refills, so a slow machine cannot refill it to the
  // mutation's cost between these two lines.
  sim.add_shop("eu", "tok", {2000, 0.001});
  sim.set_bucket_available("eu", 10);
  auto [s, body] = post(set_doc, {{"input", set_input(9)}, {"key", "k6"}});
  EXPECT_EQ(s, 200);
  EXPECT_EQ(body["errors"][0]["message"], "Throttled");
  EXPECT_EQ(body["errors"][0]["extensions"]["code"], "THROTTLED");
  EXPECT_FALSE(body.contains("data"));
  EXPECT_TRUE(body["extensions"]["cost"]["actualQueryCost"].is_null());
  EXPECT_EQ(body["extensions"]["cost"]["requestedQueryCost"], 13);
  EXPECT_LE(body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
                .get<int>(),
            11);
  EXPECT_EQ(sim.inventory("eu").find_item(item)->find_level(loc_a)->available,
            5);

  auto [s2, too_big] =
      post("{ inventoryItems(first: 250) { nodes { "
           "inventoryLevels(first: 250) { nodes { id } } } } }");
  EXPECT_EQ(too_big["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED");
}

TEST_F(simulator_test, random_faults_follow_their_seed_and_are_counted) {
  // A bucket that refills at once: every throttle is an injected one.
  sim.add_shop("eu", "tok", {2000, 1e9});
  sim_faults f;
  f.random_seed = 7;
  f.throttle_rate = 0.2;
  f.fail_rate = 0.2;
  f.drop_rate = 0.2;
  f.slow_rate = 0.2;
  f.slow = std::chrono::milliseconds{5};
  auto run = [&] {
    sim.set_faults("eu", f);
    sim.clear_requests("eu");
    for (int i = 0; i < 40; ++i) {
      auto req = http::make_json_request(
          http::verb::post, "/admin/api/2026-10/graphql.json",
          json{{"query", "{ locations(first: 1) { nodes { id } } }"}}.dump());
      req.set("X-Shopify-Access-Token", "tok");
      http.send(std::move(req));
    }
    std::vector<std::string> answers;
    for (auto& r : sim.requests("eu"))
      answers.push_back(r.answer + "/" + r.fault);
    return answers;
  };
  auto first = run();
  auto counts = sim.injected("eu");
  ASSERT_EQ(first.size(), 40u);
  auto count = [&](const std::string& prefix) {
    return static_cast<uint64_t>(
        std::count_if(first.begin(), first.end(), [&](auto& a) {
          return a.rfind(prefix, 0) == 0;
        }));
  };
  EXPECT_EQ(counts.throttled, count("throttled/"));
  EXPECT_EQ(counts.failed, count("server_error/"));
  EXPECT_EQ(counts.dropped, count("dropped/"));
  EXPECT_GT(counts.throttled, 0u);
  EXPECT_GT(counts.failed, 0u);
  EXPECT_GT(counts.dropped, 0u);
  EXPECT_GT(counts.slowed, 0u);
  EXPECT_GT(count("ok/"), 0u);
  // The same seed and request order meet the same faults.
  EXPECT_EQ(run(), first);
  EXPECT_EQ(sim.injected("eu").failed, 2 * counts.failed);
}

TEST_F(simulator_test, search_is_loose_like_shopify) {
  sim.add_item("eu", "SKU-10", true, {{loc_a, 1}});
  sim.add_item("eu", "sku-1", true, {{loc_a, 1}});
  auto [s, body] = post(
      R"({ inventoryItems(first: 10, query: "sku:'SKU-1'") { nodes { sku } } })");
  EXPECT_EQ(body["data"]["inventoryItems"]["nodes"].size(), 3u);
}

TEST_F(simulator_test, inspection_endpoints) {
  auto get = [&](const std::string& path) {
    auto res = http.send(http::make_request(http::verb::get, path));
    return json::parse(res.value().body(), nullptr, false);
  };
  auto post_json = [&](const std::string& path, const json& body) {
    auto res =
        http.send(http::make_json_request(http::verb::post, path, body.dump()));
    return std::make_pair(res.value().result_int(),
                          json::parse(res.value().body(), nullptr, false));
  };
  // The client's base path is /eu; inspection lives at the root.
  http::client root{*http::parse_url(server.shop_url("default"))};
  auto seed = root.send(http::make_json_request(
      http::verb::post, "/_sim/shopify/us/seed",
      json{{"access_token", "t2"},
           {"locations", {{{"name", "Main"}}}},
           {"items", {{{"sku", "X"}, {"tracked", false}}}}}
          .dump()));
  ASSERT_EQ(seed.value().result_int(), 200u) << seed.value().body();
  auto created = json::parse(seed.value().body());
  EXPECT_EQ(created["items"][0]["sku"], "X");
  auto levels =
      root.send(http::make_request(http::verb::get, "/_sim/shopify/eu/levels"));
  auto lj = json::parse(levels.value().body());
  EXPECT_EQ(lj["items"][0]["sku"], "SKU-1");
  EXPECT_EQ(lj["items"][0]["levels"][0]["available"], 5);
  auto faults = root.send(http::make_json_request(
      http::verb::post, "/_sim/shopify/eu/faults", R"({"fail_next": 1})"));
  EXPECT_EQ(faults.value().result_int(), 200u);
  auto [status, body] = post("{ locations(first: 1) { nodes { id } } }");
  EXPECT_EQ(status, 503);
  auto reqs = root.send(
      http::make_request(http::verb::get, "/_sim/shopify/eu/requests"));
  auto rj = json::parse(reqs.value().body());
  EXPECT_EQ(rj["requests"].back()["answer"], "server_error");
  auto bad = root.send(http::make_json_request(
      http::verb::post, "/_sim/shopify/eu/faults", R"({"fail_nxt": 1})"));
  EXPECT_EQ(bad.value().result_int(), 422u);
  auto too_much = root.send(
      http::make_json_request(http::verb::post, "/_sim/shopify/eu/faults",
                              R"({"fail_rate": 0.6, "drop_rate": 0.6})"));
  EXPECT_EQ(too_much.value().result_int(), 422u);
  auto random = root.send(http::make_json_request(
      http::verb::post, "/_sim/shopify/eu/faults",
      R"({"drop_rate": 0.5, "random_seed": 3, "slow_ms": 20})"));
  auto rf = json::parse(random.value().body());
  EXPECT_EQ(rf["drop_rate"], 0.5);
  EXPECT_EQ(rf["slow_ms"], 20);
  EXPECT_TRUE(rf["injected"].contains("dropped"));
  (void)get;
  (void)post_json;
}

} // namespace

namespace {

TEST(simulator_routing, shops_are_separate_and_default_is_at_the_root) {
  simulator sim;
  simulator_server server{sim};
  sim.add_shop("default", "d-tok");
  sim.add_shop("us", "us-tok");
  sim.add_location("default", "Main", "gid://shopify/Location/1");
  sim.add_item("default", "ROOT-SKU", true, {{"gid://shopify/Location/1", 1}});
  auto count = [&](const std::string& shop, const std::string& tok) {
    http::client c{*http::parse_url(server.shop_url(shop))};
    auto req = http::make_json_request(
        http::verb::post, "/admin/api/2026-10/graphql.json",
        R"({"query":"{ inventoryItems(first: 5) { nodes { sku } } }"})");
    req.set("X-Shopify-Access-Token", tok);
    auto res = c.send(std::move(req));
    auto body = json::parse(res.value().body());
    return body["data"]["inventoryItems"]["nodes"].size();
  };
  EXPECT_EQ(server.shop_url("default").find("/default"), std::string::npos);
  EXPECT_EQ(count("default", "d-tok"), 1u);
  EXPECT_EQ(count("us", "us-tok"), 0u);
}

TEST(simulator_routing, leaves_other_paths_to_the_caller) {
  simulator sim;
  http::responder none;
  auto req = http::make_request(http::verb::get, "/sp-api/feeds/2021-06-30");
  EXPECT_FALSE(sim.handle(req, none));
  auto mine = http::make_request(http::verb::get, "/_sim/shopify/x/levels");
  EXPECT_TRUE(sim.handle(mine, none));
}

} // namespace
