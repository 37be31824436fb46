// The shelfsync command line, run as a real process: exit codes, messages,
// and what import leaves behind.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/stock.hpp"
#include "storage/store.hpp"

namespace {

struct cli_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-cli-" + std::to_string(::getpid())))
                        .string();
  std::string out;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    write("config.json", R"({"node": {"data_dir": ")" + dir + R"(/data"},
                             "warehouses": [{"id": "WH-A"}], "shops": []})");
  }

  void TearDown() override { std::filesystem::remove_all(dir); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream{dir + "/" + name} << text;
  }

  /// Runs shelfsync with `args`; returns its exit code, output in `out`.
  int run(const std::string& args) {
    const char* bin = std::getenv("SHELFSYNC_BIN");
    EXPECT_NE(bin, nullptr) << "SHELFSYNC_BIN names the shelfsync binary";
    auto cmd = std::string{bin} + " " + args + " >" + dir + "/out 2>&1";
    auto status = std::system(cmd.c_str());
    std::stringstream text;
    text << std::ifstream{dir + "/out"}.rdbuf();
    out = text.str();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string config() const { return "--config " + dir + "/config.json"; }
};

} // namespace

TEST_F(cli_test, check_config_accepts_a_good_file) {
  ::setenv("SHELFSYNC_API_TOKEN", "cli-test-token", 1);
  EXPECT_EQ(run("check-config " + config()), 0) << out;
  EXPECT_NE(out.find("ok (1 warehouses, 0 shops)"), std::string::npos) << out;
}

TEST_F(cli_test, check_config_prints_every_problem_with_its_path) {
  write("bad.json", R"({"warehouses": [{"id": ""}], "shops": [{"id": "x"}]})");
  EXPECT_EQ(run("check-config --config " + dir + "/bad.json"), 1);
  EXPECT_NE(out.find("$.warehouses[0].id"), std::string::npos) << out;
  EXPECT_NE(out.find("$.shops[0]"), std::string::npos) << out;
}

TEST_F(cli_test, check_config_reports_a_number_too_large_for_a_double) {
  // Found by fuzzing: this aborted with an uncaught exception.
  write("huge.json", R"({"node": {"max_body_bytes": 1E400}})");
  EXPECT_EQ(run("check-config --config " + dir + "/huge.json"), 1) << out;
  EXPECT_NE(out.find("number overflow"), std::string::npos) << out;
}

TEST_F(cli_test, check_config_fails_on_every_unset_variable_naming_it) {
  // Before the fix check-config said ok, and serve then could not push.
  ::setenv("CLI_TEST_API_TOKEN", "cli-test-token", 1);
  ::setenv("CLI_TEST_LWA_ID", "cli-test-id", 1);
  ::unsetenv("CLI_TEST_SHOP_TOKEN");
  ::unsetenv("CLI_TEST_LWA_SECRET");
  ::setenv("CLI_TEST_LWA_REFRESH", "", 1); // empty counts as unset
  write("unset.json", R"({"api": {"token_env": "CLI_TEST_API_TOKEN"},
    "warehouses": [{"id": "WH-A"}],
    "shops": [
     {"id": "s", "channel": "shopify",
      "shopify": {"shop_url": "http://127.0.0.1:1",
                  "access_token_env": "CLI_TEST_SHOP_TOKEN"},
      "warehouses": [{"warehouse": "WH-A", "enabled": false}]},
     {"id": "a", "channel": "amazon",
      "amazon": {"endpoint": "http://127.0.0.1:1", "lwa_endpoint": "http://127.0.0.1:1",
                 "seller_id": "S", "marketplace_ids": ["M"],
                 "client_id_env": "CLI_TEST_LWA_ID",
                 "client_secret_env": "CLI_TEST_LWA_SECRET",
                 "refresh_token_env": "CLI_TEST_LWA_REFRESH"},
      "warehouses": [{"warehouse": "WH-A", "enabled": true}]}]})");
  EXPECT_EQ(run("check-config --config " + dir + "/unset.json"), 1) << out;
  for (auto* line :
       {"$.shops[0].shopify.access_token_env: names the environment variable "
        "CLI_TEST_SHOP_TOKEN, which is not set",
        "$.shops[1].amazon.client_secret_env: names the environment variable "
        "CLI_TEST_LWA_SECRET",
        "$.shops[1].amazon.refresh_token_env: names the environment variable "
        "CLI_TEST_LWA_REFRESH"})
    EXPECT_NE(out.find(line), std::string::npos) << out;
  EXPECT_EQ(out.find("CLI_TEST_LWA_ID"), std::string::npos) << out;
  EXPECT_EQ(out.find("cli-test"), std::string::npos) << out; // no value
  EXPECT_EQ(out.find(": ok"), std::string::npos) << out;
  ::unsetenv("CLI_TEST_API_TOKEN");
  EXPECT_EQ(run("check-config --config " + dir + "/unset.json"), 1) << out;
  EXPECT_NE(out.find("$.api.token_env: names the environment variable "
                     "CLI_TEST_API_TOKEN"),
            std::string::npos)
      << out;
}

