// Secrets never leave shelfsync (spec §3): runs the real `shelfsync sim` and
// `shelfsync serve` with distinctive credentials in the environment, drives
// them through normal work and error paths (good and bad batches, wrong
// bearer tokens, every read endpoint, refused reloads, and channels that
// refuse the credential: a Shopify 401 and an LWA invalid_client), then
// looks for each secret, and its usual encodings, in everything the
// processes printed and in every answer of the API.
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <boost/beast/core/detail/base64.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "net/url.hpp"
#include "tests/api/child_process.hpp"

using json = nlohmann::json;
using namespace shelfsync;
using namespace std::chrono_literals;

namespace {

/// Variable name -> value; the values are the secrets looked for.
const std::map<std::string, std::string> secrets = {
    {"SECRETS_TEST_API_TOKEN", "api-S3cr3t-7d1e0b"},
    {"SECRETS_TEST_API_TOKEN_2", "api-S3cr3t-2nd-4f2a"},
    {"SECRETS_TEST_SHOPIFY_TOKEN", "shpat_S3cr3t_9a8b7c"},
    {"SECRETS_TEST_SHOPIFY_BAD_TOKEN", "shpat_Wr0ng_5e4f3a"},
    {"SECRETS_TEST_LWA_ID", "amzn1.application-oa2-client.S3cr3tId42"},
    {"SECRETS_TEST_LWA_SECRET", "lwa+S3cr3t/secret=Q9"},
    {"SECRETS_TEST_LWA_REFRESH", "Atzr|S3cr3t-refresh-X1"},
    {"SECRETS_TEST_LWA_BAD_ID", "amzn1.application-oa2-client.Wr0ngId77"},
    {"SECRETS_TEST_LWA_BAD_SECRET", "lwa+Wr0ng/secret=Z3"},
    {"SECRETS_TEST_LWA_BAD_REFRESH", "Atzr|Wr0ng-refresh-Y2"},
};

const std::string& secret(const std::string& name) { return secrets.at(name); }

std::string base64(const std::string& s) {
  std::string out(boost::beast::detail::base64::encoded_size(s.size()), '\0');
  out.resize(
      boost::beast::detail::base64::encode(out.data(), s.data(), s.size()));
  return out;
}

std::string url_encoded(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

/// The forms in which a secret would show if it leaked.
std::vector<std::string> leak_forms(const std::string& value) {
  return {value, "Bearer " + value, base64(value), url_encoded(value),
          json(value).dump()};
}

json amazon_shop(const std::string& id, const std::string& seller,
                 const std::string& sim, const std::string& env_prefix) {
  return {{"id", id},
          {"channel", "amazon"},
          {"amazon",
           {{"endpoint", sim},
            {"lwa_endpoint", sim + "/auth/o2/token"},
            {"seller_id", seller},
            {"marketplace_ids", {"ATVPDKIKX0DER"}},
            {"client_id_env", env_prefix + "ID"},
            {"client_secret_env", env_prefix + "SECRET"},
            {"refresh_token_env", env_prefix + "REFRESH"},
            {"batch_interval_seconds", 1},
            {"feed_poll_seconds", 1}}},
          {"warehouses",
           json::array({{{"warehouse", "WH-A"}, {"enabled", true}}})}};
}

json shopify_shop(const std::string& id, const std::string& sim,
                  const std::string& env) {
  return {
      {"id", id},
      {"channel", "shopify"},
      {"shopify", {{"shop_url", sim + "/" + id}, {"access_token_env", env}}},
      {"warehouses",
       json::array({{{"warehouse", "WH-A"},
                     {"enabled", true},
                     {"location", "gid://shopify/Location/1001"}}})}};
}

struct secrets_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-secrets-" + std::to_string(::getpid())))
                        .string();
  uint16_t sim_port = tests::free_port();
  uint16_t api_port = tests::free_port();
  std::string sim_url = "http://127.0.0.1:" + std::to_string(sim_port);
  /// Everything the API answered: status line, headers and body.
  std::string answers;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    for (auto& [name, value] : secrets)
      ::setenv(name.c_str(), value.c_str(), 1);
    std::ofstream{dir + "/config.json"} << config().dump(2);
  }

