// The HTTP API on a real loopback server, driven by a real HTTP client.
#include "api/http_api.hpp"

#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "net/url.hpp"
#include "tests/support/config.hpp"

using namespace shelfsync;
using json = nlohmann::json;

namespace {

constexpr const char* token = "s3cret-token";

/// The two-shop config; Amazon counts WH-A only, with a buffer of 1.
config_ptr served_config(const std::string& dir) {
  auto c = tests::two_shop_config(dir);
  c->node.product_idle_seconds = 60;
  c->shops[1].warehouses[1].enabled = false;
  c->shops[1].rules.buffer = 1;
  // Credentials set (the shops never reach a channel here): /readyz
  // answers 503 for a shop whose credentials are not set.
  c->shops[0].shopify.access_token_env = "HTTP_API_TEST_SHOPIFY_TOKEN";
  c->shops[1].amazon.client_id_env = "HTTP_API_TEST_LWA_ID";
  c->shops[1].amazon.client_secret_env = "HTTP_API_TEST_LWA_SECRET";
  c->shops[1].amazon.refresh_token_env = "HTTP_API_TEST_LWA_REFRESH";
  for (auto* env : {"HTTP_API_TEST_SHOPIFY_TOKEN", "HTTP_API_TEST_LWA_ID",
                    "HTTP_API_TEST_LWA_SECRET", "HTTP_API_TEST_LWA_REFRESH"})
    ::setenv(env, "not-a-real-secret", 1);
  return c;
}

struct http_api_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-api-" + std::to_string(::getpid())))
                        .string();
  metrics counters;
  std::unique_ptr<engine> eng;
  std::unique_ptr<http_api> api;
  /// When set, answers instead of `api` (serve before the engine is up).
  std::atomic<starting_api*> starting{nullptr};
  std::unique_ptr<http::server> server;
  std::unique_ptr<http::client> client;
  std::vector<config_problem> reload_answer;
  int reloads = 0;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    eng = std::move(*engine::start(served_config(dir)));
    api = std::make_unique<http_api>(*eng, counters, token, [this] {
      ++reloads;
      return reload_answer;
    });
    http::server_options opts;
    opts.max_body_bytes = 4096;
    server = std::make_unique<http::server>(
        opts, [this](http::request&& req, http::responder r) {
          if (auto* s = starting.load())
            s->handle(std::move(req), std::move(r));
          else
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

  http::response call(http::verb method, std::string target,
                      std::string body = {},
                      std::string type = "application/json",
                      const char* bearer = token) {
    auto req =
        http::make_request(method, std::move(target), std::move(body), type);
    if (bearer)
      req.set(boost::beast::http::field::authorization,
              std::string{"Bearer "} + bearer);
    auto res = client->send(std::move(req));
    EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.error().message);
    return res.ok() ? res.value() : http::response{};
  }

  json post(std::string body, int expect = 200,
            std::string type = "application/json") {
    auto res = call(http::verb::post, "/v1/stock/events", std::move(body),
                    std::move(type));
    EXPECT_EQ(res.result_int(), expect) << res.body();
    return json::parse(res.body(), nullptr, false);
  }
};

} // namespace

TEST_F(http_api_test, health_and_metrics_need_no_token) {
  auto res = call(http::verb::get, "/healthz", {}, {}, nullptr);
  EXPECT_EQ(res.result_int(), 200);
  res = call(http::verb::get, "/metrics", {}, {}, nullptr);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_NE(res.body().find("shelfsync_events_accepted_total 0"),
            std::string::npos);
}

TEST_F(http_api_test, readyz_says_why_batches_cannot_be_taken_now) {
  auto res = call(http::verb::get, "/readyz", {}, {}, nullptr);
  EXPECT_EQ(res.result_int(), 200) << res.body();
  post(R"([{"id":"r1","product":"R-1","warehouse":"WH-A","on_hand":4}])");
  ASSERT_TRUE(eng->sync());
  eng->db().inject_write_failure("the disk holding the data is full");
  // Not ready, with the reason; still alive, and reads still answered.
  res = call(http::verb::get, "/readyz", {}, {}, nullptr);
  EXPECT_EQ(res.result_int(), 503) << res.body();
  auto body = json::parse(res.body(), nullptr, false);
  EXPECT_NE(body.value("reason", "").find("disk holding the data is full"),
            std::string::npos)
      << res.body();
  EXPECT_EQ(call(http::verb::get, "/healthz", {}, {}, nullptr).result_int(),
            200);
  auto refused = post(
      R"([{"id":"r2","product":"R-1","warehouse":"WH-A","on_hand":5}])", 503);
  EXPECT_NE(refused.value("error", "").find("disk holding the data is full"),
            std::string::npos)
      << refused.dump();
  EXPECT_EQ(call(http::verb::get, "/v1/products/R-1").result_int(), 200);
  // The cause gone, ready again and the same batch is taken.
  eng->db().inject_write_failure("");
  EXPECT_EQ(call(http::verb::get, "/readyz", {}, {}, nullptr).result_int(),
            200);
  auto taken =
      post(R"([{"id":"r2","product":"R-1","warehouse":"WH-A","on_hand":5}])");
  EXPECT_EQ(taken.value("accepted", -1), 1) << taken.dump();
}