TEST_F(cli_test, check_config_in_cluster_mode_needs_the_nats_token_variable) {
  ::setenv("CLI_TEST_API_TOKEN", "cli-test-token", 1);
  ::unsetenv("CLI_TEST_NATS_TOKEN");
  write("cluster.json", R"({"api": {"token_env": "CLI_TEST_API_TOKEN"},
    "node": {"cluster": {"node_id": "n1", "nats": ["nats://127.0.0.1:4222"],
                         "token_env": "CLI_TEST_NATS_TOKEN", "replicas": 1}},
    "warehouses": [{"id": "WH-A"}], "shops": []})");
  EXPECT_EQ(run("check-config --config " + dir + "/cluster.json"), 1) << out;
  EXPECT_NE(out.find("$.node.cluster.token_env: names the environment "
                     "variable CLI_TEST_NATS_TOKEN, which is not set (or "
                     "empty); serve could not join the cluster"),
            std::string::npos)
      << out;
  ::setenv("CLI_TEST_NATS_TOKEN", "nats-secret-value", 1);
  EXPECT_EQ(run("check-config --config " + dir + "/cluster.json"), 0) << out;
  EXPECT_NE(out.find(": ok"), std::string::npos) << out;
  EXPECT_EQ(out.find("nats-secret-value"), std::string::npos) << out;
  ::unsetenv("CLI_TEST_NATS_TOKEN");
  ::unsetenv("CLI_TEST_API_TOKEN");
}

TEST_F(cli_test, check_config_never_prints_a_secret_pasted_into_an_env_field) {
  write("pasted.json", R"({"api": {"token_env": "shpat_S3cr3t0123456789"},
    "warehouses": [{"id": "WH-A"}],
    "shops": [{"id": "a", "channel": "amazon",
      "amazon": {"endpoint": "http://127.0.0.1:1", "lwa_endpoint": "http://127.0.0.1:1",
                 "seller_id": "S", "marketplace_ids": ["M"],
                 "client_id_env": "A_ID", "client_secret_env": "lwa+S3cr3t/x=Q9",
                 "refresh_token_env": "Atzr|S3cr3tRefresh"},
      "warehouses": [{"warehouse": "WH-A", "enabled": true}]}]})");
  EXPECT_EQ(run("check-config --config " + dir + "/pasted.json"), 1) << out;
  EXPECT_NE(out.find("$.api.token_env"), std::string::npos) << out;
  EXPECT_NE(out.find("$.shops[0].amazon.client_secret_env"), std::string::npos)
      << out;
  EXPECT_NE(out.find("$.shops[0].amazon.refresh_token_env"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("S3cr3t"), std::string::npos) << out;
}

