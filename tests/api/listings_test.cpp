// The paged lists of the API (deliveries of a shop by state, products by
// prefix) on a real loopback server, driven by a real HTTP client.
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/http_api.hpp"
#include "net/client.hpp"
#include "net/url.hpp"
#include "tests/support/config.hpp"

using namespace shelfsync;
using json = nlohmann::json;

namespace {

constexpr const char* listing_token = "listing-token";

struct listings_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-listings-" + std::to_string(::getpid())))
                        .string();
  metrics counters;
  std::unique_ptr<engine> eng;
  std::unique_ptr<http_api> api;
  std::unique_ptr<http::server> server;
  std::unique_ptr<http::client> client;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    auto conf = tests::two_shop_config(dir);
    conf->node.product_idle_seconds = 60;
    eng = std::move(*engine::start(conf));
    api = std::make_unique<http_api>(*eng, counters, listing_token, [] {
      return std::vector<config_problem>{};
    });
    server = std::make_unique<http::server>(
        http::server_options{}, [this](http::request&& req, http::responder r) {
          api->handle(std::move(req), std::move(r));
        });
    auto port = server->start();
    client = std::make_unique<http::client>(
        *http::parse_url("http://127.0.0.1:" + std::to_string(port)));
  }

  void TearDown() override {
    server->stop();
    eng.reset();
    std::filesystem::remove_all(dir);
  }

  http::response get(std::string target) {
    auto req = http::make_request(http::verb::get, std::move(target));
    req.set(boost::beast::http::field::authorization,
            std::string{"Bearer "} + listing_token);
    auto res = client->send(std::move(req));
    EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.error().message);
    return res.ok() ? res.value() : http::response{};
  }

  json get_json(std::string target) {
    auto res = get(target);
    EXPECT_EQ(res.result_int(), 200) << target << ": " << res.body();
    return json::parse(res.body(), nullptr, false);
  }

  /// Posts one absolute count per product, WH-A, and commits.
  void stock(const std::vector<std::string>& products, int64_t on_hand = 5) {
    json batch = json::array();
    for (auto& p : products)
      batch.push_back({{"id", "e-" + p + "-" + std::to_string(on_hand)},
                       {"product", p},
                       {"warehouse", "WH-A"},
                       {"on_hand", on_hand}});
    auto req = http::make_request(http::verb::post, "/v1/stock/events",
                                  batch.dump(), "application/json");
    req.set(boost::beast::http::field::authorization,
            std::string{"Bearer "} + listing_token);
    auto res = client->send(std::move(req));
    ASSERT_TRUE(res.ok());
    ASSERT_EQ(res.value().result_int(), 200) << res.value().body();
    ASSERT_TRUE(eng->sync());
  }

  /// Follows next_cursor from `first` to the end; the products in order.
  std::vector<std::string> all_pages(const std::string& first,
                                     size_t* pages = nullptr) {
    std::vector<std::string> out;
    std::string target = first;
    for (size_t n = 1; n < 1000; ++n) {
      auto page = get_json(target);
      if (!page.is_object()) break;
      for (auto& e : page["entries"])
        out.push_back(e["product"].get<std::string>());
      if (page["next_cursor"].is_null()) {
        if (pages) *pages = n;
        break;
      }
      std::string cursor = page["next_cursor"];
      std::string escaped;
      for (unsigned char c : cursor) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        escaped += std::isalnum(c) ? std::string(1, static_cast<char>(c))
                                   : std::string{buf};
      }
      target = first + "&cursor=" + escaped;
    }
    return out;
  }
};

std::vector<std::string> codes(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%03d", i);
    out.push_back(prefix + buf);
  }
  return out;
}

} // namespace

TEST_F(listings_test, products_by_prefix_in_code_order_page_by_page) {
  stock(codes("B-", 30));
  stock(codes("A-", 45));
  stock({"A", "A-", "AB-1", "A-010/x y"});
  size_t pages = 0;
  auto a = all_pages("/v1/products?prefix=A-&limit=10", &pages);
  auto expected = codes("A-", 45);
  expected.insert(expected.begin(), "A-");
  expected.insert(expected.begin() + 12, "A-010/x y");
  EXPECT_EQ(a, expected);
  EXPECT_EQ(pages, 5u);
  // No prefix: everything, in order, no page over the limit.
  auto page = get_json("/v1/products?limit=1000");
  EXPECT_EQ(page["entries"].size(), 79u);
  EXPECT_TRUE(page["next_cursor"].is_null());
  EXPECT_EQ(page["entries"][0]["product"], "A");
  // An entry holds the product's stock and its views.
  auto one = get_json("/v1/products?prefix=B-007");
  ASSERT_EQ(one["entries"].size(), 1u);
  auto& e = one["entries"][0];
  EXPECT_EQ(e["warehouses"]["WH-A"]["available"], 5);
  EXPECT_EQ(e["views"]["eu-store"][tests::location_a], 5);
  EXPECT_EQ(e["views"]["amazon-us"][""], 5);
  // A prefix nothing has: an empty last page.
  auto none = get_json("/v1/products?prefix=Z");
  EXPECT_TRUE(none["entries"].empty());
  EXPECT_TRUE(none["next_cursor"].is_null());
  // Default page size.
  EXPECT_EQ(get_json("/v1/products")["entries"].size(), 50u);
}