TEST_F(http_api_test, while_the_log_replays_only_health_answers) {
  starting_api replaying{token, "opening the store"};
  starting = &replaying;
  replaying.set_reason("replaying the event log: 10000 of 250000 events");
  auto res = call(http::verb::get, "/healthz", {}, {}, nullptr);
  EXPECT_EQ(res.result_int(), 200) << res.body();
  res = call(http::verb::get, "/readyz", {}, {}, nullptr);
  EXPECT_EQ(res.result_int(), 503) << res.body();
  auto body = json::parse(res.body(), nullptr, false);
  EXPECT_EQ(body.value("status", ""), "starting") << res.body();
  EXPECT_EQ(body.value("reason", ""),
            "replaying the event log: 10000 of 250000 events")
      << res.body();
  // No event is taken before the replayed ones: 503 with Retry-After and
  // the reason, after the token check.
  const auto batch =
      R"([{"id":"s1","product":"S-1","warehouse":"WH-A","on_hand":3}])";
  res = call(http::verb::post, "/v1/stock/events", batch);
  EXPECT_EQ(res.result_int(), 503) << res.body();
  EXPECT_EQ(res[boost::beast::http::field::retry_after], "1");
  EXPECT_NE(res.body().find("replaying the event log: 10000 of 250000"),
            std::string::npos)
      << res.body();
  EXPECT_EQ(call(http::verb::post, "/v1/stock/events", batch,
                 "application/json", "wrong")
                .result_int(),
            401);
  EXPECT_EQ(call(http::verb::get, "/v1/shops").result_int(), 503);
  EXPECT_EQ(call(http::verb::get, "/v1/products/S-1").result_int(), 503);
  // The engine up: ready, and the same batch is taken.
  starting = nullptr;
  EXPECT_EQ(call(http::verb::get, "/readyz", {}, {}, nullptr).result_int(),
            200);
  EXPECT_EQ(post(batch).value("accepted", -1), 1);
}

TEST_F(http_api_test, wrong_or_missing_token_is_401) {
  auto res = call(http::verb::get, "/v1/shops", {}, {}, nullptr);
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_EQ(json::parse(res.body())["error"], "missing or wrong bearer token");
  res = call(http::verb::get, "/v1/shops", {}, {}, "s3cret-tokeN");
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_EQ(res.body().find(token), std::string::npos);
}

TEST_F(http_api_test, accepted_events_show_in_the_product) {
  auto r = post(R"([
    {"id": "wms-1", "product": "003", "warehouse": "WH-A", "on_hand": 12},
    {"id": "wms-2", "product": "003", "warehouse": "WH-A", "reserved": 2, "version": 17},
    {"id": "wms-3", "product": "003", "warehouse": "WH-B", "on_hand": 5}])");
  EXPECT_EQ(r["accepted"], 3);
  EXPECT_EQ(r["duplicates"], 0);
  EXPECT_EQ(r["last_seq"], 3);
  auto res = call(http::verb::get, "/v1/products/003");
  ASSERT_EQ(res.result_int(), 200);
  auto p = json::parse(res.body());
  EXPECT_EQ(p["product"], "003");
  EXPECT_EQ(p["warehouses"]["WH-A"]["available"], 10);
  EXPECT_EQ(p["warehouses"]["WH-A"]["version"], 17);
  auto& loc =
      p["shops"]["eu-store"]["locations"]["gid://shopify/Location/1001"];
  EXPECT_EQ(loc["desired"], 10);
  EXPECT_EQ(loc["state"], "pending");
  EXPECT_TRUE(loc["confirmed"].is_null());
  EXPECT_EQ(p["shops"]["eu-store"]["locations"]["gid://shopify/Location/1002"]
             ["desired"],
            5);
  // Amazon: WH-A only, minus a buffer of 1.
  EXPECT_EQ(p["shops"]["amazon-us"]["desired"], 9);
  EXPECT_EQ(p["shops"]["amazon-us"]["state"], "pending");
}

