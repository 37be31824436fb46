// What an operator meets, run on the real binary: the Prometheus scrape
// linted by promtool, version and unknown commands, a store in use, JSON and
// access logs, the progress of import on a terminal, the sample configs,
// and backups taken while serving.
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "net/url.hpp"
#include "tests/api/child_process.hpp"

using json = nlohmann::json;
using namespace shelfsync;
using namespace std::chrono_literals;

namespace {

constexpr const char* token = "ops-test-token-5f1c";
constexpr const char* shop_token = "shpat_ops_test_77";

/// A command's exit code and what it printed.
struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

struct ops_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-ops-" + std::to_string(::getpid())))
                        .string();
  uint16_t sim_port = tests::free_port();
  uint16_t api_port = tests::free_port();
  std::string sim_url = "http://127.0.0.1:" + std::to_string(sim_port);

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::setenv("OPS_TEST_API_TOKEN", token, 1);
    ::setenv("OPS_TEST_SHOP_TOKEN", shop_token, 1);
    ::setenv("OPS_TEST_LWA_ID", "amzn1.application-oa2-client.ops", 1);
    ::setenv("OPS_TEST_LWA_SECRET", "ops-lwa-secret", 1);
    ::setenv("OPS_TEST_LWA_REFRESH", "Atzr|ops-refresh", 1);
  }

  void TearDown() override { std::filesystem::remove_all(dir); }

  /// A config with no shops on `data` and `port`.
  json config(const std::string& data, uint16_t port) const {
    return {
        {"node",
         {{"data_dir", data}, {"listen", "127.0.0.1:" + std::to_string(port)}}},
        {"api", {{"token_env", "OPS_TEST_API_TOKEN"}}},
        {"warehouses", json::array({{{"id", "WH-A"}}})},
        {"shops", json::array()}};
  }

  json config() const { return config(dir + "/data", api_port); }

  /// The same with a Shopify and an Amazon shop on the simulators.
  json config_with_shops() const {
    auto conf = config();
    conf["shops"] = json::array(
        {{{"id", "eu"},
          {"channel", "shopify"},
          {"shopify",
           {{"shop_url", sim_url + "/eu"},
            {"access_token_env", "OPS_TEST_SHOP_TOKEN"}}},
          {"warehouses",
           json::array({{{"warehouse", "WH-A"},
                         {"enabled", true},
                         {"location", "gid://shopify/Location/1001"}}})}},
         {{"id", "us"},
          {"channel", "amazon"},
          {"amazon",
           {{"endpoint", sim_url},
            {"lwa_endpoint", sim_url + "/auth/o2/token"},
            {"seller_id", "A1OPS"},
            {"marketplace_ids", {"ATVPDKIKX0DER"}},
            {"client_id_env", "OPS_TEST_LWA_ID"},
            {"client_secret_env", "OPS_TEST_LWA_SECRET"},
            {"refresh_token_env", "OPS_TEST_LWA_REFRESH"},
            {"batch_interval_seconds", 1},
            {"feed_poll_seconds", 1}}},
          {"warehouses",
           json::array({{{"warehouse", "WH-A"}, {"enabled", true}}})}}});
    return conf;
  }

  std::string write_config(const json& conf,
                           const std::string& name = "config.json") {
    auto path = dir + "/" + name;
    std::ofstream{path} << conf.dump(2);
    return path;
  }

  /// Runs shelfsync with `args` (shell words), stdin from /dev/null.
  run_result run(const std::string& args) {
    auto bin = tests::shelfsync_binary();
    EXPECT_FALSE(bin.empty()) << "SHELFSYNC_BIN names the shelfsync binary";
    auto cmd =
        bin + " " + args + " </dev/null >" + dir + "/out 2>" + dir + "/err";
    auto status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
            tests::read_file(dir + "/out"), tests::read_file(dir + "/err")};
  }

  /// Sends a request to the API on `port` with the bearer token.
  http::response call(http::verb method, const std::string& target,
                      const std::string& body = {}, uint16_t port = 0) {
    http::client c{*http::parse_url("http://127.0.0.1:" +
                                    std::to_string(port ? port : api_port))};
    auto req = http::make_request(method, target, body,
                                  body.empty() ? "" : "application/json");
    req.set(boost::beast::http::field::authorization,
            std::string{"Bearer "} + token);
    auto r = c.send(std::move(req));
    EXPECT_TRUE(r.ok()) << target;
    return r.ok() ? r.value() : http::response{};
  }

  void seed(const std::string& path, const json& body) {
    http::client c{*http::parse_url(sim_url)};
    auto r = c.send(http::make_request(http::verb::post, path, body.dump(),
                                       "application/json"));
    ASSERT_TRUE(r.ok());
    ASSERT_LT(r.value().result_int(), 300) << path << ": " << r.value().body();
  }

  void post_events(int first, int count, uint16_t port = 0) {
    json events = json::array();
    for (int i = first; i < first + count; ++i)
      events.push_back({{"id", "e" + std::to_string(i)},
                        {"product", "p" + std::to_string(i % 10)},
                        {"warehouse", "WH-A"},
                        {"on_hand", i}});
    ASSERT_EQ(call(http::verb::post, "/v1/stock/events", events.dump(), port)
                  .result_int(),
              200);
  }
};