  void TearDown() override { std::filesystem::remove_all(dir); }

  json config() const {
    return {
        {"node",
         {{"data_dir", dir + "/data"},
          {"listen", "127.0.0.1:" + std::to_string(api_port)}}},
        {"api", {{"token_env", "SECRETS_TEST_API_TOKEN"}}},
        {"warehouses", json::array({{{"id", "WH-A"}}})},
        {"shops",
         {shopify_shop("good-store", sim_url, "SECRETS_TEST_SHOPIFY_TOKEN"),
          shopify_shop("bad-store", sim_url, "SECRETS_TEST_SHOPIFY_BAD_TOKEN"),
          amazon_shop("good-amazon", "A1GOOD", sim_url, "SECRETS_TEST_LWA_"),
          amazon_shop("bad-amazon", "A1BAD", sim_url,
                      "SECRETS_TEST_LWA_BAD_")}}};
  }

  /// Posts `body` to the simulators' admin API.
  void seed(const std::string& path, const json& body) {
    http::client c{*http::parse_url(sim_url)};
    auto r = c.send(http::make_request(http::verb::post, path, body.dump(),
                                       "application/json"));
    ASSERT_TRUE(r.ok());
    ASSERT_LT(r.value().result_int(), 300) << path << ": " << r.value().body();
  }

  /// Sends a request to the API with `authorization` (none if empty) and
  /// records the whole answer.
  http::response call(http::verb method, const std::string& target,
                      const std::string& authorization,
                      const std::string& body = {},
                      const std::string& type = "application/json") {
    http::client c{
        *http::parse_url("http://127.0.0.1:" + std::to_string(api_port))};
    auto req =
        http::make_request(method, target, body, body.empty() ? "" : type);
    if (!authorization.empty())
      req.set(boost::beast::http::field::authorization, authorization);
    auto r = c.send(std::move(req));
    EXPECT_TRUE(r.ok()) << target;
    if (!r.ok()) return {};
    auto res = r.value();
    answers += std::to_string(res.result_int()) + " " + target + "\n";
    for (auto& field : res)
      answers += std::string{field.name_string()} + ": " +
                 std::string{field.value()} + "\n";
    answers += res.body() + "\n\n";
    return res;
  }
};

} // namespace