TEST_F(http_api_test, ndjson_batches_and_duplicates) {
  auto r = post("{\"id\":\"a\",\"product\":\"p\",\"warehouse\":\"WH-A\","
                "\"delta\":4}\n{\"id\":\"a\",\"product\":\"p\","
                "\"warehouse\":\"WH-A\",\"delta\":4}\n",
                200, "application/x-ndjson");
  EXPECT_EQ(r["accepted"], 1);
  EXPECT_EQ(r["duplicates"], 1);
  r = post(R"([{"id":"a","product":"p","warehouse":"WH-A","delta":4}])");
  EXPECT_EQ(r["accepted"], 0);
  EXPECT_EQ(r["duplicates"], 1);
  auto p = json::parse(call(http::verb::get, "/v1/products/p").body());
  EXPECT_EQ(p["warehouses"]["WH-A"]["on_hand"], 4);
}

TEST_F(http_api_test,
       the_ndjson_media_type_is_case_insensitive_with_parameters) {
  // Before the fix only the exact lower-case prefix was NDJSON; these were
  // read as a JSON array and refused with 400.
  std::string body = "{\"id\":\"c1\",\"product\":\"c\",\"warehouse\":"
                     "\"WH-A\",\"delta\":1}\n{\"id\":\"c2\",\"product\":"
                     "\"c\",\"warehouse\":\"WH-A\",\"delta\":1}\n";
  EXPECT_EQ(post(body, 200, "Application/X-NDJSON")["accepted"], 2);
  EXPECT_EQ(
      post(body, 200, "application/x-ndjson; charset=utf-8")["duplicates"], 2);
  EXPECT_EQ(
      post(body, 200, " APPLICATION/x-ndjson ;charset=UTF-8")["duplicates"], 2);
  // Another media type that merely starts the same is not NDJSON.
  post(body, 400, "application/x-ndjsonx");
  EXPECT_EQ(post(R"([{"id":"c3","product":"c","warehouse":"WH-A","delta":1}])",
                 200, "Application/JSON; charset=utf-8")["accepted"],
            1);
}

TEST_F(http_api_test, invalid_batches_apply_nothing) {
  auto r = post(R"([{"id":"ok","product":"q","warehouse":"WH-A","on_hand":1},
                    {"id":"bad","product":"q","warehouse":"WH-X","on_hand":1}])",
                422);
  EXPECT_EQ(r["index"], 1);
  EXPECT_EQ(r["field"], "warehouse");
  r = post(R"([{"id":"ok","product":"q","warehouse":"WH-A","on_hand":1},)",
           400);
  EXPECT_TRUE(r["error"].get<std::string>().find("byte") != std::string::npos);
  EXPECT_TRUE(r.contains("offset"));
  EXPECT_EQ(call(http::verb::get, "/v1/products/q").result_int(), 404);
  // The ids of a refused batch were not consumed.
  EXPECT_EQ(
      post(R"([{"id":"ok","product":"q","warehouse":"WH-A","on_hand":1}])")
          ["accepted"],
      1);
}

TEST_F(http_api_test, a_negative_reservation_is_refused_no_shop_is_told_more) {
  // Before the fix on_hand 3 with reserved -5 was accepted and Amazon was
  // told 8 (minus its buffer): an oversell.
  auto r = post(R"([{"id":"n0","product":"n","warehouse":"WH-A","on_hand":9},
                    {"id":"n1","product":"n","warehouse":"WH-A","on_hand":3,
                     "reserved":-5}])",
                422);
  EXPECT_EQ(r["index"], 1);
  EXPECT_EQ(r["field"], "reserved");
  EXPECT_EQ(call(http::verb::get, "/v1/products/n").result_int(), 404);
  // A count below zero is accepted (WMS counts do that); available stays 0
  // until deltas bring on_hand back above the reservation.
  post(R"([{"id":"n2","product":"n","warehouse":"WH-A","on_hand":-4},
           {"id":"n3","product":"n","warehouse":"WH-A","reserved":1}])");
  auto p = json::parse(call(http::verb::get, "/v1/products/n").body());
  EXPECT_EQ(p["warehouses"]["WH-A"]["on_hand"], -4);
  EXPECT_EQ(p["warehouses"]["WH-A"]["available"], 0);
  EXPECT_EQ(p["shops"]["amazon-us"]["desired"], 0);
  post(R"([{"id":"n4","product":"n","warehouse":"WH-A","delta":7}])");
  p = json::parse(call(http::verb::get, "/v1/products/n").body());
  EXPECT_EQ(p["warehouses"]["WH-A"]["available"], 2);
  EXPECT_EQ(p["shops"]["eu-store"]["locations"]["gid://shopify/Location/1001"]
             ["desired"],
            2);
}