TEST_F(cli_test, usage_errors_exit_2) {
  EXPECT_EQ(run("import " + config()), 2);
  EXPECT_EQ(run("no-such-command"), 2);
  EXPECT_EQ(run("serve --help"), 0);
  EXPECT_NE(out.find("--config"), std::string::npos);
}

TEST_F(cli_test, import_loads_a_file_durably_and_exactly_once) {
  write(
      "good.ndjson",
      "{\"id\":\"a\",\"product\":\"p\",\"warehouse\":\"WH-A\",\"on_hand\":5}\n"
      "\n"
      "{\"id\":\"b\",\"product\":\"p\",\"warehouse\":\"WH-A\",\"delta\":-2}\n");
  EXPECT_EQ(run("import " + config() + " " + dir + "/good.ndjson"), 0) << out;
  EXPECT_NE(out.find("imported 2 events (0 duplicates)"), std::string::npos)
      << out;
  // The ids survived the process: a second import changes nothing.
  EXPECT_EQ(run("import " + config() + " " + dir + "/good.ndjson"), 0) << out;
  EXPECT_NE(out.find("imported 0 events (2 duplicates)"), std::string::npos)
      << out;
}

TEST_F(cli_test, a_bad_file_imports_nothing_and_says_where) {
  write(
      "bad.ndjson",
      "{\"id\":\"c\",\"product\":\"p\",\"warehouse\":\"WH-A\",\"on_hand\":5}\n"
      "{\"id\":\"d\",\"product\":\"p\",\"warehouse\":\"WH-Q\",\"delta\":1}\n");
  EXPECT_EQ(run("import " + config() + " " + dir + "/bad.ndjson"), 1);
  EXPECT_NE(out.find("line 2"), std::string::npos) << out;
  EXPECT_NE(out.find("field \"warehouse\""), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was imported"), std::string::npos) << out;
  // Event "c" of the refused file was not applied: it is new now.
  write("fixed.ndjson", "{\"id\":\"c\",\"product\":\"p\",\"warehouse\":\"WH-"
                        "A\",\"on_hand\":5}\n");
  EXPECT_EQ(run("import " + config() + " " + dir + "/fixed.ndjson"), 0) << out;
  EXPECT_NE(out.find("imported 1 events (0 duplicates)"), std::string::npos)
      << out;
}

TEST_F(cli_test, a_key_given_twice_imports_nothing) {
  write("twice.ndjson",
        "{\"id\":\"f\",\"product\":\"p\",\"warehouse\":\"WH-A\",\"delta\":1}\n"
        "{\"id\":\"g\",\"product\":\"p\",\"warehouse\":\"WH-A\","
        "\"on_hand\":1,\"on_hand\":99}\n");
  EXPECT_EQ(run("import " + config() + " " + dir + "/twice.ndjson"), 1) << out;
  EXPECT_NE(out.find("line 2"), std::string::npos) << out;
  EXPECT_NE(out.find("field \"on_hand\""), std::string::npos) << out;
  EXPECT_NE(out.find("more than once"), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was imported"), std::string::npos) << out;
}

TEST_F(cli_test, malformed_lines_are_reported_with_a_byte_offset) {
  write("broken.ndjson",
        "{\"id\":\"e\",\"product\":\"p\",\"warehouse\":\"WH-A\",\"delta\":1}\n"
        "{\"id\": oops}\n");
  EXPECT_EQ(run("import " + config() + " " + dir + "/broken.ndjson"), 1);
  EXPECT_NE(out.find("byte"), std::string::npos) << out;
  EXPECT_NE(out.find("line 2"), std::string::npos) << out;
}

// -- offline commands: replay, log, explain ----------------------------------

namespace {

/// A store with two products, imported by the real binary and stopped.
struct offline_cli_test : cli_test {
  void SetUp() override {
    cli_test::SetUp();
    // The channels point at a closed port: nothing is delivered.
    write("config.json", R"({"node": {"data_dir": ")" + dir + R"(/data"},
      "warehouses": [{"id": "WH-A"}, {"id": "WH-B"}],
      "shops": [
        {"id": "eu-store", "channel": "shopify",
         "shopify": {"shop_url": "http://127.0.0.1:9/eu",
                     "access_token_env": "NO_SUCH_TOKEN_VARIABLE"},
         "warehouses": [
           {"warehouse": "WH-A", "enabled": true,
            "location": "gid://shopify/Location/1001"},
           {"warehouse": "WH-B", "enabled": false}]},
        {"id": "amazon-us", "channel": "amazon",
         "amazon": {"endpoint": "http://127.0.0.1:9",
                    "lwa_endpoint": "http://127.0.0.1:9/token",
                    "seller_id": "A2", "marketplace_ids": ["ATVPDKIKX0DER"],
                    "client_id_env": "NO_SUCH_ID_VARIABLE",
                    "client_secret_env": "NO_SUCH_SECRET_VARIABLE",
                    "refresh_token_env": "NO_SUCH_REFRESH_VARIABLE"},
         "warehouses": [{"warehouse": "WH-A", "enabled": true},
                        {"warehouse": "WH-B", "enabled": true}],
         "rules": {"buffer": 1}}]})");
    write(
        "events.ndjson",
        R"({"id":"1","product":"p1","warehouse":"WH-A","on_hand":12,"version":5}
{"id":"2","product":"p1","warehouse":"WH-A","on_hand":99,"version":4}
{"id":"3","product":"p1","warehouse":"WH-B","delta":3}
{"id":"4","product":"p2","warehouse":"WH-A","on_hand":1}
)");
    ASSERT_EQ(run("import " + config() + " " + dir + "/events.ndjson"), 0)
        << out;
  }

  bool has(const std::string& text) const {
    return out.find(text) != std::string::npos;
  }
};

} // namespace

TEST_F(offline_cli_test, replay_of_a_stopped_server_finds_no_difference) {
  EXPECT_EQ(run("replay " + config()), 0) << out;
  EXPECT_TRUE(has("replayed 4 events (seq 1..4 of 4)")) << out;
  EXPECT_TRUE(has("2 products compared; 0 differences in 0 products")) << out;
  EXPECT_EQ(run("replay " + config() + " --from 4"), 0) << out;
  EXPECT_TRUE(has("1 products compared (touched at or after seq 4)")) << out;
}

TEST_F(offline_cli_test, replay_lists_a_tampered_record_and_exits_3) {
  {
    auto db = shelfsync::store::open(dir + "/data", shelfsync::durability::wal);
    ASSERT_TRUE(db);
    shelfsync::product_record rec;
    ASSERT_TRUE(*(*db)->load_product("p1", rec));
    rec.stock["WH-A"].on_hand = 13;
    shelfsync::state_batch batch;
    batch.put_product("p1", rec);
    ASSERT_FALSE((*db)->commit(batch, 0));
  }
  EXPECT_EQ(run("replay " + config()), 3) << out;
  EXPECT_TRUE(has("p1: stock WH-A on_hand: live 13, replayed 12")) << out;
  EXPECT_TRUE(has("; 1 differences in 1 products")) << out;
}

TEST_F(offline_cli_test, replay_usage_and_storage_errors) {
  EXPECT_EQ(run("replay " + config() + " --from 3 --to 2"), 2) << out;
  EXPECT_EQ(run("replay " + config() + " --to 99"), 2) << out;
  EXPECT_TRUE(has("beyond the end of the log (last seq 4)")) << out;
  EXPECT_EQ(run("replay " + config() + " --from x"), 2) << out;
  EXPECT_EQ(run("replay --help"), 0);
  EXPECT_TRUE(has("--from")) << out;
  EXPECT_TRUE(has("3 differences")) << out;
  {
    // As while a server runs on the data dir.
    auto db = shelfsync::store::open(dir + "/data", shelfsync::durability::wal);
    ASSERT_TRUE(db);
    EXPECT_EQ(run("replay " + config()), 1) << out;
    EXPECT_TRUE(has("in use")) << out;
  }
  std::filesystem::remove_all(dir + "/data");
  EXPECT_EQ(run("replay " + config()), 1) << out;
  EXPECT_TRUE(has("no shelfsync data in")) << out;
}

TEST_F(offline_cli_test, log_shows_each_event_with_the_stock_after_it) {
  EXPECT_EQ(run("log " + config() + " --product p1"), 0) << out;
  EXPECT_TRUE(has("product p1: 3 events")) << out;
  EXPECT_TRUE(has("  1  absolute  WH-A  on_hand=12 version=5  -> on_hand 12 "
                  "reserved 0 available 12  changed"))
      << out;
  EXPECT_TRUE(has("on_hand=99 version=4  -> on_hand 12 reserved 0 available "
                  "12  stale (ignored)"))
      << out;
  EXPECT_TRUE(has("delta  WH-B  delta=+3  -> on_hand 3")) << out;
  EXPECT_EQ(run("log " + config() + " --product nope"), 1) << out;
  EXPECT_TRUE(has("no event for product \"nope\"")) << out;
  EXPECT_EQ(run("log " + config()), 2) << out;
}

TEST_F(offline_cli_test, replay_and_log_start_from_what_retention_left) {
  {
    // Drop seq 1..2 (both p1's) as retention would.
    auto db = shelfsync::store::open(dir + "/data", shelfsync::durability::wal);
    ASSERT_TRUE(db);
    auto dropped = (*db)->read_log(1, 2, 10);
    ASSERT_TRUE(dropped);
    shelfsync::product_record p1;
    for (auto& e : *dropped)
      shelfsync::apply_event(p1, e);
    ASSERT_FALSE((*db)->drop_log({{"p1", p1}}, 2, *dropped));
  }
  EXPECT_EQ(run("replay " + config()), 0) << out;
  EXPECT_TRUE(has("replayed 2 events (seq 3..4 of 4) into a fresh state that "
                  "starts from the snapshot retention left at seq 2"))
      << out;
  EXPECT_TRUE(has("2 products compared; 0 differences")) << out;
  EXPECT_EQ(run("replay " + config() + " --from 2"), 2) << out;
  EXPECT_TRUE(has("--from 2: the events up to seq 2 were dropped by retention"))
      << out;
  EXPECT_EQ(run("log " + config() + " --product p1"), 0) << out;
  EXPECT_TRUE(
      has("product p1: 1 events (retention dropped the log up to seq 2"))
      << out;
  EXPECT_TRUE(has("as of seq 2  WH-A  on_hand 12 reserved 0 available 12"))
      << out;
  EXPECT_TRUE(has("delta  WH-B  delta=+3  -> on_hand 3")) << out;
}

TEST_F(offline_cli_test, explain_prints_how_a_number_was_derived) {
  EXPECT_EQ(run("explain " + config() + " --product p1 --shop amazon-us"), 0)
      << out;
  EXPECT_TRUE(has("quantity: 14")) << out; // 12 + 3, minus a buffer of 1
  EXPECT_TRUE(has("available -> 15  (sum of available over WH-A, WH-B)"))
      << out;
  EXPECT_TRUE(has("buffer -> 14")) << out;
  EXPECT_EQ(run("explain " + config() + " --product p1 --shop eu-store"), 0)
      << out;
  EXPECT_TRUE(has("location gid://shopify/Location/1001: 12")) << out;
  EXPECT_TRUE(has("WH-B: on_hand 3, reserved 0, available 3")) << out;
  EXPECT_TRUE(has("disabled for this shop")) << out;
  EXPECT_EQ(run("explain " + config() + " --product p1 --shop nope"), 1);
  EXPECT_EQ(run("explain " + config() + " --product none --shop eu-store"), 1);
  EXPECT_EQ(run("explain " + config() + " --product p1"), 2);
}
