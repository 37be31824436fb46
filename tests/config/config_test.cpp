#include "config/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace shelfsync;
using nlohmann::json;

namespace {

// The example of PRODUCT.md §4.2, verbatim.
constexpr const char* spec_example = R"({
  "node":    { "data_dir": "var/shelfsync", "listen": "127.0.0.1:8080", "durability": "wal" },
  "api":     { "token_env": "SHELFSYNC_API_TOKEN" },
  "warehouses": [ { "id": "WH-A" }, { "id": "WH-B" } ],
  "shops": [
    { "id": "eu-store", "channel": "shopify", "stock_sync": true,
      "shopify": { "shop_url": "https://eu-store.myshopify.com", "api_version": "2026-10",
                   "access_token_env": "EU_STORE_TOKEN" },
      "warehouses": [ { "warehouse": "WH-A", "enabled": true, "location": "gid://shopify/Location/1001" },
                      { "warehouse": "WH-B", "enabled": true, "location": "gid://shopify/Location/1002" } ],
      "rules": { "buffer": 0 } },
    { "id": "amazon-us", "channel": "amazon", "stock_sync": true,
      "amazon": { "endpoint": "https://sellingpartnerapi-na.amazon.com",
                  "lwa_endpoint": "https://api.amazon.com/auth/o2/token",
                  "seller_id": "A2EXAMPLE", "marketplace_ids": ["ATVPDKIKX0DER"],
                  "client_id_env": "AMZ_CLIENT_ID", "client_secret_env": "AMZ_CLIENT_SECRET",
                  "refresh_token_env": "AMZ_REFRESH_TOKEN", "batch_interval_seconds": 60 },
      "warehouses": [ { "warehouse": "WH-A", "enabled": true }, { "warehouse": "WH-B", "enabled": false } ] }
  ]
})";

/// The spec's example as a document to break in one place per test:
/// shops[0] is the Shopify shop, shops[1] the Amazon one.
json base() { return json::parse(spec_example); }

config_result parse(const json& doc) { return parse_config(doc.dump()); }

std::string all(const config_result& r) {
  std::string text;
  for (auto& p : r.problems)
    text += "\n  " + to_string(p);
  return text.empty() ? "\n  (no problems)" : text;
}

/// Passes when `r` failed and reports a problem at exactly `path` whose
/// message contains `fragment`.
::testing::AssertionResult has_problem(const config_result& r,
                                       const std::string& path,
                                       const std::string& fragment) {
  if (r.value != nullptr)
    return ::testing::AssertionFailure() << "the config was accepted";
  for (auto& p : r.problems)
    if (p.path == path && p.message.find(fragment) != std::string::npos)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "no problem at " << path << " mentioning \"" << fragment
         << "\"; got:" << all(r);
}

/// Breaks `base()` with `change`, expects exactly one problem, at `path`.
::testing::AssertionResult only_problem(void (*change)(json&),
                                        const std::string& path,
                                        const std::string& fragment) {
  auto doc = base();
  change(doc);
  auto r = parse(doc);
  auto found = has_problem(r, path, fragment);
  if (!found) return found;
  if (r.problems.size() != 1)
    return ::testing::AssertionFailure()
           << "expected one problem, got:" << all(r);
  return ::testing::AssertionSuccess();
}

} // namespace

// -- valid files --------------------------------------------------------------