TEST_F(secrets_test, no_secret_is_printed_or_answered) {
  tests::shelfsync_process sim{{"sim", "--port", std::to_string(sim_port)},
                               dir + "/sim.log"};
  ASSERT_TRUE(sim.wait_until_up(sim_port, "/_sim/health")) << sim.log();
  // json::array and json::object spelled out: gcc and clang read a single
  // element in nested braces differently.
  auto locations =
      json::array({{{"id", "gid://shopify/Location/1001"}, {"name", "A"}}});
  auto items = json::array(
      {{{"sku", "p1"},
        {"tracked", true},
        {"levels", json::object({{"gid://shopify/Location/1001", 0}})}}});
  seed("/_sim/shopify/good-store/seed",
       {{"access_token", secret("SECRETS_TEST_SHOPIFY_TOKEN")},
        {"locations", locations},
        {"items", items}});
  // The store exists but knows another token: every call is a 401.
  seed("/_sim/shopify/bad-store/seed",
       {{"access_token", "shpat_the_stores_real_token"},
        {"locations", locations},
        {"items", items}});
  seed("/_sim/amazon/sellers",
       {{"seller_id", "A1GOOD"},
        {"client_id", secret("SECRETS_TEST_LWA_ID")},
        {"client_secret", secret("SECRETS_TEST_LWA_SECRET")},
        {"refresh_token", secret("SECRETS_TEST_LWA_REFRESH")}});
  // Known client id, other secret: LWA answers invalid_client.
  seed("/_sim/amazon/sellers",
       {{"seller_id", "A1BAD"},
        {"client_id", secret("SECRETS_TEST_LWA_BAD_ID")},
        {"client_secret", "lwa-the-clients-real-secret"},
        {"refresh_token", secret("SECRETS_TEST_LWA_BAD_REFRESH")}});

  tests::shelfsync_process serve{{"serve", "--config", dir + "/config.json"},
                                 dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
  auto token = secret("SECRETS_TEST_API_TOKEN");
  auto bearer = "Bearer " + token;

  // Normal work and refused batches.
  EXPECT_EQ(
      call(http::verb::post, "/v1/stock/events", bearer,
           R"([{"id":"e1","product":"p1","warehouse":"WH-A","on_hand":7}])")
          .result_int(),
      200);
  EXPECT_EQ(call(http::verb::post, "/v1/stock/events", bearer,
                 "{\"id\":\"e2\",\"product\":\"p1\",\"warehouse\":\"WH-A\","
                 "\"delta\":-2}\n",
                 "application/x-ndjson")
                .result_int(),
            200);
  EXPECT_EQ(call(http::verb::post, "/v1/stock/events", bearer,
                 R"([{"id":"e3","product":"p1","warehouse":"WH-Q","delta":1}])")
                .result_int(),
            422);
  EXPECT_EQ(call(http::verb::post, "/v1/stock/events", bearer,
                 R"([{"id":"e4","product":"p1",)")
                .result_int(),
            400);
  // Wrong, near-miss and missing bearer tokens.
  for (auto& wrong : {"Bearer " + token + "x", "Bearer " + token.substr(1),
                      std::string{"Bearer wrong"},
                      "Basic " + base64("u:" + token), std::string{}})
    EXPECT_EQ(call(http::verb::get, "/v1/shops", wrong).result_int(), 401);
  // Every read endpoint.
  EXPECT_EQ(call(http::verb::get, "/v1/products/p1", bearer).result_int(), 200);
  EXPECT_EQ(call(http::verb::get, "/v1/products/nope", bearer).result_int(),
            404);
  EXPECT_EQ(call(http::verb::get, "/healthz", "").result_int(), 200);
  EXPECT_EQ(call(http::verb::get, "/metrics", "").result_int(), 200);
  // A refused reload, over HTTP and by SIGHUP, then a good one.
  auto bad = config();
  bad["api"]["token_env"] = "1-NOT-A-NAME";
  bad["shops"][0]["shopify"]["access_token_env"] = "";
  // Secrets pasted where a variable name belongs: refused, never quoted.
  bad["shops"][1]["shopify"]["access_token_env"] =
      secret("SECRETS_TEST_SHOPIFY_BAD_TOKEN");
  bad["shops"][3]["amazon"]["client_secret_env"] =
      secret("SECRETS_TEST_LWA_BAD_SECRET");
  std::ofstream{dir + "/config.json"} << bad.dump(2);
  EXPECT_EQ(call(http::verb::post, "/v1/config/reload", bearer).result_int(),
            422);
  serve.signal(SIGHUP);
  auto refusals = [&] {
    auto log = serve.log();
    size_t n = 0;
    for (auto at = log.find("reload refused"); at != std::string::npos;
         at = log.find("reload refused", at + 1))
      ++n;
    return n;
  };
  for (int i = 0; i < 200 && refusals() < 2; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(refusals(), 2u) << serve.log();
  std::ofstream{dir + "/config.json"} << config().dump(2);
  EXPECT_EQ(call(http::verb::post, "/v1/config/reload", bearer).result_int(),
            200);

  // Wait until the channels refused the bad credentials and took the good.
  json shops;
  auto by_id = [&](const std::string& id) {
    for (auto& s : shops["shops"])
      if (s["id"] == id) return s;
    return json{};
  };
  for (int i = 0; i < 300; ++i) {
    shops = json::parse(call(http::verb::get, "/v1/shops", bearer).body());
    if (!by_id("bad-store")["credentials_refused"].is_null() &&
        !by_id("bad-amazon")["credentials_refused"].is_null() &&
        !by_id("good-store")["last_success"].is_null())
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(by_id("bad-store")["last_error"].is_null()) << shops.dump(2);
  EXPECT_NE(by_id("bad-amazon")["last_error"].dump().find("LWA"),
            std::string::npos)
      << shops.dump(2);
  EXPECT_FALSE(by_id("good-store")["last_success"].is_null()) << shops.dump(2);
  // Refused credentials show per shop and make /readyz 503 naming the shops
  // (the answers are searched for secrets below).
  EXPECT_NE(by_id("bad-store")["credentials_refused"].dump().find("401"),
            std::string::npos)
      << shops.dump(2);
  EXPECT_NE(
      by_id("bad-amazon")["credentials_refused"].dump().find("LWA refused"),
      std::string::npos)
      << shops.dump(2);
  EXPECT_TRUE(by_id("good-store")["credentials_refused"].is_null())
      << shops.dump(2);
  auto ready = call(http::verb::get, "/readyz", "");
  EXPECT_EQ(ready.result_int(), 503) << ready.body();
  auto reason = json::parse(ready.body(), nullptr, false).value("reason", "");
  EXPECT_NE(reason.find("shop \"bad-store\": its shopify credentials are "
                        "refused"),
            std::string::npos)
      << reason;
  EXPECT_NE(reason.find("shop \"bad-amazon\": its amazon credentials are "
                        "refused"),
            std::string::npos)
      << reason;
  EXPECT_EQ(reason.find("good-"), std::string::npos) << reason;
  for (auto id : {"good-store", "bad-store", "good-amazon", "bad-amazon"})
    EXPECT_EQ(call(http::verb::get, std::string{"/v1/shops/"} + id, bearer)
                  .result_int(),
              200);
  EXPECT_EQ(call(http::verb::get, "/v1/products/p1", bearer).result_int(), 200);

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(60s), 0) << serve.log();
  sim.signal(SIGTERM);
  EXPECT_EQ(sim.wait_exit(60s), 0) << sim.log();

  // The channels really refused the bad credentials: the error paths ran.
  EXPECT_NE(serve.log().find("the access token was refused"), std::string::npos)
      << serve.log();
  EXPECT_NE(serve.log().find("invalid_client"), std::string::npos)
      << serve.log();
  std::map<std::string, std::string> outputs = {{"serve's output", serve.log()},
                                                {"sim's output", sim.log()},
                                                {"the API's answers", answers}};
  for (auto& [where, text] : outputs) {
    for (auto& [name, value] : secrets)
      for (auto& form : leak_forms(value))
        EXPECT_EQ(text.find(form), std::string::npos)
            << name << " appears in " << where << " as \"" << form << "\"";
    // LWA access tokens, which shelfsync holds for an hour, all start so.
    if (where == "serve's output" || where == "the API's answers") {
      EXPECT_EQ(text.find("Atza|"), std::string::npos)
          << "an LWA access token appears in " << where;
    }
  }
}

TEST_F(secrets_test,
       a_shop_without_its_credential_is_not_started_and_says_why) {
  // Before the fix serve started every shop with at most a warning from the
  // channel worker, and GET /v1/shops/{id} did not say what was missing.
  ::unsetenv("SECRETS_TEST_UNSET_TOKEN");
  ::unsetenv("SECRETS_TEST_UNSET_SECRET");
  auto conf = config();
  conf["shops"] = {
      shopify_shop("good-store", sim_url, "SECRETS_TEST_SHOPIFY_TOKEN"),
      shopify_shop("lost-store", sim_url, "SECRETS_TEST_UNSET_TOKEN"),
      amazon_shop("lost-amazon", "A1LOST", sim_url, "SECRETS_TEST_LWA_")};
  conf["shops"][2]["amazon"]["client_secret_env"] = "SECRETS_TEST_UNSET_SECRET";
  std::ofstream{dir + "/config.json"} << conf.dump(2);
  tests::shelfsync_process serve{{"serve", "--config", dir + "/config.json"},
                                 dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
  auto bearer = "Bearer " + secret("SECRETS_TEST_API_TOKEN");
  auto count = [&](const std::string& text) {
    auto log = serve.log();
    size_t n = 0;
    for (auto at = log.find(text); at != std::string::npos;
         at = log.find(text, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("shop \"lost-store\" is not started: environment variable "
                  "SECRETS_TEST_UNSET_TOKEN ($.shops[1].shopify."
                  "access_token_env) is not set"),
            1u)
      << serve.log();
  EXPECT_EQ(count("shop \"lost-amazon\" is not started: environment variable "
                  "SECRETS_TEST_UNSET_SECRET ($.shops[2].amazon."
                  "client_secret_env) is not set"),
            1u)
      << serve.log();
  EXPECT_EQ(count("shop \"good-store\" is not started"), 0u) << serve.log();
  auto shop = [&](const std::string& id) {
    auto res = call(http::verb::get, "/v1/shops/" + id, bearer);
    EXPECT_EQ(res.result_int(), 200) << res.body();
    return json::parse(res.body(), nullptr, false);
  };
  EXPECT_NE(
      shop("lost-store")["problem"].dump().find("SECRETS_TEST_UNSET_TOKEN"),
      std::string::npos)
      << shop("lost-store").dump(2);
  EXPECT_NE(
      shop("lost-amazon")["problem"].dump().find("SECRETS_TEST_UNSET_SECRET"),
      std::string::npos)
      << shop("lost-amazon").dump(2);
  EXPECT_TRUE(shop("good-store")["problem"].is_null())
      << shop("good-store").dump(2);
  // The engine runs: events are taken, the other shops get their views.
  EXPECT_EQ(
      call(http::verb::post, "/v1/stock/events", bearer,
           R"([{"id":"u1","product":"p1","warehouse":"WH-A","on_hand":2}])")
          .result_int(),
      200);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(60s), 0) << serve.log();
  for (auto& [name, value] : secrets)
    EXPECT_EQ(serve.log().find(value), std::string::npos) << name;
}

TEST_F(secrets_test,
       a_reload_that_changes_api_token_env_applies_the_new_token) {
  // Before the fix the reload answered 200 and the old token stayed.
  ::unsetenv("SECRETS_TEST_UNSET_API_TOKEN");
  auto conf = config();
  conf["shops"] = json::array();
  std::ofstream{dir + "/config.json"} << conf.dump(2);
  tests::shelfsync_process serve{{"serve", "--config", dir + "/config.json"},
                                 dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
  auto old_bearer = "Bearer " + secret("SECRETS_TEST_API_TOKEN");
  auto new_bearer = "Bearer " + secret("SECRETS_TEST_API_TOKEN_2");
  EXPECT_EQ(call(http::verb::get, "/v1/shops", new_bearer).result_int(), 401);
  conf["api"]["token_env"] = "SECRETS_TEST_API_TOKEN_2";
  std::ofstream{dir + "/config.json"} << conf.dump(2);
  auto res = call(http::verb::post, "/v1/config/reload", old_bearer);
  EXPECT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(call(http::verb::get, "/v1/shops", old_bearer).result_int(), 401);
  EXPECT_EQ(call(http::verb::get, "/v1/shops", new_bearer).result_int(), 200);
  // A variable that is not set: refused with the reason, old token kept.
  conf["api"]["token_env"] = "SECRETS_TEST_UNSET_API_TOKEN";
  std::ofstream{dir + "/config.json"} << conf.dump(2);
  res = call(http::verb::post, "/v1/config/reload", new_bearer);
  EXPECT_EQ(res.result_int(), 422) << res.body();
  auto body = json::parse(res.body(), nullptr, false);
  EXPECT_EQ(body["problems"][0]["path"], "$.api.token_env") << res.body();
  EXPECT_NE(body["problems"][0]["message"].dump().find(
                "SECRETS_TEST_UNSET_API_TOKEN, which is not set"),
            std::string::npos)
      << res.body();
  EXPECT_EQ(call(http::verb::get, "/v1/shops", new_bearer).result_int(), 200);
  // The same by SIGHUP: refused, logged, the token in force stays.
  serve.signal(SIGHUP);
  for (int i = 0; i < 200 && serve.log().find("names SECRETS_TEST_UNSET_API_"
                                              "TOKEN, which is not set") ==
                                 std::string::npos;
       ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(
      serve.log().find("reload refused, the old config stays in force: "
                       "api.token_env names SECRETS_TEST_UNSET_API_TOKEN"),
      std::string::npos)
      << serve.log();
  EXPECT_EQ(call(http::verb::get, "/v1/shops", new_bearer).result_int(), 200);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(60s), 0) << serve.log();
  for (auto& [name, value] : secrets)
    for (auto& form : leak_forms(value)) {
      EXPECT_EQ(serve.log().find(form), std::string::npos) << name;
      EXPECT_EQ(answers.find(form), std::string::npos) << name;
    }
}
