// The HTTP limits of `shelfsync serve` come from the config (node.*): the
// real binary disconnects a client that stalls mid-request after
// node.read_timeout_seconds, closes an idle kept-alive connection after
// node.idle_timeout_seconds, and answers a body over node.max_body_bytes
// with 413 and a clear error.
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "net/url.hpp"
#include "tests/api/child_process.hpp"
#include "tests/net/loopback.hpp"

using json = nlohmann::json;
using namespace shelfsync;
using namespace std::chrono_literals;
using http::test::raw_connection;

namespace {

struct serve_limits_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-limits-" + std::to_string(::getpid())))
                        .string();
  uint16_t port = tests::free_port();

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    json conf = {{"node",
                  {{"data_dir", dir + "/data"},
                   {"listen", "127.0.0.1:" + std::to_string(port)},
                   {"read_timeout_seconds", 1},
                   {"idle_timeout_seconds", 5},
                   {"max_body_bytes", 1000}}},
                 {"api", {{"token_env", "LIMITS_TEST_TOKEN"}}},
                 {"warehouses", json::array({{{"id", "WH-A"}}})},
                 {"shops", json::array()}};
    std::ofstream{dir + "/config.json"} << conf.dump(2);
    ::setenv("LIMITS_TEST_TOKEN", "limits-token", 1);
  }

  void TearDown() override { std::filesystem::remove_all(dir); }
};

} // namespace

TEST_F(serve_limits_test, timeouts_and_body_limit_follow_the_config) {
  tests::shelfsync_process serve{{"serve", "--config", dir + "/config.json"},
                                 dir + "/serve.log"};
  ASSERT_TRUE(serve.wait_until_started(port)) << serve.log();

  // Half a header, then silence: closed after the read timeout (1 s), well
  // before the idle timeout (5 s) or the default (30 s).
  raw_connection stalled{port};
  stalled.write("GET /healthz HTTP/1.1\r\nHost: a\r\n");
  auto took = stalled.wait_closed(20s);
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 4s);

  // A kept-alive connection with nothing more to ask: closed after 5 s.
  raw_connection idle{port};
  idle.write("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  auto reply = idle.read_until("\"ok\"");
  ASSERT_NE(reply.find("200 OK"), std::string::npos) << reply;
  took = idle.wait_closed(20s);
  EXPECT_GE(took, 4900ms);
  EXPECT_LT(took, 15s);

  // 1001 bytes where 1000 are allowed.
  raw_connection big{port};
  big.write("POST /v1/stock/events HTTP/1.1\r\nHost: a\r\n"
            "Authorization: Bearer limits-token\r\n"
            "Content-Type: application/json\r\nContent-Length: 1001\r\n\r\n" +
            std::string(1001, ' '));
  reply = big.read_all();
  EXPECT_NE(reply.find("HTTP/1.1 413 Payload Too Large\r\n"), std::string::npos)
      << reply;
  EXPECT_NE(reply.find("{\"error\":\"request body exceeds 1000 bytes\"}"),
            std::string::npos)
      << reply;
}