TEST(config, example_file_loads) {
  auto r = load_config(SHELFSYNC_CONFIG_DIR "/example.json");
  ASSERT_TRUE(r) << all(r);
  auto& c = *r.value;
  EXPECT_EQ(c.path, SHELFSYNC_CONFIG_DIR "/example.json");
  EXPECT_EQ(c.node.data_dir, "var/shelfsync");
  EXPECT_EQ(c.node.listen_host, "127.0.0.1");
  EXPECT_EQ(c.node.listen_port, 8080);
  ASSERT_EQ(c.warehouses.size(), 3u);
  EXPECT_EQ(c.warehouses[2].id, "WH-C");
  ASSERT_EQ(c.shops.size(), 2u);
  auto* eu = c.find_shop("eu-store");
  ASSERT_NE(eu, nullptr);
  EXPECT_EQ(eu->channel, channel_kind::shopify);
  EXPECT_EQ(eu->shopify.shop_url, "http://127.0.0.1:9100/eu-store");
  ASSERT_EQ(eu->warehouses.size(), 3u);
  EXPECT_EQ(eu->warehouses[1].location, "gid://shopify/Location/1002");
  EXPECT_FALSE(eu->warehouses[2].enabled);
  EXPECT_EQ(eu->warehouses[2].location, "");
  EXPECT_EQ(eu->rules.buffer, 1);
  auto* us = c.find_shop("amazon-us");
  ASSERT_NE(us, nullptr);
  EXPECT_EQ(us->channel, channel_kind::amazon);
  EXPECT_EQ(us->amazon.endpoint, "http://127.0.0.1:9100");
  EXPECT_EQ(us->amazon.lwa_endpoint, "http://127.0.0.1:9100/auth/o2/token");
  EXPECT_EQ(us->amazon.batch_interval, std::chrono::seconds{5});
  ASSERT_EQ(us->warehouses.size(), 3u);
  EXPECT_TRUE(us->warehouses[1].enabled);
  EXPECT_FALSE(us->warehouses[2].enabled);
}

TEST(config, spec_example_loads_with_defaults) {
  auto r = parse_config(spec_example, "spec.json");
  ASSERT_TRUE(r) << all(r);
  auto& c = *r.value;
  EXPECT_EQ(c.path, "spec.json");
  EXPECT_EQ(c.node.durability, durability::wal);
  EXPECT_EQ(c.api.token_env, "SHELFSYNC_API_TOKEN");
  EXPECT_TRUE(c.has_warehouse("WH-B"));
  EXPECT_FALSE(c.has_warehouse("WH-C"));
  EXPECT_EQ(c.find_shop("nope"), nullptr);
  auto& eu = c.shops[0];
  EXPECT_EQ(eu.shopify.api_version, "2026-10");
  EXPECT_EQ(eu.shopify.access_token_env, "EU_STORE_TOKEN");
  EXPECT_EQ(eu.rules.buffer, 0);
  EXPECT_FALSE(eu.rules.percent);
  EXPECT_FALSE(eu.rules.max);
  auto& us = c.shops[1];
  EXPECT_EQ(us.amazon.seller_id, "A2EXAMPLE");
  EXPECT_EQ(us.amazon.marketplace_ids,
            std::vector<std::string>{"ATVPDKIKX0DER"});
  EXPECT_EQ(us.amazon.refresh_token_env, "AMZ_REFRESH_TOKEN");
  EXPECT_EQ(us.amazon.feed_poll, std::chrono::seconds{15});
  EXPECT_EQ(us.amazon.product_type, "PRODUCT");
  EXPECT_EQ(us.warehouses[1].location, "");
}

TEST(config, optional_fields_take_their_defaults) {
  auto doc = base();
  doc.erase("node");
  doc.erase("api");
  doc["shops"][0].erase("stock_sync");
  doc["shops"][0]["shopify"].erase("api_version");
  doc["shops"][1]["amazon"].erase("batch_interval_seconds");
  auto r = parse(doc);
  ASSERT_TRUE(r) << all(r);
  EXPECT_EQ(r.value->node.data_dir, "var/shelfsync");
  EXPECT_EQ(r.value->node.listen_port, 8080);
  EXPECT_EQ(r.value->node.durability, durability::wal);
  EXPECT_EQ(r.value->api.token_env, "SHELFSYNC_API_TOKEN");
  EXPECT_TRUE(r.value->shops[0].stock_sync);
  EXPECT_EQ(r.value->shops[0].shopify.api_version, "2026-10");
  EXPECT_EQ(r.value->shops[1].amazon.batch_interval, std::chrono::seconds{60});
}

