// The status page in a real browser: runs `shelfsync sim` and `shelfsync
// serve`, opens GET / in headless Chromium (through chromedriver's WebDriver
// API), enters the token, and checks what an operator sees and does: the
// shops, a SKU the channel refused in the failures list, a product's
// explanation, and a resync started with the page's button (seen through
// the API). Saves a screenshot, status_page.png, in the build directory.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "net/url.hpp"
#include "tests/api/child_process.hpp"
#include "tests/api/webdriver.hpp"

using json = nlohmann::json;
using namespace shelfsync;
using namespace std::chrono_literals;

namespace {

constexpr const char* page_token = "page-T0ken-5b9e1c";
constexpr const char* location = "gid://shopify/Location/1001";

struct status_page_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-page-" + std::to_string(::getpid())))
                        .string();
  uint16_t sim_port = tests::free_port();
  uint16_t api_port = tests::free_port();
  std::string sim_url = "http://127.0.0.1:" + std::to_string(sim_port);
  std::string api_url = "http://127.0.0.1:" + std::to_string(api_port);

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::setenv("PAGE_TEST_API_TOKEN", page_token, 1);
    ::setenv("PAGE_TEST_SHOPIFY_TOKEN", "shpat_page_test", 1);
    ::setenv("PAGE_TEST_LWA_ID", "amzn1.application-oa2-client.page", 1);
    ::setenv("PAGE_TEST_LWA_SECRET", "page-secret", 1);
    ::setenv("PAGE_TEST_LWA_REFRESH", "Atzr|page-refresh", 1);
    std::ofstream{dir + "/config.json"} << config().dump(2);
  }

  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir);
  }

  json config() const {
    json warehouses = json::array(
        {{{"warehouse", "WH-A"}, {"enabled", true}, {"location", location}}});
    return {{"node",
             {{"data_dir", dir + "/data"},
              {"listen", "127.0.0.1:" + std::to_string(api_port)}}},
            {"api", {{"token_env", "PAGE_TEST_API_TOKEN"}}},
            {"warehouses", json::array({{{"id", "WH-A"}}})},
            {"shops",
             {{{"id", "eu-store"},
               {"channel", "shopify"},
               {"shopify",
                {{"shop_url", sim_url + "/eu-store"},
                 {"access_token_env", "PAGE_TEST_SHOPIFY_TOKEN"}}},
               {"warehouses", warehouses}},
              {{"id", "us-amazon"},
               {"channel", "amazon"},
               {"amazon",
                {{"endpoint", sim_url},
                 {"lwa_endpoint", sim_url + "/auth/o2/token"},
                 {"seller_id", "A1PAGE"},
                 {"marketplace_ids", {"ATVPDKIKX0DER"}},
                 {"client_id_env", "PAGE_TEST_LWA_ID"},
                 {"client_secret_env", "PAGE_TEST_LWA_SECRET"},
                 {"refresh_token_env", "PAGE_TEST_LWA_REFRESH"},
                 {"batch_interval_seconds", 1},
                 {"feed_poll_seconds", 1}}},
               {"warehouses",
                json::array({{{"warehouse", "WH-A"}, {"enabled", true}}})}}}}};
  }

  http::response call(http::verb method, const std::string& base,
                      const std::string& target, const std::string& body = {},
                      bool auth = true) {
    http::client c{*http::parse_url(base)};
    auto req = http::make_request(method, target, body,
                                  body.empty() ? "" : "application/json");
    if (auth)
      req.set(boost::beast::http::field::authorization,
              std::string{"Bearer "} + page_token);
    auto r = c.send(std::move(req));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : http::response{};
  }

  json api(const std::string& target) {
    return json::parse(call(http::verb::get, api_url, target).body(), nullptr,
                       false);
  }

  /// Polls `check` every 100 ms up to `limit`.
  template<class F>
  bool eventually(F check, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (check()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return check();
  }
};

} // namespace