TEST_F(http_api_test, a_key_given_twice_is_a_422_and_applies_nothing) {
  auto r = post(R"([{"id":"k1","product":"k","warehouse":"WH-A",
                     "on_hand":1,"on_hand":99}])",
                422);
  EXPECT_EQ(r["index"], 0);
  EXPECT_EQ(r["field"], "on_hand");
  r = post("{\"id\":\"k1\",\"product\":\"k\",\"warehouse\":\"WH-A\","
           "\"delta\":1,\"delta\":9}\n",
           422, "application/x-ndjson");
  EXPECT_EQ(r["index"], 0);
  EXPECT_EQ(r["field"], "delta");
  EXPECT_EQ(call(http::verb::get, "/v1/products/k").result_int(), 404);
  // A number written 1e3 is the integer 1000.
  post(R"([{"id":"k2","product":"k","warehouse":"WH-A","on_hand":1e3}])");
  auto p = json::parse(call(http::verb::get, "/v1/products/k").body());
  EXPECT_EQ(p["warehouses"]["WH-A"]["on_hand"], 1000);
}

TEST_F(http_api_test, a_long_value_is_not_echoed_whole) {
  std::string accents;
  for (int i = 0; i < 1500; ++i)
    accents += "\xC3\xA9";
  auto r = post(R"([{"id":"l","product":"l","warehouse":")" + accents +
                    R"(","delta":1}])",
                422);
  EXPECT_EQ(r["field"], "warehouse");
  auto message = r["error"].get<std::string>();
  EXPECT_LT(message.size(), 600u) << message;
  EXPECT_NE(message.find(accents.substr(0, 400) + "...\""), std::string::npos)
      << message;
  auto res = call(http::verb::get, "/v1/products/" + std::string(1000, 'x'));
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_LT(res.body().size(), 600u) << res.body();
}

TEST_F(http_api_test, malformed_bytes_that_are_not_utf8_are_a_400_not_a_500) {
  // Found by fuzzing: the parser's message quoted the raw bytes, and the
  // answer could not be serialized as JSON.
  auto r = post("[{\"id\xC1\": 1}]", 400);
  EXPECT_EQ(r["offset"], 5);
  EXPECT_NE(r["error"].get<std::string>().find("\\xC1"), std::string::npos)
      << r.dump();
  r = post("{\"id\xFF\": 1}\n", 400, "application/x-ndjson");
  EXPECT_EQ(r["index"], 0);
  // Also found by fuzzing: a number too large for a double escaped the
  // parser as an exception.
  r = post(R"([{"id":"a","delta":1E400}])", 400);
  EXPECT_EQ(r["offset"], 23);
}

TEST_F(http_api_test, a_refused_reload_whose_problems_quote_bad_bytes_is_422) {
  // A config file with a non-UTF-8 byte: its one problem is sent as JSON.
  reload_answer = parse_config("{\"warehouses\xC1\": []}").problems;
  ASSERT_EQ(reload_answer.size(), 1u);
  auto res = call(http::verb::post, "/v1/config/reload");
  EXPECT_EQ(res.result_int(), 422) << res.body();
  auto body = json::parse(res.body(), nullptr, false);
  EXPECT_EQ(body["problems"][0]["path"], "$") << res.body();
}

TEST_F(http_api_test, oversized_body_is_413) {
  std::string big = "[" + std::string(5000, ' ') + "]";
  auto res = call(http::verb::post, "/v1/stock/events", big);
  EXPECT_EQ(res.result_int(), 413);
}