TEST(config, non_default_values_are_read) {
  auto doc = base();
  doc["node"] = {{"data_dir", "/srv/s"},      {"listen", "[::1]:9000"},
                 {"durability", "fsync"},     {"product_idle_seconds", 5},
                 {"max_body_bytes", 1024},    {"read_timeout_seconds", 7},
                 {"idle_timeout_seconds", 8}, {"shutdown_seconds", 9},
                 {"checkpoint_seconds", 4}};
  doc["shops"][0]["stock_sync"] = false;
  doc["shops"][0]["rules"] = {{"buffer", 2}, {"percent", 100}, {"max", 0}};
  doc["shops"][1]["amazon"]["feed_poll_seconds"] = 3600;
  doc["shops"][1]["amazon"]["product_type"] = "SHOES";
  auto r = parse(doc);
  ASSERT_TRUE(r) << all(r);
  auto& c = *r.value;
  EXPECT_EQ(c.node.data_dir, "/srv/s");
  EXPECT_EQ(c.node.listen_host, "::1");
  EXPECT_EQ(c.node.listen_port, 9000);
  EXPECT_EQ(c.node.durability, durability::fsync);
  EXPECT_EQ(c.node.product_idle_seconds, 5u);
  EXPECT_EQ(c.node.max_body_bytes, 1024u);
  EXPECT_EQ(c.node.read_timeout_seconds, 7u);
  EXPECT_EQ(c.node.idle_timeout_seconds, 8u);
  EXPECT_EQ(c.node.shutdown_seconds, 9u);
  EXPECT_EQ(c.node.checkpoint_seconds, 4u);
  EXPECT_FALSE(c.shops[0].stock_sync);
  EXPECT_EQ(c.shops[0].rules.percent, 100);
  EXPECT_EQ(c.shops[0].rules.max, 0);
  EXPECT_EQ(c.shops[1].amazon.feed_poll, std::chrono::seconds{3600});
  EXPECT_EQ(c.shops[1].amazon.product_type, "SHOES");
}

// -- node and api -------------------------------------------------------------

TEST(config, log_retention_is_read_and_absent_keeps_everything) {
  auto doc = base();
  auto r = parse(doc);
  ASSERT_TRUE(r) << all(r);
  EXPECT_FALSE(r.value->node.log_retention.enabled());
  doc["node"]["log_retention"] = {{"days", 30}, {"bytes", 10737418240}};
  r = parse(doc);
  ASSERT_TRUE(r) << all(r);
  EXPECT_EQ(r.value->node.log_retention.days, 30u);
  EXPECT_EQ(r.value->node.log_retention.bytes, 10737418240u);
  EXPECT_TRUE(r.value->node.log_retention.enabled());
}

TEST(config, log_retention_problems_name_their_path) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["log_retention"] = json::object();
      },
      "$.node.log_retention", "must set \"days\" or \"bytes\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["log_retention"] = {{"days", 0}};
      },
      "$.node.log_retention.days",
      "must be an integer from 1 to 36500, got 0"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["log_retention"] = {{"bytes", "10G"}};
      },
      "$.node.log_retention.bytes", "must be an integer >= 1"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["log_retention"] = 30;
      },
      "$.node.log_retention", "an object"));
  auto doc = base();
  doc["node"]["log_retention"] = {{"days", 7}, {"weeks", 1}};
  auto r = parse(doc);
  EXPECT_TRUE(has_problem(r, "$.node.log_retention.weeks", "unknown"));
}

TEST(config, durability_must_be_wal_or_fsync) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["durability"] = "sync";
      },
      "$.node.durability", "must be \"wal\" or \"fsync\", got \"sync\""));
}

TEST(config, listen_must_be_host_and_port) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["listen"] = "localhost";
      },
      "$.node.listen", "must be \"host:port\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["listen"] = "1.2.3.4:0";
      },
      "$.node.listen", "port from 1 to 65535"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["listen"] = "1.2.3.4:65536";
      },
      "$.node.listen", "port from 1 to 65535"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["listen"] = ":8080";
      },
      "$.node.listen", "empty host"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["listen"] = 8080;
      },
      "$.node.listen", "must be a string, got 8080"));
}

TEST(config, node_numbers_are_range_checked) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["product_idle_seconds"] = 0;
      },
      "$.node.product_idle_seconds", "from 1 to 86400, got 0"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["max_body_bytes"] = -1;
      },
      "$.node.max_body_bytes", "got -1"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["read_timeout_seconds"] = 0;
      },
      "$.node.read_timeout_seconds", "from 1 to 3600, got 0"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["idle_timeout_seconds"] = 86401;
      },
      "$.node.idle_timeout_seconds", "from 1 to 86400, got 86401"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["shutdown_seconds"] = "10";
      },
      "$.node.shutdown_seconds", "must be an integer"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["data_dir"] = "";
      },
      "$.node.data_dir", "must not be empty"));
}

// -- unknown keys -------------------------------------------------------------