/// Lines of `text`.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

} // namespace

// -- Prometheus
// ----------------------------------------------------------------

TEST_F(ops_test, promtool_passes_on_a_scrape_with_busy_channels) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus; "
                    "scripts/setup installs it)";
  tests::shelfsync_process sim{{"sim", "--port", std::to_string(sim_port)},
                               dir + "/sim.log"};
  ASSERT_TRUE(sim.wait_until_up(sim_port, "/_sim/health")) << sim.log();
  seed("/_sim/shopify/eu/seed",
       {{"access_token", shop_token},
        {"locations",
         json::array({{{"id", "gid://shopify/Location/1001"}, {"name", "A"}}})},
        {"items", json::array({{{"sku", "p1"},
                                {"tracked", true},
                                {"levels", json::object()}}})}});
  seed("/_sim/amazon/sellers",
       {{"seller_id", "A1OPS"},
        {"client_id", "amzn1.application-oa2-client.ops"},
        {"client_secret", "ops-lwa-secret"},
        {"refresh_token", "Atzr|ops-refresh"}});
  tests::shelfsync_process serve{
      {"serve", "--config", write_config(config_with_shops())},
      dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
  post_events(1, 1);
  // Until both channels answered, so that their figures and histograms
  // carry samples.
  json shops;
  for (int i = 0; i < 300; ++i) {
    shops = json::parse(call(http::verb::get, "/v1/shops").body());
    if (!shops["shops"][0]["last_success"].is_null() &&
        !shops["shops"][1]["last_success"].is_null())
      break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(shops["shops"][0]["last_success"].is_null()) << shops.dump(2);

  http::client c{
      *http::parse_url("http://127.0.0.1:" + std::to_string(api_port))};
  auto scrape = c.send(http::make_request(http::verb::get, "/metrics"));
  ASSERT_TRUE(scrape.ok());
  ASSERT_EQ(scrape.value().result_int(), 200);
  auto text = scrape.value().body();
  std::ofstream{dir + "/scrape.txt"} << text;
  auto lint = std::system(("promtool check metrics <" + dir + "/scrape.txt >" +
                           dir + "/lint.txt 2>&1")
                              .c_str());
  auto said = tests::read_file(dir + "/lint.txt");
  EXPECT_TRUE(WIFEXITED(lint) && WEXITSTATUS(lint) == 0) << said << text;
  EXPECT_EQ(said, "") << text;

  auto has = [&](const std::string& pattern) {
    return std::regex_search(text, std::regex{pattern});
  };
  EXPECT_TRUE(has("\nshelfsync_build_info\\{version=\"[0-9.]+\"\\} 1\n"))
      << text;
  EXPECT_TRUE(has("\nprocess_cpu_seconds_total [0-9.e+-]+\n")) << text;
  EXPECT_TRUE(has("\nprocess_resident_memory_bytes [1-9][0-9.e+]*\n")) << text;
  EXPECT_TRUE(has("\nprocess_open_fds [1-9][0-9]*\n")) << text;
  EXPECT_TRUE(has("\nprocess_start_time_seconds 1[0-9.e+]+\n")) << text;
  EXPECT_TRUE(has("\nshelfsync_channel_requests_total\\{shop=\"eu\"\\} [1-9]"))
      << text;
  EXPECT_TRUE(has("\nshelfsync_channel_request_seconds_count\\{shop=\"eu\"\\} "
                  "[1-9]"))
      << text;
  EXPECT_TRUE(has("\nshelfsync_channel_feed_processing_seconds_bucket\\{shop="
                  "\"us\",le=\"\\+Inf\"\\} "))
      << text;
  // Durations only as histograms: no precomputed percentiles.
  EXPECT_FALSE(has("p50|p99|quantile")) << text;
}

// -- conventions
// ---------------------------------------------------------------

TEST_F(ops_test, version_flag_and_command_agree) {
  auto flag = run("--version");
  EXPECT_EQ(flag.code, 0) << flag.err;
  EXPECT_TRUE(std::regex_match(flag.out, std::regex{"shelfsync [0-9]+\\.[0-9]+"
                                                    "\\.[0-9]+\n"}))
      << flag.out;
  auto command = run("version");
  EXPECT_EQ(command.code, 0) << command.err;
  EXPECT_EQ(command.out, flag.out);
}

TEST_F(ops_test, an_unknown_command_is_named) {
  auto r = run("frobnicate --config x.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("\"frobnicate\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("serve"), std::string::npos) << r.err;
}

TEST_F(ops_test, import_and_serve_on_a_store_in_use_say_so_in_one_line) {
  auto path = write_config(config());
  tests::shelfsync_process serve{{"serve", "--config", path},
                                 dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
  std::ofstream{dir + "/events.ndjson"}
      << R"({"id":"a","product":"p","warehouse":"WH-A","on_hand":1})"
      << "\n";
  auto second = run("serve --config " + path);
  auto import = run("import --config " + path + " " + dir + "/events.ndjson");
  for (auto& r : {second, import}) {
    EXPECT_EQ(r.code, 1);
    ASSERT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("is in use by another shelfsync process"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(dir + "/data"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("error("), std::string::npos) << r.err;
  }
}

TEST_F(ops_test, check_config_checks_the_log_settings_with_their_paths) {
  auto conf = config();
  conf["node"]["log_format"] = "xml";
  conf["node"]["log_level"] = "loud";
  auto r = run("check-config --config " + write_config(conf));
  EXPECT_EQ(r.code, 1);
  auto all = r.out + r.err;
  EXPECT_NE(all.find("$.node.log_format"), std::string::npos) << all;
  EXPECT_NE(all.find("\"xml\""), std::string::npos) << all;
  EXPECT_NE(all.find("$.node.log_level"), std::string::npos) << all;
  conf["node"]["log_format"] = "json";
  conf["node"]["log_level"] = "debug";
  r = run("check-config --config " + write_config(conf));
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(ops_test, json_logs_carry_an_access_line_per_request_without_secrets) {
  auto conf = config();
  conf["node"]["log_format"] = "json";
  tests::shelfsync_process serve{{"serve", "--config", write_config(conf)},
                                 dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
  post_events(1, 3);
  EXPECT_EQ(call(http::verb::get, "/v1/products/p1?shop=x&access_token=Qs3cr3t")
                .result_int(),
            200);
  EXPECT_EQ(call(http::verb::get, "/v1/nothing").result_int(), 404);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(60s), 0) << serve.log();

  auto log = serve.log();
  std::vector<json> access;
  for (auto& line : lines_of(log)) {
    auto entry = json::parse(line, nullptr, false);
    ASSERT_TRUE(entry.is_object()) << "not a JSON line: " << line;
    EXPECT_TRUE(entry.contains("time") && entry.contains("level") &&
                entry.contains("component"))
        << line;
    if (entry["component"] == "access") access.push_back(entry);
  }
  ASSERT_EQ(access.size(), 3u) << log; // probes are logged at debug level
  EXPECT_EQ(access[0]["method"], "POST");
  EXPECT_EQ(access[0]["path"], "/v1/stock/events");
  EXPECT_EQ(access[0]["status"], 200);
  EXPECT_TRUE(access[0]["ms"].is_number());
  EXPECT_EQ(access[1]["path"], "/v1/products/p1");
  EXPECT_EQ(access[1]["status"], 200);
  EXPECT_EQ(access[2]["status"], 404);
  EXPECT_EQ(log.find(token), std::string::npos) << log;
  EXPECT_EQ(log.find("Qs3cr3t"), std::string::npos) << log;
}

TEST_F(ops_test, log_level_warning_keeps_info_and_access_lines_out) {
  auto conf = config();
  conf["node"]["log_level"] = "warning";
  tests::shelfsync_process serve{{"serve", "--config", write_config(conf)},
                                 dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
  post_events(1, 1);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(60s), 0) << serve.log();
  EXPECT_EQ(serve.log(), "");
}

TEST_F(ops_test, text_access_lines_say_method_path_status_and_ms) {
  tests::shelfsync_process serve{{"serve", "--config", write_config(config())},
                                 dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
  post_events(1, 1);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(60s), 0) << serve.log();
  EXPECT_TRUE(std::regex_search(
      serve.log(),
      std::regex{
          " info access: POST /v1/stock/events 200 [0-9]+\\.[0-9] ms\n"}))
      << serve.log();
}

TEST_F(ops_test, import_shows_percent_on_a_terminal_and_no_absurd_rate) {
  constexpr int total = 20000;
  {
    std::ofstream events{dir + "/events.ndjson"};
    for (int i = 0; i < total; ++i)
      events << R"({"id":"i)" << i << R"(","product":"p)" << i % 500
             << R"(","warehouse":"WH-A","delta":1})"
             << "\n";
  }
  auto path = write_config(config());
  auto bin = tests::shelfsync_binary();
  // stderr (and stdout) on a pseudo-terminal, as when a person runs it.
  int master = -1;
  auto pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(bin.c_str(), bin.c_str(), "import", "--config", path.c_str(),
            (dir + "/events.ndjson").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string screen;
  char buf[4096];
  for (ssize_t n; (n = ::read(master, buf, sizeof(buf))) > 0;)
    screen.append(buf, static_cast<size_t>(n));
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << screen;
  EXPECT_NE(screen.find("(100%)"), std::string::npos) << screen;
  EXPECT_NE(screen.find("imported 20000/20000 events in"), std::string::npos)
      << screen;
  // Each rate shown comes from at least half a second of work, so it is at
  // most the whole file per half second.
  std::regex rate{"([0-9]+)/s, ETA [0-9]+m[0-9]{2}s"};
  for (std::sregex_iterator i{screen.begin(), screen.end(), rate}, end;
       i != end; ++i)
    EXPECT_LE(std::stod((*i)[1]), 2.0 * total) << screen;
}

// -- from the demo to a real shop
// ----------------------------------------------

TEST_F(ops_test, the_sample_configs_pass_check_config) {
  for (auto name :
       {"SHOPIFY_ADMIN_TOKEN", "SHELFSYNC_API_TOKEN", "AMAZON_LWA_CLIENT_ID",
        "AMAZON_LWA_CLIENT_SECRET", "AMAZON_LWA_REFRESH_TOKEN",
        // The cluster's node configs (README, "Running a cluster").
        "SHELFSYNC_NATS_TOKEN", "EU_STORE_TOKEN", "AMZ_CLIENT_ID",
        "AMZ_CLIENT_SECRET", "AMZ_REFRESH_TOKEN"})
    ::setenv(name, "set-for-the-test", 1);
  for (auto name :
       {"shopify.sample.json", "amazon.sample.json", "cluster/node-1.json",
        "cluster/node-2.json", "cluster/node-3.json"}) {
    auto path = std::string{SHELFSYNC_SOURCE_DIR} + "/config/" + name;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    auto r = run("check-config --config " + path);
    EXPECT_EQ(r.code, 0) << name << ":\n" << r.out << r.err;
  }
}

TEST_F(ops_test, backup_while_serving_then_serve_the_backup) {
  auto path = write_config(config());
  auto data_port = api_port;
  {
    tests::shelfsync_process serve{{"serve", "--config", path},
                                   dir + "/serve.log"};
    ASSERT_TRUE(serve.wait_until_started(data_port)) << serve.log();
    post_events(1, 100);
    auto r = run("backup --config " + path + " " + dir + "/copy");
    EXPECT_EQ(r.code, 0) << r.out << r.err << serve.log();
    EXPECT_NE(r.out.find("through the running server"), std::string::npos)
        << r.out;
    // A second backup into the same place is refused.
    auto again = run("backup --config " + path + " " + dir + "/copy");
    EXPECT_EQ(again.code, 1);
    EXPECT_NE(again.err.find("exists already"), std::string::npos) << again.err;
    // The server goes on taking events meanwhile.
    post_events(101, 10);
    serve.signal(SIGKILL);
    serve.wait_exit(30s);
  }
  // The copy serves on its own: every event accepted before the backup.
  auto copy_port = tests::free_port();
  auto copy_path = write_config(config(dir + "/copy", copy_port), "copy.json");
  tests::shelfsync_process copy{{"serve", "--config", copy_path},
                                dir + "/copy.log"};
  ASSERT_TRUE(copy.wait_until_started(copy_port)) << copy.log();
  auto product = call(http::verb::get, "/v1/products/p9", {}, copy_port);
  ASSERT_EQ(product.result_int(), 200) << product.body();
  // p9 last had on_hand 99 among events 1..100 (event i sets p(i%10) to i).
  EXPECT_EQ(json::parse(product.body())["warehouses"]["WH-A"]["on_hand"], 99)
      << product.body();
  // A resent batch from before the backup is a duplicate there.
  json resend = json::array({{{"id", "e5"},
                              {"product", "p5"},
                              {"warehouse", "WH-A"},
                              {"on_hand", 5}}});
  auto answer =
      call(http::verb::post, "/v1/stock/events", resend.dump(), copy_port);
  EXPECT_EQ(json::parse(answer.body())["duplicates"], 1) << answer.body();
  copy.signal(SIGTERM);
  EXPECT_EQ(copy.wait_exit(60s), 0) << copy.log();
}

TEST_F(ops_test, backup_of_a_stopped_store) {
  auto path = write_config(config());
  {
    tests::shelfsync_process serve{{"serve", "--config", path},
                                   dir + "/serve.log"};
    ASSERT_TRUE(serve.wait_until_started(api_port)) << serve.log();
    post_events(1, 20);
    serve.signal(SIGTERM);
    ASSERT_EQ(serve.wait_exit(60s), 0) << serve.log();
  }
  auto r = run("backup --config " + path + " " + dir + "/copy");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("through the running server"), std::string::npos)
      << r.out;
  auto copy_path = write_config(config(dir + "/copy", api_port), "copy.json");
  auto log = run("log --config " + copy_path + " --product p3");
  EXPECT_EQ(log.code, 0) << log.err;
  EXPECT_NE(log.out.find("13"), std::string::npos) << log.out;
}