TEST_F(status_page_test, an_operator_sees_shops_failures_and_starts_a_resync) {
  ASSERT_FALSE(tests::chromedriver_path().empty() ||
               tests::chromium_path().empty())
      << "chromium and chromedriver are needed (scripts/setup installs "
         "Debian's chromium and chromium-driver)";
  tests::shelfsync_process sim{{"sim", "--port", std::to_string(sim_port)},
                               dir + "/sim.log"};
  ASSERT_TRUE(sim.wait_until_up(sim_port, "/_sim/health")) << sim.log();
  json items = json::array();
  for (auto* sku : {"SHIRT-RED-M", "SHIRT-RED-L", "MUG-BLUE"})
    items.push_back({{"sku", sku},
                     {"tracked", true},
                     {"levels", json::object({{location, 0}})}});
  auto seeded =
      call(http::verb::post, sim_url, "/_sim/shopify/eu-store/seed",
           json{{"access_token", "shpat_page_test"},
                {"locations",
                 json::array({{{"id", location}, {"name", "Main warehouse"}}})},
                {"items", items}}
               .dump(),
           false);
  ASSERT_EQ(seeded.result_int(), 200) << seeded.body();
  seeded = call(http::verb::post, sim_url, "/_sim/amazon/sellers",
                json{{"seller_id", "A1PAGE"},
                     {"client_id", "amzn1.application-oa2-client.page"},
                     {"client_secret", "page-secret"},
                     {"refresh_token", "Atzr|page-refresh"}}
                    .dump(),
                false);
  ASSERT_EQ(seeded.result_int(), 200) << seeded.body();

  tests::shelfsync_process serve{{"serve", "--config", dir + "/config.json"},
                                 dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
  // Stock for the three SKUs the store has, and one it does not know.
  json batch = json::array();
  int n = 0;
  for (auto* p : {"SHIRT-RED-M", "SHIRT-RED-L", "MUG-BLUE", "GHOST-404"})
    batch.push_back({{"id", "e" + std::to_string(++n)},
                     {"product", p},
                     {"warehouse", "WH-A"},
                     {"on_hand", 10 + n}});
  auto posted =
      call(http::verb::post, api_url, "/v1/stock/events", batch.dump());
  ASSERT_EQ(posted.result_int(), 200) << posted.body();
  // Shopify refuses the unknown SKU for good: it is in the failures list.
  ASSERT_TRUE(eventually(
      [&] {
        auto page = api("/v1/shops/eu-store/deliveries?state=failed");
        return page.is_object() && page["entries"].size() == 1 &&
               page["entries"][0]["product"] == "GHOST-404";
      },
      30s))
      << serve.log();

  // The page, with the files built into the binary.
  auto index = call(http::verb::get, api_url, "/", {}, false);
  ASSERT_EQ(index.result_int(), 200);
  EXPECT_NE(index.body().find("<title>shelfsync status</title>"),
            std::string::npos);
  EXPECT_NE(
      std::string{index["Content-Security-Policy"]}.find("default-src 'self'"),
      std::string::npos);
  EXPECT_EQ(call(http::verb::get, api_url, "/app.js", {}, false).result_int(),
            200);

  tests::browser chrome{dir + "/chromedriver.log", 1440, 1280};
  chrome.go(api_url + "/");
  // No token yet: the page asks for it.
  ASSERT_TRUE(
      chrome.wait_for("return !document.getElementById('login').hidden;", 30s));
  chrome.type("#token", page_token);
  chrome.click("#connect");
  // The shops, with their channels.
  ASSERT_TRUE(chrome.wait_for(
      "return document.querySelectorAll('#shops tbody tr').length === 2;", 30s))
      << chrome.run("return document.body.innerText;");
  auto shops =
      chrome.run("return [...document.querySelectorAll('#shops tbody tr')]"
                 ".map(r => r.dataset.shop + ' ' + r.cells[1].textContent);");
  EXPECT_EQ(shops, json({"eu-store shopify", "us-amazon amazon"}));
  // The refused SKU in the failures list, with the channel's error.
  ASSERT_TRUE(
      chrome.wait_for("return !!document.querySelector("
                      "'#deliveries tbody tr[data-product=\"GHOST-404\"]');",
                      30s))
      << chrome.run("return document.body.innerText;");
  auto failure = chrome
                     .run("return document.querySelector('#deliveries tbody "
                          "tr[data-product=\"GHOST-404\"]').innerText;")
                     .get<std::string>();
  EXPECT_NE(failure.find("SKU_NOT_FOUND"), std::string::npos) << failure;
  EXPECT_NE(failure.find(location), std::string::npos) << failure;
  // Node health.
  EXPECT_TRUE(chrome.wait_for(
      "return document.getElementById('health').textContent === 'ready';",
      30s));

  // A product search, and the explanation of the chosen product.
  // The listing shows stored products: those the write-behind committed,
  // within its 2 s interval of the batch. An operator searches again.
  chrome.type("#search", "SHIRT");
  ASSERT_TRUE(eventually(
      [&] {
        chrome.click("#search-form button[type=submit]");
        return chrome.wait_for("return document.querySelectorAll('#results "
                               "li[data-product]').length === 2;",
                               1s);
      },
      30s))
      << chrome.run("return document.body.innerText;");
  chrome.click("#results li[data-product=\"SHIRT-RED-M\"]");
  ASSERT_TRUE(chrome.wait_for(
      "return document.getElementById('product').innerText.includes("
      "'Explain for eu-store');",
      30s))
      << chrome.run("return document.body.innerText;");
  auto product =
      chrome.run("return document.getElementById('product').innerText;")
          .get<std::string>();
  EXPECT_NE(product.find("WH-A"), std::string::npos) << product;
  EXPECT_NE(product.find("location " + std::string{location} + ": 11"),
            std::string::npos)
      << product;

  // A resync started with the page's button, seen through the API.
  EXPECT_FALSE(api("/v1/shops/eu-store").contains("resync"));
  chrome.click("button[data-resync=\"eu-store\"]");
  ASSERT_TRUE(chrome.accept_dialog(15s));
  ASSERT_TRUE(eventually(
      [&] {
        return api("/v1/shops/eu-store").contains("resync");
      },
      30s));
  auto resync = api("/v1/shops/eu-store")["resync"];
  EXPECT_TRUE(resync["state"] == "running" || resync["state"] == "done")
      << resync.dump();
  EXPECT_FALSE(api("/v1/shops/us-amazon").contains("resync"));
  // The page shows its progress on a following refresh.
  EXPECT_TRUE(chrome.wait_for(
      "return document.querySelector('#shops tr[data-shop=\"eu-store\"]')"
      ".innerText.includes('scanned');",
      30s));

  // The token stays in the tab: in sessionStorage, never in the URL, in
  // localStorage or in the server's log.
  EXPECT_EQ(chrome.url().find(page_token), std::string::npos);
  EXPECT_EQ(chrome.run("return sessionStorage.getItem('shelfsync.token');"),
            page_token);
  EXPECT_EQ(chrome.run("return localStorage.length;"), 0);
  EXPECT_EQ(serve.log().find(page_token), std::string::npos);

  auto shot = std::string{SHELFSYNC_BUILD_DIR} + "/status_page.png";
  std::ofstream{shot, std::ios::binary} << chrome.screenshot();
  std::cout << "status page screenshot: " << shot << std::endl;
  EXPECT_GT(std::filesystem::file_size(shot), 10'000u);

  // Forgetting the token asks for it again.
  chrome.click("#forget");
  EXPECT_TRUE(
      chrome.wait_for("return !document.getElementById('login').hidden && "
                      "sessionStorage.getItem('shelfsync.token') === null;",
                      5s));
}