TEST(config, unknown_keys_are_problems_with_a_suggestion) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        auto& w = d["shops"][1]["warehouses"][1];
        w.erase("enabled");
        w["enabeld"] = false;
        w["enabled"] = false;
      },
      "$.shops[1].warehouses[1].enabeld",
      "unknown key; did you mean \"enabled\"?"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["nodes"] = json::object();
      },
      "$.nodes", "did you mean \"node\"?"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["port"] = 1;
      },
      "$.node.port", "Expected one of: data_dir, listen"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["rules"]["min"] = 1;
      },
      "$.shops[0].rules.min", "unknown key"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["region"] = "na";
      },
      "$.shops[1].amazon.region", "unknown key"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["warehouses"][0]["a b"] = 1;
      },
      "$.warehouses[0][\"a b\"]", "unknown key"));
}

TEST(config, x_extension_keys_are_allowed_anywhere) {
  auto doc = base();
  doc["x-owner"] = {{"team", "ops"}, {"anything", {1, 2}}};
  doc["node"]["x-note"] = "ignored";
  doc["shops"][0]["x-ui"] = {{"color", "red"}};
  doc["shops"][0]["warehouses"][0]["x-comment"] = true;
  auto r = parse(doc);
  EXPECT_TRUE(r) << all(r);
}

TEST(config, duplicate_keys_are_problems) {
  auto text = std::string{spec_example};
  auto at = text.find("\"enabled\": false");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "\"enabled\": true, ");
  auto r = parse_config(text);
  EXPECT_TRUE(
      has_problem(r, "$.shops[1].warehouses[1].enabled", "duplicate key"));
}

// -- warehouses ---------------------------------------------------------------

TEST(config, warehouse_ids_are_non_empty_unique_and_printable) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["warehouses"].push_back({{"id", ""}});
      },
      "$.warehouses[2].id", "must not be empty"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["warehouses"].push_back({{"id", "WH-A"}});
      },
      "$.warehouses[2].id",
      "duplicate warehouse id \"WH-A\", already declared at "
      "$.warehouses[0]"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["warehouses"].push_back({{"id", "WH\tC"}});
      },
      "$.warehouses[2].id", "must not contain control characters"));
  // C1 controls too (U+0085, NEL, passed before the fix).
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["warehouses"].push_back({{"id", "WH\xC2\x85"
                                          "C"}});
      },
      "$.warehouses[2].id", "must not contain control characters"));
  EXPECT_TRUE(parse_config(R"({"warehouses": [{"id": "WH-\u00e9\u00a0"}],
                               "shops": []})"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["warehouses"].push_back(json::object());
      },
      "$.warehouses[2].id", "is missing"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["warehouses"].push_back("WH-C");
      },
      "$.warehouses[2]", "must be an object, got \"WH-C\""));
}

TEST(config, warehouses_and_shops_are_required) {
  auto doc = base();
  doc.erase("warehouses");
  doc.erase("shops");
  auto r = parse(doc);
  EXPECT_TRUE(has_problem(r, "$.warehouses", "is missing; expected an array"));
  EXPECT_TRUE(has_problem(r, "$.shops", "is missing; expected an array"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["warehouses"] = json::array();
      },
      "$.warehouses", "at least one warehouse"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"] = json::object();
      },
      "$.shops", "must be an array, got an object"));
}

TEST(config, document_must_be_an_object) {
  auto r = parse_config("[1, 2]");
  EXPECT_TRUE(has_problem(r, "$", "must be an object, got an array"));
}

// -- shops --------------------------------------------------------------------

TEST(config, shop_ids_are_unique_non_empty_and_url_safe) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["id"] = "eu-store";
      },
      "$.shops[1].id",
      "duplicate shop id \"eu-store\", already used at "
      "$.shops[0]"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["id"] = "";
      },
      "$.shops[0].id", "must not be empty"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["id"] = "eu store/1";
      },
      "$.shops[0].id", "only letters, digits, \".\", \"_\" and \"-\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["id"] = 7;
      },
      "$.shops[0].id", "must be a non-empty string, got 7"));
}

TEST(config, channel_must_be_shopify_or_amazon) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["channel"] = "ebay";
      },
      "$.shops[0].channel", "must be \"shopify\" or \"amazon\", got \"ebay\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0].erase("channel");
      },
      "$.shops[0].channel", "is missing"));
}