TEST_F(listings_test, bad_parameters_name_the_parameter_and_why) {
  auto check = [&](const std::string& target, int status,
                   const std::string& parameter, const std::string& words) {
    auto res = get(target);
    EXPECT_EQ(res.result_int(), status) << target << ": " << res.body();
    auto body = json::parse(res.body(), nullptr, false);
    EXPECT_EQ(body.value("parameter", ""), parameter) << res.body();
    EXPECT_NE(body.value("error", "").find(words), std::string::npos)
        << target << ": " << res.body();
  };
  check("/v1/products?limit=0", 422, "limit", "from 1 to 1000, got \"0\"");
  check("/v1/products?limit=1001", 422, "limit", "from 1 to 1000");
  check("/v1/products?limit=ten", 422, "limit", "got \"ten\"");
  check("/v1/products?limit=-5", 422, "limit", "an integer");
  check("/v1/products?prefix=%zz", 400, "prefix", "bad %-escape");
  check("/v1/products?prefix=" + std::string(600, 'p'), 422, "prefix",
        "longer than any product code");
  check("/v1/shops/eu-store/deliveries", 400, "state",
        "missing query parameter state: one of failed, pending, in_flight");
  check("/v1/shops/eu-store/deliveries?state=done", 422, "state",
        "got \"done\"");
  check("/v1/shops/eu-store/deliveries?state=pending&cursor=abc", 422, "cursor",
        "not a cursor of the pending list");
  check("/v1/shops/eu-store/deliveries?state=failed&limit=", 422, "limit",
        "got \"\"");
  EXPECT_EQ(get("/v1/shops/nowhere/deliveries?state=failed").result_int(), 404);
  // The token is needed, as everywhere under /v1.
  auto req = http::make_request(http::verb::get, "/v1/products");
  EXPECT_EQ(client->send(std::move(req)).value().result_int(), 401);
}

TEST_F(listings_test, failed_and_in_flight_come_from_the_index_of_records) {
  stock(codes("F-", 6));
  // What the channel said, as the shop actor records it.
  auto failed = [](int64_t value, const char* code) {
    delivery d;
    d.state = delivery_state::failed;
    d.sent = value;
    d.request = "key-" + std::to_string(value);
    d.error_code = code;
    d.error_message = "no inventory item has SKU";
    d.error_at = "2026-12-04T10:00:00.000Z";
    d.permanent = true;
    return d;
  };
  delivery flying;
  flying.state = delivery_state::in_flight;
  flying.sent = 5;
  flying.request = "key-fly";
  flying.sent_ms = 1'764'842'400'000; // 2025-12-04T10:00:00Z
  delivery ok;
  ok.state = delivery_state::confirmed;
  ok.has_confirmed = true;
  ok.confirmed = 5;
  auto& db = eng->db();
  for (auto* p : {"F-004", "F-001", "F-003"})
    ASSERT_FALSE(
        db.put_delivery("eu-store", p,
                        {{tests::location_a, failed(5, "SKU_NOT_FOUND")},
                         {tests::location_b, ok}}));
  ASSERT_FALSE(
      db.put_delivery("eu-store", "F-002", {{tests::location_a, flying}}));
  ASSERT_FALSE(db.put_delivery("amazon-us", "F-005",
                               {{"", failed(5, "InvalidUpdate")}}));
  size_t pages = 0;
  auto list =
      all_pages("/v1/shops/eu-store/deliveries?state=failed&limit=2", &pages);
  EXPECT_EQ(list, (std::vector<std::string>{"F-001", "F-003", "F-004"}));
  EXPECT_EQ(pages, 2u);
  auto page = get_json("/v1/shops/eu-store/deliveries?state=failed&limit=1");
  EXPECT_EQ(page["next_cursor"], "F-001");
  ASSERT_EQ(page["entries"][0]["locations"].size(), 1u);
  auto& loc = page["entries"][0]["locations"][0];
  EXPECT_EQ(loc["location"], tests::location_a);
  EXPECT_EQ(loc["value"], 5);
  EXPECT_EQ(loc["desired"], 5);
  EXPECT_EQ(loc["since"], "2026-12-04T10:00:00.000Z");
  EXPECT_EQ(loc["request"], "key-5");
  EXPECT_EQ(loc["error"]["code"], "SKU_NOT_FOUND");
  EXPECT_EQ(loc["error"]["permanent"], true);
  // Amazon names the SKU.
  auto us = get_json("/v1/shops/amazon-us/deliveries?state=failed");
  ASSERT_EQ(us["entries"].size(), 1u);
  EXPECT_EQ(us["entries"][0]["locations"][0]["sku"], "F-005");
  EXPECT_EQ(us["entries"][0]["locations"][0]["error"]["code"], "InvalidUpdate");
  auto flight = get_json("/v1/shops/eu-store/deliveries?state=in_flight");
  ASSERT_EQ(flight["entries"].size(), 1u);
  EXPECT_EQ(flight["entries"][0]["product"], "F-002");
  EXPECT_EQ(flight["entries"][0]["locations"][0]["since"],
            "2025-12-04T10:00:00.000Z");
  // A record that changes state moves in the index, in the same write.
  ASSERT_FALSE(db.put_delivery(
      "eu-store", "F-003", {{tests::location_a, ok}, {tests::location_b, ok}}));
  ASSERT_FALSE(db.put_delivery("eu-store", "F-002",
                               {{tests::location_a, failed(5, "X")}}));
  EXPECT_EQ(all_pages("/v1/shops/eu-store/deliveries?state=failed&limit=2"),
            (std::vector<std::string>{"F-001", "F-002", "F-004"}));
  EXPECT_TRUE(
      get_json("/v1/shops/eu-store/deliveries?state=in_flight")["entries"]
          .empty());
  // A cursor past the end: an empty last page.
  auto end = get_json("/v1/shops/eu-store/deliveries?state=failed&cursor=ZZ");
  EXPECT_TRUE(end["entries"].empty());
  EXPECT_TRUE(end["next_cursor"].is_null());
}