TEST_F(http_api_test, unknown_product_is_404_and_codes_are_percent_decoded) {
  EXPECT_EQ(call(http::verb::get, "/v1/products/none").result_int(), 404);
  post(R"([{"id":"s","product":"a b/c","warehouse":"WH-A","on_hand":1}])");
  auto res = call(http::verb::get, "/v1/products/a%20b%2Fc");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::parse(res.body())["product"], "a b/c");
  // A code that decodes to bytes that are not UTF-8 is named in the error
  // all the same (with U+FFFD), not answered 500.
  res = call(http::verb::get, "/v1/products/x%FFy");
  ASSERT_EQ(res.result_int(), 404) << res.body();
  EXPECT_EQ(json::parse(res.body())["error"],
            "shelfsync never saw product \"x\xEF\xBF\xBDy\"");
  res = call(http::verb::get, "/v1/shops/x%FFy");
  EXPECT_EQ(res.result_int(), 404) << res.body();
}

TEST_F(http_api_test, shops_list_and_detail) {
  post(R"([{"id":"1","product":"x","warehouse":"WH-A","on_hand":3}])");
  // Views reach the shops just after the answer: wait for them, bounded.
  http::response res;
  json list;
  for (int i = 0; i < 100; ++i) {
    res = call(http::verb::get, "/v1/shops");
    ASSERT_EQ(res.result_int(), 200);
    list = json::parse(res.body())["shops"];
    if (list.size() == 2 && list[0]["pending"] == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], "eu-store");
  EXPECT_EQ(list[0]["pending"], 1);
  res = call(http::verb::get, "/v1/shops/amazon-us");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::parse(res.body())["channel"], "amazon");
  EXPECT_EQ(call(http::verb::get, "/v1/shops/nope").result_int(), 404);
  res = call(http::verb::get, "/metrics", {}, {}, nullptr);
  EXPECT_NE(res.body().find("shelfsync_outbox_depth{shop=\"eu-store\"} 1"),
            std::string::npos)
      << res.body();
  EXPECT_NE(res.body().find("shelfsync_events_accepted_total 1"),
            std::string::npos);
}

TEST_F(http_api_test, reload_answers_with_the_configs_problems) {
  auto res = call(http::verb::post, "/v1/config/reload");
  EXPECT_EQ(res.result_int(), 200);
  reload_answer = {{"$.shops[0].id", "must not be empty"}};
  res = call(http::verb::post, "/v1/config/reload");
  EXPECT_EQ(res.result_int(), 422);
  auto body = json::parse(res.body());
  EXPECT_EQ(body["problems"][0]["path"], "$.shops[0].id");
  EXPECT_EQ(reloads, 2);
}

TEST_F(http_api_test, the_cluster_view_on_a_single_node_says_it_is_not_one) {
  auto res = call(http::verb::get, "/v1/cluster");
  ASSERT_EQ(res.result_int(), 404) << res.body();
  auto body = json::parse(res.body());
  EXPECT_EQ(body["clustered"], false);
  EXPECT_NE(body["error"].get<std::string>().find("not clustered"),
            std::string::npos);
  EXPECT_EQ(call(http::verb::post, "/v1/cluster").result_int(), 405);
  EXPECT_EQ(call(http::verb::get, "/v1/cluster", {}, {}, nullptr).result_int(),
            401)
      << "it needs the token";
}

TEST_F(http_api_test, unknown_paths_and_methods) {
  EXPECT_EQ(call(http::verb::get, "/v2/nothing").result_int(), 404);
  EXPECT_EQ(call(http::verb::get, "/v1/stock/events").result_int(), 405);
}

TEST_F(http_api_test, explain_derives_each_number_of_a_shop) {
  post(R"([
    {"id": "wms-1", "product": "003", "warehouse": "WH-A", "on_hand": 12},
    {"id": "wms-2", "product": "003", "warehouse": "WH-A", "reserved": 2, "version": 17},
    {"id": "wms-3", "product": "003", "warehouse": "WH-B", "on_hand": 5}])");
  auto res = call(http::verb::get, "/v1/products/003/explain?shop=amazon-us");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  auto x = json::parse(res.body());
  EXPECT_EQ(x["product"], "003");
  EXPECT_EQ(x["shop"], "amazon-us");
  ASSERT_EQ(x["numbers"].size(), 1u);
  auto& n = x["numbers"][0];
  EXPECT_EQ(n["value"], 9); // WH-A's 10 available, minus a buffer of 1
  EXPECT_EQ(n["calculation"][0]["value"], 10);
  EXPECT_EQ(n["calculation"][1]["step"], "buffer");
  EXPECT_EQ(n["events"].size(), 2u); // WH-B's event does not count here
  EXPECT_TRUE(n.contains("delivery"));
  EXPECT_EQ(x["excluded"][0]["warehouse"], "WH-B");
  EXPECT_EQ(x["excluded"][0]["reason"], "disabled for this shop");
  res = call(http::verb::get, "/v1/products/003/explain?shop=eu-store");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(json::parse(res.body())["numbers"].size(), 2u);
  res = call(http::verb::get, "/v1/products/003/explain");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_NE(json::parse(res.body())["error"].get<std::string>().find("shop"),
            std::string::npos);
  EXPECT_EQ(
      call(http::verb::get, "/v1/products/003/explain?shop=nope").result_int(),
      404);
  EXPECT_EQ(call(http::verb::get, "/v1/products/none/explain?shop=eu-store")
                .result_int(),
            404);
  EXPECT_EQ(call(http::verb::get, "/v1/products/003/explain?shop=eu-store", {},
                 {}, nullptr)
                .result_int(),
            401);
}

