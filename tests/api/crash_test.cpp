// Runs the real `shelfsync serve`, streams events into it, stops it mid-stream
// (SIGKILL, or SIGTERM for a graceful stop), restarts it, and checks that
// every acknowledged event is applied exactly once and nothing
// unacknowledged is applied twice.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <boost/asio.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "net/url.hpp"
#include "tests/api/child_process.hpp"

using json = nlohmann::json;
using namespace shelfsync;
using namespace std::chrono_literals;

namespace {

constexpr int products = 40;
constexpr int batch_size = 250;
constexpr int batches = 400;

/// The events of batch `b`: each adds 1 to one product in WH-A, so that a
/// double application shows as a count that is too high.
/// How many events of the first `n_batches` batches touch product `p`.
int64_t events_for(int p, int n_batches) {
  int64_t n = int64_t{n_batches} * batch_size;
  return n / products + (p < n % products ? 1 : 0);
}

std::string batch_body(int b) {
  json events = json::array();
  for (int i = 0; i < batch_size; ++i) {
    int n = b * batch_size + i;
    events.push_back({{"id", "evt-" + std::to_string(n)},
                      {"product", "sku-" + std::to_string(n % products)},
                      {"warehouse", "WH-A"},
                      {"delta", 1}});
  }
  return events.dump();
}

struct crash_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-crash-" + std::to_string(::getpid())))
                        .string();
  uint16_t port = tests::free_port();
  std::unique_ptr<tests::shelfsync_process> child;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream{dir + "/config.json"} << config().dump(2);
    ::setenv("CRASH_TEST_TOKEN", "crash-token", 1);
  }

  json config() const {
    return {
        {"node",
         {{"data_dir", dir + "/data"},
          {"listen", "127.0.0.1:" + std::to_string(port)},
          {"checkpoint_seconds", 3}}},
        {"api", {{"token_env", "CRASH_TEST_TOKEN"}}},
        {"warehouses", {{{"id", "WH-A"}}, {{"id", "WH-B"}}}},
        // json::array spelled out: gcc and clang read a single element in
        // nested braces differently.
        {"shops",
         json::array({{{"id", "amazon-us"},
                       {"channel", "amazon"},
                       {"stock_sync", true},
                       {"amazon",
                        {{"endpoint", "http://127.0.0.1:1"},
                         {"lwa_endpoint", "http://127.0.0.1:1/auth/o2/token"},
                         {"seller_id", "A2EXAMPLE"},
                         {"marketplace_ids", {"ATVPDKIKX0DER"}},
                         {"client_id_env", "X_ID"},
                         {"client_secret_env", "X_SECRET"},
                         {"refresh_token_env", "X_REFRESH"}}},
                       {"warehouses", json::array({{{"warehouse", "WH-A"},
                                                    {"enabled", true}}})}}})}};
  }

  void TearDown() override {
    child.reset();
    std::filesystem::remove_all(dir);
  }

  /// Starts `shelfsync serve`; its output goes to serve-<n>.log.
  void start() {
    ASSERT_NE(std::getenv("SHELFSYNC_BIN"), nullptr)
        << "SHELFSYNC_BIN names the shelfsync binary";
    child = std::make_unique<tests::shelfsync_process>(
        std::vector<std::string>{"serve", "--config", dir + "/config.json"},
        dir + "/serve-" + std::to_string(++starts) + ".log");
    ASSERT_TRUE(child->wait_until_started(port))
        << "shelfsync serve did not come up; its log:\n"
        << child->log();
  }
  int starts = 0;

  void kill_hard() { child.reset(); }

  /// Streams every batch, SIGKILLing and restarting the server three times
  /// at random moments, and checks that each acknowledged event is applied
  /// exactly once; the server still runs at the end.
  void stream_with_kills();

  /// Posts batch `b`; true when acknowledged with 200.
  bool post(http::client& c, int b) {
    auto req = http::make_request(http::verb::post, "/v1/stock/events",
                                  batch_body(b), "application/json");
    req.set(boost::beast::http::field::authorization, "Bearer crash-token");
    auto r = c.send(std::move(req));
    return r.ok() && r.value().result_int() == 200;
  }

  json product(http::client& c, int p) {
    auto req = http::make_request(http::verb::get,
                                  "/v1/products/sku-" + std::to_string(p));
    req.set(boost::beast::http::field::authorization, "Bearer crash-token");
    auto r = c.send(std::move(req));
    EXPECT_TRUE(r.ok());
    return json::parse(r.value().body());
  }
};

} // namespace

TEST_F(crash_test, acknowledged_events_survive_sigkill_exactly_once) {
  stream_with_kills();
}