TEST_F(listings_test, pending_pages_through_the_outbox_in_commit_order) {
  // The shops have no channel to deliver to: every view waits.
  stock(codes("P-", 20));
  stock(codes("Q-", 10));
  // A newer value for some products: their older changes are superseded
  // and each product shows once, with its newest value.
  stock({"P-003", "P-004"}, 9);
  size_t pages = 0;
  auto list =
      all_pages("/v1/shops/eu-store/deliveries?state=pending&limit=7", &pages);
  std::set<std::string> distinct(list.begin(), list.end());
  EXPECT_EQ(list.size(), 30u);
  EXPECT_EQ(distinct.size(), 30u);
  EXPECT_EQ(pages, 5u);
  // Commit order (within a commit, the order the commit wrote): the P-*
  // without the two superseded, then the Q-*, then the two that changed
  // last.
  auto starts = [&](size_t from, size_t to, char c) {
    for (size_t i = from; i < to && i < list.size(); ++i)
      if (list[i][0] != c) return false;
    return true;
  };
  EXPECT_TRUE(starts(0, 18, 'P'));
  EXPECT_TRUE(starts(18, 28, 'Q'));
  ASSERT_EQ(list.size(), 30u);
  EXPECT_EQ(std::set<std::string>(list.begin() + 28, list.end()),
            (std::set<std::string>{"P-003", "P-004"}));
  auto last =
      get_json("/v1/shops/eu-store/deliveries?state=pending&limit=1000");
  auto& e = last["entries"][29];
  // Both locations wait: WH-A's 9 at location A, WH-B's 0 at location B.
  ASSERT_EQ(e["locations"].size(), 2u);
  EXPECT_EQ(e["locations"][0]["location"], tests::location_a);
  EXPECT_EQ(e["locations"][0]["value"], 9);
  EXPECT_EQ(e["locations"][1]["value"], 0);
  EXPECT_TRUE(e["locations"][0]["since"].is_string());
  EXPECT_TRUE(last["next_cursor"].is_null());
  auto us = get_json("/v1/shops/amazon-us/deliveries?state=pending&limit=1");
  EXPECT_EQ(us["entries"][0]["locations"][0]["sku"], list.front());
  EXPECT_TRUE(us["next_cursor"].is_string());
  // A delivered location leaves the entry; a delivered product the list.
  delivery ok;
  ok.state = delivery_state::confirmed;
  ok.has_confirmed = true;
  ok.confirmed = 5;
  delivery zero = ok;
  zero.confirmed = 0;
  ASSERT_FALSE(eng->db().put_delivery("eu-store", list.front(),
                                      {{tests::location_a, ok}}));
  ASSERT_FALSE(eng->db().put_delivery(
      "eu-store", list[1],
      {{tests::location_a, ok}, {tests::location_b, zero}}));
  auto after = get_json("/v1/shops/eu-store/deliveries?state=pending&limit=2");
  ASSERT_EQ(after["entries"].size(), 2u);
  EXPECT_EQ(after["entries"][0]["product"], list.front());
  EXPECT_EQ(after["entries"][0]["locations"].size(), 1u);
  EXPECT_EQ(after["entries"][1]["product"], list[2]);
  EXPECT_EQ(
      all_pages("/v1/shops/eu-store/deliveries?state=pending&limit=7").size(),
      29u);
}
