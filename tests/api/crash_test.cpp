// Runs the real `shelfsync serve`, streams events into it, kills it with
// SIGKILL mid-stream, restarts it, and checks that every acknowledged event
// is applied exactly once and nothing unacknowledged is applied twice.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "channels/http/client.hpp"
#include "channels/http/url.hpp"
#include "tests/api/child_process.hpp"

using json = nlohmann::json;
using namespace shelfsync;
using namespace std::chrono_literals;
using shelfsync::tests::child_process;

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
  uint16_t port = shelfsync::tests::free_port();
  child_process child;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    json conf = {
        {"node",
         {{"data_dir", dir + "/data"},
          {"listen", "127.0.0.1:" + std::to_string(port)}}},
        {"api", {{"token_env", "CRASH_TEST_TOKEN"}}},
        {"warehouses", {{{"id", "WH-A"}}, {{"id", "WH-B"}}}},
        {"shops",
         {{{"id", "amazon-us"},
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
           {"warehouses", {{{"warehouse", "WH-A"}, {"enabled", true}}}}}}}};
    std::ofstream{dir + "/config.json"} << conf.dump(2);
    ::setenv("CRASH_TEST_TOKEN", "crash-token", 1);
  }

  void TearDown() override {
    child.stop(SIGKILL);
    std::filesystem::remove_all(dir);
  }

  void start() {
    ASSERT_FALSE(shelfsync::tests::shelfsync_binary().empty())
        << "SHELFSYNC_BIN names the shelfsync binary";
    child.start({"serve", "--config", dir + "/config.json"}, "",
                dir + "/serve.log");
    ASSERT_TRUE(shelfsync::tests::wait_until_up(
        "http://127.0.0.1:" + std::to_string(port), "/healthz", 10s))
        << "shelfsync serve did not come up; its log:\n"
        << shelfsync::tests::read_file(dir + "/serve.log");
  }

  void kill_hard() { child.stop(SIGKILL); }

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