TEST(config, channel_object_must_match_the_channel) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0].erase("shopify");
      },
      "$.shops[0].shopify", "is missing"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1].erase("amazon");
      },
      "$.shops[1].amazon", "is missing"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["amazon"] = d["shops"][1]["amazon"];
      },
      "$.shops[0].amazon",
      "must not be set for a shop with channel \"shopify\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["shopify"] = d["shops"][0]["shopify"];
      },
      "$.shops[1].shopify",
      "must not be set for a shop with channel \"amazon\""));
}

TEST(config, stock_sync_must_be_a_boolean) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["stock_sync"] = "yes";
      },
      "$.shops[0].stock_sync", "must be true or false, got \"yes\""));
}

// -- a shop's warehouses ------------------------------------------------------

TEST(config, shop_warehouses_refer_to_declared_warehouses_once) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["warehouses"][1]["warehouse"] = "WH-X";
      },
      "$.shops[1].warehouses[1].warehouse",
      "\"WH-X\" is not a declared warehouse; declared in $.warehouses: WH-A, "
      "WH-B"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["warehouses"][1]["warehouse"] = "WH-A";
      },
      "$.shops[1].warehouses[1].warehouse", "listed more than once"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["warehouses"][0].erase("enabled");
      },
      "$.shops[1].warehouses[0].enabled",
      "is missing; expected true or false"));
}

TEST(config, enabled_shopify_entry_needs_a_location_gid) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["warehouses"][0].erase("location");
      },
      "$.shops[0].warehouses[0].location",
      "is missing; an enabled warehouse of a shopify shop needs its location"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["warehouses"][1]["location"] =
            "gid://shopify/Location/x1";
      },
      "$.shops[0].warehouses[1].location",
      "must be \"gid://shopify/Location/<digits>\", got "
      "\"gid://shopify/Location/x1\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["warehouses"][1]["location"] = 1002;
      },
      "$.shops[0].warehouses[1].location", "got 1002"));
}

TEST(config, disabled_shopify_entry_may_omit_its_location) {
  auto doc = base();
  doc["shops"][0]["warehouses"][1] = {{"warehouse", "WH-B"},
                                      {"enabled", false}};
  auto r = parse(doc);
  ASSERT_TRUE(r) << all(r);
  EXPECT_EQ(r.value->shops[0].warehouses[1].location, "");
}

TEST(config, enabled_shopify_entries_map_to_distinct_locations) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["warehouses"][1]["location"] =
            "gid://shopify/Location/1001";
      },
      "$.shops[0].warehouses[1].location",
      "\"gid://shopify/Location/1001\" is already mapped to the enabled entry "
      "at $.shops[0].warehouses[0]"));
  // A disabled entry may keep the location an enabled one uses.
  auto doc = base();
  doc["shops"][0]["warehouses"][1]["enabled"] = false;
  doc["shops"][0]["warehouses"][1]["location"] = "gid://shopify/Location/1001";
  auto r = parse(doc);
  EXPECT_TRUE(r) << all(r);
}

TEST(config, amazon_entries_have_no_location) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["warehouses"][0]["location"] = "gid://shopify/Location/1";
      },
      "$.shops[1].warehouses[0].location",
      "must not be set for an amazon shop"));
}

// -- rules --------------------------------------------------------------------

TEST(config, rules_are_bounded_integers) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["rules"]["buffer"] = -1;
      },
      "$.shops[0].rules.buffer", "must be an integer >= 0, got -1"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["rules"]["percent"] = 101;
      },
      "$.shops[0].rules.percent", "must be an integer from 0 to 100, got 101"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["rules"]["percent"] = -1;
      },
      "$.shops[0].rules.percent", "from 0 to 100, got -1"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["rules"]["max"] = -5;
      },
      "$.shops[0].rules.max", "got -5"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["rules"]["buffer"] = 1.5;
      },
      "$.shops[0].rules.buffer", "must be an integer >= 0, got 1.5"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["rules"]["max"] = "10";
      },
      "$.shops[0].rules.max", "got \"10\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["rules"] = 3;
      },
      "$.shops[0].rules", "must be an object, got 3"));
}

// -- channel settings ---------------------------------------------------------