TEST_F(http_api_test, resync_starts_once_and_shows_progress) {
  post(R"([{"id":"r1","product":"R-1","warehouse":"WH-A","on_hand":3},
           {"id":"r2","product":"R-2","warehouse":"WH-B","on_hand":4}])");
  ASSERT_TRUE(eng->sync());
  auto res = call(http::verb::post, "/v1/shops/eu-store/resync");
  ASSERT_EQ(res.result_int(), 202) << res.body();
  auto body = json::parse(res.body());
  EXPECT_EQ(body["resync"]["state"], "running");
  EXPECT_TRUE(body["resync"]["started_at"].is_string());
  // The shop cannot deliver (no token): the resync keeps running, and a
  // second request is refused rather than restarting it.
  res = call(http::verb::post, "/v1/shops/eu-store/resync");
  EXPECT_EQ(res.result_int(), 409) << res.body();
  EXPECT_NE(
      json::parse(res.body())["error"].get<std::string>().find("is running"),
      std::string::npos);
  res = call(http::verb::post, "/v1/shops/nowhere/resync");
  EXPECT_EQ(res.result_int(), 404) << res.body();
  res = call(http::verb::get, "/v1/shops/eu-store/resync");
  EXPECT_EQ(res.result_int(), 405) << res.body();
  res = call(http::verb::post, "/v1/shops/eu-store/resync", {}, {}, nullptr);
  EXPECT_EQ(res.result_int(), 401) << res.body();
  // Progress is in the shop's status.
  json resync;
  for (int i = 0; i < 200; ++i) {
    resync = json::parse(
        call(http::verb::get, "/v1/shops/eu-store").body())["resync"];
    if (resync["scanned"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  EXPECT_EQ(resync["state"], "running");
  EXPECT_EQ(resync["scanned"], 2);
  EXPECT_EQ(resync["queued"], 2);
  EXPECT_EQ(resync["delivered"], 0);
  EXPECT_TRUE(resync["finished_at"].is_null());
  // The other shop has no resync.
  auto us = json::parse(call(http::verb::get, "/v1/shops/amazon-us").body());
  EXPECT_FALSE(us.contains("resync"));
}

TEST_F(http_api_test, a_drift_noted_in_the_delivery_record_shows) {
  post(R"([{"id":"d1","product":"D-1","warehouse":"WH-A","on_hand":3}])");
  ASSERT_TRUE(eng->sync());
  delivery_record rec;
  auto& d = rec["gid://shopify/Location/1001"];
  d.state = delivery_state::confirmed;
  d.has_confirmed = true;
  d.confirmed = 3;
  d.drifts = 1;
  d.drift_seen = 9;
  d.drift_at = "2026-11-27T10:00:00.000Z";
  ASSERT_FALSE(eng->db().put_delivery("eu-store", "D-1", rec));
  auto body = json::parse(call(http::verb::get, "/v1/products/D-1").body());
  auto loc =
      body["shops"]["eu-store"]["locations"]["gid://shopify/Location/1001"];
  EXPECT_EQ(loc["confirmed"], 3);
  EXPECT_EQ(loc["drift"]["count"], 1);
  EXPECT_EQ(loc["drift"]["seen"], 9);
  EXPECT_EQ(loc["drift"]["at"], "2026-11-27T10:00:00.000Z");
  EXPECT_FALSE(
      body["shops"]["eu-store"]["locations"]["gid://shopify/Location/1002"]
          .contains("drift"));
}