TEST_F(crash_test, retention_never_drops_what_a_restart_needs) {
  // Keep as little log as retention ever may: whatever the durable
  // checkpoint has passed goes, looked at every second.
  auto conf = config();
  conf["node"]["checkpoint_seconds"] = 1;
  conf["node"]["log_retention"] = {{"bytes", 1}};
  std::ofstream{dir + "/config.json"} << conf.dump(2);
  stream_with_kills();
  // Let retention catch up with the last checkpoint, then kill once more.
  std::this_thread::sleep_for(4s);
  kill_hard();
  auto logs = tests::read_file(dir + "/serve-" + std::to_string(starts) +
                               ".log");
  EXPECT_NE(logs.find("dropped"), std::string::npos)
      << "retention never ran:\n" << logs;
  start();
  auto url = *http::parse_url("http://127.0.0.1:" + std::to_string(port));
  http::client c{url};
  for (int p = 0; p < products; ++p)
    EXPECT_EQ(product(c, p)["warehouses"]["WH-A"]["on_hand"],
              events_for(p, batches))
        << "sku-" << p;
  kill_hard();
  // Replay starts from the snapshot retention left and agrees.
  tests::shelfsync_process replay{
      {"replay", "--config", dir + "/config.json"}, dir + "/replay.log"};
  auto code = replay.wait_exit(120s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << tests::read_file(dir + "/replay.log");
  EXPECT_NE(tests::read_file(dir + "/replay.log").find("snapshot"),
            std::string::npos)
      << tests::read_file(dir + "/replay.log");
}

void crash_test::stream_with_kills() {
  std::mt19937 rng{std::random_device{}()};
  auto url = *http::parse_url("http://127.0.0.1:" + std::to_string(port));
  int next = 0;       // the next batch to send
  int acked_upto = 0; // batches [0, acked_upto) are acknowledged
  for (int round = 0; round < 3 && next < batches; ++round) {
    start();
    // Stream batches from a thread; kill the server at a random moment.
    std::atomic<int> acked{next};
    std::atomic<bool> stop{false};
    std::thread sender{[&, from = next] {
      http::client c{url};
      for (int b = from; b < batches && !stop; ++b) {
        if (!post(c, b)) return;
        acked = b + 1;
      }
    }};
    std::this_thread::sleep_for(std::chrono::milliseconds{
        std::uniform_int_distribution<>{50, 400}(rng)});
    kill_hard();
    stop = true;
    sender.join();
    acked_upto = acked;
    std::cout << "round " << round << ": killed after " << acked_upto
              << " acknowledged batches\n";
    // Batch `acked_upto` may have been in flight: applied or not, never twice.
    start();
    http::client c{url};
    for (int p = 0; p < products; ++p) {
      auto on_hand =
          product(c, p)["warehouses"]["WH-A"]["on_hand"].get<int64_t>();
      EXPECT_GE(on_hand, events_for(p, acked_upto))
          << "round " << round << " sku-" << p;
      EXPECT_LE(on_hand, events_for(p, std::min(acked_upto + 1, batches)))
          << "round " << round << " sku-" << p;
    }
    // Resend the batch that may have been in flight: duplicates or new, it
    // must end up applied once.
    if (acked_upto < batches) {
      ASSERT_TRUE(post(c, acked_upto));
    }
    next = std::min(acked_upto + 1, batches);
    kill_hard();
  }
  // Finish the stream and check every count and every view exactly.
  start();
  http::client c{url};
  for (int b = next; b < batches; ++b)
    ASSERT_TRUE(post(c, b));
  for (int p = 0; p < products; ++p) {
    auto doc = product(c, p);
    EXPECT_EQ(doc["warehouses"]["WH-A"]["on_hand"], events_for(p, batches))
        << "sku-" << p;
    EXPECT_EQ(doc["shops"]["amazon-us"]["desired"], events_for(p, batches))
        << "sku-" << p;
  }
}

TEST_F(crash_test, sigterm_answers_what_it_took_and_needs_no_replay) {
  start();
  auto url = *http::parse_url("http://127.0.0.1:" + std::to_string(port));
  std::atomic<int> acked{0};
  std::thread sender{[&] {
    http::client c{url};
    for (int b = 0; b < batches; ++b) {
      if (!post(c, b)) return;
      acked = b + 1;
    }
  }};
  for (int i = 0; acked < 10 && i < 60000; ++i)
    std::this_thread::sleep_for(1ms);
  auto asked = std::chrono::steady_clock::now();
  child->signal(SIGTERM);
  auto code = child->wait_exit(60s);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - asked;
  sender.join();
  auto log = tests::read_file(dir + "/serve-1.log");
  ASSERT_EQ(code, 0) << log;
  std::cout << "stopped " << took.count() << " s after SIGTERM, "
            << acked.load() << " batches acknowledged\n";
  // node.shutdown_seconds (10) bounds waiting for answers; the rest is
  // committing what was accepted.
  EXPECT_LT(took.count(), 20.0);
  EXPECT_LT(acked.load(), batches) << "the stream ended before the signal";
  EXPECT_NE(log.find("shutting down on SIGTERM"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped cleanly"), std::string::npos) << log;

  // Every answered batch is there, exactly once, and nothing else: a request
  // that was being handled was answered, one that was not was not applied.
  start();
  EXPECT_EQ(child->log().find("replayed"), std::string::npos)
      << "a graceful stop commits everything; the restart replayed:\n"
      << child->log();
  http::client c{url};
  for (int p = 0; p < products; ++p)
    EXPECT_EQ(product(c, p)["warehouses"]["WH-A"]["on_hand"],
              events_for(p, acked))
        << "sku-" << p;
}

TEST_F(crash_test, the_checkpoint_becomes_durable_while_serving) {
  start();
  auto url = *http::parse_url("http://127.0.0.1:" + std::to_string(port));
  {
    http::client c{url};
    for (int b = 0; b < 20; ++b)
      ASSERT_TRUE(post(c, b));
  }
  // A commit follows within 2 s, before node.checkpoint_seconds (3) are up;
  // the engine then goes quiet, and the checkpoint is made durable all the
  // same once they are, so a kill -9 after that leaves nothing to replay.
  std::this_thread::sleep_for(6s);
  kill_hard();
  start();
  EXPECT_EQ(child->log().find("replayed"), std::string::npos)
      << "the checkpoint did not survive the kill; the restart replayed:\n"
      << child->log();
  http::client c{url};
  for (int p = 0; p < products; ++p)
    EXPECT_EQ(product(c, p)["warehouses"]["WH-A"]["on_hand"], events_for(p, 20))
        << "sku-" << p;
}