TEST(config, urls_need_http_scheme_and_host) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["shop_url"] = "ftp://x";
      },
      "$.shops[0].shopify.shop_url",
      "must start with http:// or https://, got \"ftp://x\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["endpoint"] = "https://";
      },
      "$.shops[1].amazon.endpoint", "must name a host"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["lwa_endpoint"] = "http:///token";
      },
      "$.shops[1].amazon.lwa_endpoint", "must name a host"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["endpoint"] = "http://h:0";
      },
      "$.shops[1].amazon.endpoint", "port from 1 to 65535"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"].erase("shop_url");
      },
      "$.shops[0].shopify.shop_url", "is missing"));
}

TEST(config, urls_with_credentials_are_refused_without_echoing_them) {
  auto doc = base();
  doc["shops"][1]["amazon"]["endpoint"] = "https://me:hunter2@example.com";
  auto r = parse(doc);
  ASSERT_TRUE(has_problem(r, "$.shops[1].amazon.endpoint",
                          "must not contain a user name or password"));
  EXPECT_EQ(all(r).find("hunter2"), std::string::npos) << all(r);
}

TEST(config, api_version_looks_like_year_and_month) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["api_version"] = "2026-13";
      },
      "$.shops[0].shopify.api_version",
      "must look like YYYY-MM (e.g. \"2026-10\"), got \"2026-13\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["api_version"] = "latest";
      },
      "$.shops[0].shopify.api_version", "must look like YYYY-MM"));
}

TEST(config, env_fields_are_variable_names) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["access_token_env"] = "1TOKEN";
      },
      "$.shops[0].shopify.access_token_env",
      "must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*, "
      "at most 128 characters)"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["client_secret_env"] = "AMZ SECRET";
      },
      "$.shops[1].amazon.client_secret_env", "environment variable"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["client_id_env"] = "";
      },
      "$.shops[1].amazon.client_id_env", "environment variable"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"].erase("refresh_token_env");
      },
      "$.shops[1].amazon.refresh_token_env", "is missing"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["api"]["token_env"] = "API-TOKEN";
      },
      "$.api.token_env", "environment variable"));
}

TEST(config, a_secret_in_an_env_field_is_refused_and_never_quoted) {
  // Before the fix a pasted secret that is not an identifier was quoted in
  // the problem, and one that is (shpat_...) passed and was logged later.
  struct row {
    const char* section;
    const char* field;
    const char* value;
    const char* says;
  };
  std::vector<row> rows = {
      {"shopify", "access_token_env", "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",
       "looks like a Shopify access token"},
      {"shopify", "access_token_env", "shpca_S3cr3tValue", "Shopify"},
      {"amazon", "refresh_token_env", "Atzr|IwEBIS3cr3tRefresh",
       "looks like an Amazon LWA refresh token"},
      {"amazon", "client_id_env", "amzn1.application-oa2-client.S3cr3t",
       "Amazon LWA client id"},
      {"amazon", "client_secret_env", "lwa+S3cr3t/secret=Q9",
       "the value is not shown"},
  };
  for (auto& r : rows) {
    auto doc = base();
    doc["shops"][std::string{r.section} == "shopify" ? 0 : 1][r.section]
       [r.field] = r.value;
    auto result = parse(doc);
    EXPECT_TRUE(
        has_problem(result,
                    std::string{"$.shops["} +
                        (std::string{r.section} == "shopify" ? "0" : "1") +
                        "]." + r.section + "." + r.field,
                    r.says));
    EXPECT_EQ(all(result).find(r.value), std::string::npos) << all(result);
    EXPECT_EQ(all(result).find("S3cr3t"), std::string::npos) << all(result);
  }
  auto doc = base();
  doc["api"]["token_env"] = "shpat_S3cr3t";
  EXPECT_TRUE(has_problem(parse(doc), "$.api.token_env", "Shopify"));
  // Not a string: its value is not quoted either.
  doc = base();
  doc["api"]["token_env"] = 1234567890;
  auto r = parse(doc);
  EXPECT_TRUE(has_problem(r, "$.api.token_env", "got an integer"));
  EXPECT_EQ(all(r).find("1234567890"), std::string::npos) << all(r);
  // At most 128 characters.
  doc = base();
  doc["api"]["token_env"] = std::string(128, 'T');
  EXPECT_TRUE(parse(doc)) << all(parse(doc));
  doc["api"]["token_env"] = std::string(129, 'T');
  EXPECT_TRUE(has_problem(parse(doc), "$.api.token_env", "at most 128"));
}

TEST(config, marketplace_ids_are_non_empty_strings) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["marketplace_ids"] = json::array();
      },
      "$.shops[1].amazon.marketplace_ids", "at least one marketplace id"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["marketplace_ids"].push_back("");
      },
      "$.shops[1].amazon.marketplace_ids[1]",
      "must be a non-empty marketplace id string, got \"\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["marketplace_ids"] = "ATVPDKIKX0DER";
      },
      "$.shops[1].amazon.marketplace_ids", "must be an array"));
}

TEST(config, amazon_intervals_are_range_checked) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["batch_interval_seconds"] = 0;
      },
      "$.shops[1].amazon.batch_interval_seconds",
      "must be an integer from 1 to 86400, got 0"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["batch_interval_seconds"] = 86401;
      },
      "$.shops[1].amazon.batch_interval_seconds", "got 86401"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["feed_poll_seconds"] = 3601;
      },
      "$.shops[1].amazon.feed_poll_seconds",
      "must be an integer from 1 to 3600, got 3601"));
}

TEST(config, drift_check_is_off_by_default_and_read_when_given) {
  auto r = parse(base());
  ASSERT_TRUE(r.value) << all(r);
  auto& off = r.value->shops[0].shopify.drift_check;
  EXPECT_FALSE(off.enabled);
  EXPECT_EQ(off.interval, std::chrono::seconds{3600});
  EXPECT_EQ(off.budget_percent, 10u);
  EXPECT_EQ(off.page_size, 50u);
  auto doc = base();
  doc["shops"][0]["shopify"]["drift_check"] = {{"enabled", true},
                                               {"interval_seconds", 600},
                                               {"budget_percent", 5},
                                               {"page_size", 20}};
  r = parse(doc);
  ASSERT_TRUE(r.value) << all(r);
  auto& on = r.value->shops[0].shopify.drift_check;
  EXPECT_TRUE(on.enabled);
  EXPECT_EQ(on.interval, std::chrono::seconds{600});
  EXPECT_EQ(on.budget_percent, 5u);
  EXPECT_EQ(on.page_size, 20u);
}

TEST(config, drift_check_fields_are_checked_with_their_path) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["drift_check"] = {{"budget_percent", 80}};
      },
      "$.shops[0].shopify.drift_check.budget_percent",
      "must be an integer from 1 to 50, got 80"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["drift_check"] = {{"interval_seconds", 0}};
      },
      "$.shops[0].shopify.drift_check.interval_seconds", "got 0"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["drift_check"] = {{"page_size", 251}};
      },
      "$.shops[0].shopify.drift_check.page_size", "got 251"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["drift_check"] = {{"enabled", "yes"}};
      },
      "$.shops[0].shopify.drift_check.enabled", "must be true or false"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["drift_check"] = {{"enable", true}};
      },
      "$.shops[0].shopify.drift_check.enable", "unknown"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][0]["shopify"]["drift_check"] = 5;
      },
      "$.shops[0].shopify.drift_check", "object"));
}

TEST(config, seller_id_and_product_type_are_non_empty) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["seller_id"] = "";
      },
      "$.shops[1].amazon.seller_id", "must not be empty"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"].erase("seller_id");
      },
      "$.shops[1].amazon.seller_id",
      "is missing; expected a non-empty string"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["shops"][1]["amazon"]["product_type"] = "";
      },
      "$.shops[1].amazon.product_type", "must not be empty"));
}

// -- reporting ----------------------------------------------------------------

TEST(config, every_problem_is_reported_at_once) {
  auto doc = base();
  doc["node"]["durability"] = "never";
  doc["warehouses"][1]["id"] = "WH-A";
  doc["shops"][0]["shopify"]["shop_url"] = "eu-store.myshopify.com";
  doc["shops"][0]["warehouses"][0]["enabeld"] = true;
  doc["shops"][1]["amazon"]["marketplace_ids"] = json::array();
  doc["shops"][1]["rules"] = {{"percent", 200}};
  auto r = parse(doc);
  EXPECT_FALSE(r);
  EXPECT_TRUE(has_problem(r, "$.node.durability", "\"never\""));
  EXPECT_TRUE(has_problem(r, "$.warehouses[1].id", "duplicate"));
  EXPECT_TRUE(has_problem(r, "$.shops[0].shopify.shop_url", "http://"));
  EXPECT_TRUE(has_problem(r, "$.shops[0].warehouses[0].enabeld", "unknown"));
  EXPECT_TRUE(
      has_problem(r, "$.shops[1].amazon.marketplace_ids", "at least one"));
  EXPECT_TRUE(has_problem(r, "$.shops[1].rules.percent", "0 to 100"));
  // WH-B is no longer declared, and both shops list it.
  EXPECT_TRUE(has_problem(r, "$.shops[0].warehouses[1].warehouse",
                          "not a declared warehouse"));
  EXPECT_EQ(r.problems.size(), 8u) << all(r);
}

TEST(config, malformed_json_reports_byte_offset_and_line) {
  auto r = parse_config("{\n  \"node\": {,}\n}");
  EXPECT_FALSE(r);
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_EQ(r.problems[0].path, "$");
  EXPECT_NE(r.problems[0].message.find(
                "malformed JSON at byte offset 13 (line 2, column 12)"),
            std::string::npos)
      << all(r);
  auto empty = parse_config("");
  ASSERT_EQ(empty.problems.size(), 1u);
  EXPECT_NE(empty.problems[0].message.find("byte offset 0"), std::string::npos)
      << all(empty);
}

TEST(config, malformed_json_messages_escape_bytes_that_are_not_utf8) {
  // Found by fuzzing: the message quoted the raw bytes, so the reload
  // endpoint could not send it as JSON.
  auto r = parse_config("{\"warehouses\": [{\"id\xC1: \"WH-A\"}]}");
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  auto& message = r.problems[0].message;
  EXPECT_NE(message.find("byte offset 20"), std::string::npos) << message;
  EXPECT_NE(message.find("'\"id\\xC1'"), std::string::npos) << message;
  EXPECT_NO_THROW((void)json(message).dump()) << message;
  // Valid multi-byte characters stay as they are.
  r = parse_config("{\"w\u00e9\": \"\xC3\xA9\" x}");
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_NO_THROW((void)json(r.problems[0].message).dump());
}

TEST(config, numbers_too_large_for_a_double_are_a_problem_not_an_exception) {
  // Found by fuzzing: nlohmann throws out_of_range for 1E400, which escaped
  // parse_config: check-config aborted, and a SIGHUP reload ended serve.
  auto r = parse_config("{\"node\": {\"max_body_bytes\": 1E400}}");
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_EQ(r.problems[0].path, "$");
  EXPECT_NE(r.problems[0].message.find("byte offset 32 (line 1, column 33)"),
            std::string::npos)
      << all(r);
  EXPECT_NE(r.problems[0].message.find("number overflow"), std::string::npos)
      << all(r);
}

TEST(config, missing_file_names_the_file_and_the_os_error) {
  auto r = load_config("/nonexistent/shelfsync.json");
  EXPECT_FALSE(r);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].path, "$");
  EXPECT_EQ(r.problems[0].message,
            "cannot read config file \"/nonexistent/shelfsync.json\": No such "
            "file or directory");
  auto dir = load_config(SHELFSYNC_CONFIG_DIR);
  ASSERT_EQ(dir.problems.size(), 1u);
  EXPECT_NE(dir.problems[0].message.find("Is a directory"), std::string::npos)
      << all(dir);
}

TEST(config, to_string_joins_path_and_message) {
  EXPECT_EQ(to_string(config_problem{"$.shops[1].id", "must not be empty"}),
            "$.shops[1].id: must not be empty");
}

TEST(config, read_secret_returns_set_non_empty_variables) {
  ::setenv("SHELFSYNC_CONFIG_TEST_SECRET", "s3cret", 1);
  EXPECT_EQ(read_secret("SHELFSYNC_CONFIG_TEST_SECRET"), "s3cret");
  ::setenv("SHELFSYNC_CONFIG_TEST_SECRET", "", 1);
  EXPECT_EQ(read_secret("SHELFSYNC_CONFIG_TEST_SECRET"), std::nullopt);
  ::unsetenv("SHELFSYNC_CONFIG_TEST_SECRET");
  EXPECT_EQ(read_secret("SHELFSYNC_CONFIG_TEST_SECRET"), std::nullopt);
}
