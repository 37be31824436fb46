#include "net/server.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "net/client.hpp"
#include "tests/net/loopback.hpp"
#include "tests/support/eventually.hpp"

namespace http = shelfsync::http;
using shelfsync::tests::eventually;
using http::test::loopback_server;
using http::test::raw_connection;
using namespace std::chrono_literals;

namespace {

void answer_target(http::request&& req, http::responder r) {
  r.send(http::make_response(http::status::ok, std::string{req.target()},
                             "text/plain"));
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

TEST(server, answers_malformed_http_with_400) {
  std::atomic<int> handled{0};
  loopback_server s{[&](http::request&& req, http::responder r) {
    ++handled;
    answer_target(std::move(req), r);
  }};
  raw_connection conn{s.port};
  conn.write("THIS IS NOT HTTP\r\n\r\n");
  auto reply = conn.read_all();
  EXPECT_TRUE(starts_with(reply, "HTTP/1.1 400 Bad Request\r\n")) << reply;
  EXPECT_NE(reply.find("{\"error\":\"malformed HTTP request: "),
            std::string::npos)
      << reply;
  EXPECT_EQ(handled.load(), 0);
}

TEST(server, rejects_oversized_chunked_body_with_413) {
  http::server_options opts;
  opts.max_body_bytes = 10;
  loopback_server s{answer_target, opts};
  raw_connection conn{s.port};
  conn.write("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
             "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
  auto reply = conn.read_all();
  EXPECT_TRUE(starts_with(reply, "HTTP/1.1 413 Payload Too Large\r\n"))
      << reply;
  EXPECT_NE(reply.find("{\"error\":\"request body exceeds 10 bytes\"}"),
            std::string::npos)
      << reply;
}

TEST(server, closes_a_client_that_stalls_mid_header_after_the_read_timeout) {
  http::server_options opts;
  opts.read_timeout = 300ms;
  opts.idle_timeout = 30s;
  std::atomic<int> handled{0};
  loopback_server s{[&](http::request&& req, http::responder r) {
                      ++handled;
                      answer_target(std::move(req), r);
                    },
                    opts};
  raw_connection conn{s.port};
  conn.write("GET /x HTTP/1.1\r\nHost: a\r\n");
  auto took = conn.wait_closed(10s);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(handled.load(), 0);
}

TEST(server, closes_a_client_that_stalls_mid_body_after_the_read_timeout) {
  http::server_options opts;
  opts.read_timeout = 300ms;
  opts.idle_timeout = 30s;
  loopback_server s{answer_target, opts};
  raw_connection conn{s.port};
  conn.write("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n12");
  auto took = conn.wait_closed(10s);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
}

TEST(server, the_read_timeout_bounds_a_whole_request_sent_byte_by_byte) {
  http::server_options opts;
  opts.read_timeout = 500ms;
  opts.idle_timeout = 30s;
  loopback_server s{answer_target, opts};
  raw_connection conn{s.port};
  // A byte every 50 ms never lets one read wait long, yet the request as a
  // whole takes too long.
  std::atomic<bool> closed{false};
  std::thread trickle{[&] {
    std::string header = "GET /x HTTP/1.1\r\nHost: a\r\nX-Pad: ";
    header += std::string(200, 'a');
    for (char c : header) {
      if (closed) return;
      boost::system::error_code ec;
      boost::asio::write(conn.socket, boost::asio::buffer(&c, 1), ec);
      if (ec) return;
      std::this_thread::sleep_for(50ms);
    }
  }};
  auto took = conn.wait_closed(15s);
  closed = true;
  trickle.join();
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 5s);
}

TEST(server, closes_an_idle_kept_alive_connection_after_the_idle_timeout) {
  http::server_options opts;
  opts.read_timeout = 30s;
  opts.idle_timeout = 300ms;
  loopback_server s{answer_target, opts};
  raw_connection conn{s.port};
  conn.write("GET /first HTTP/1.1\r\nHost: a\r\n\r\n");
  auto reply = conn.read_until("/first");
  ASSERT_TRUE(starts_with(reply, "HTTP/1.1 200 OK\r\n")) << reply;
  EXPECT_EQ(reply.find("Connection: close"), std::string::npos) << reply;
  auto took = conn.wait_closed(10s);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
}

TEST(server, answers_pipelined_requests_in_order) {
  loopback_server s{answer_target};
  raw_connection conn{s.port};
  conn.write("GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
             "GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  auto reply = conn.read_all();
  auto first = reply.find("/first");
  auto second = reply.find("/second");
  ASSERT_NE(first, std::string::npos) << reply;
  ASSERT_NE(second, std::string::npos) << reply;
  EXPECT_LT(first, second);
  EXPECT_EQ(s.srv->connections_accepted(), 1u);
}

TEST(server, sends_100_continue_when_asked) {
  loopback_server s{[](http::request&& req, http::responder r) {
    r.send(http::make_response(http::status::ok, req.body(), "text/plain"));
  }};
  raw_connection conn{s.port};
  conn.write("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
             "Expect: 100-continue\r\n\r\n");
  auto interim = conn.read_until("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  conn.write("hello");
  auto reply = conn.read_until("hello");
  EXPECT_TRUE(starts_with(reply, "HTTP/1.1 200 OK\r\n")) << reply;
}

TEST(server, answers_head_with_length_but_no_body) {
  loopback_server s{[](http::request&&, http::responder r) {
    r.send(http::make_response(http::status::ok, "hello", "text/plain"));
  }};
  raw_connection conn{s.port};
  conn.write("HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  auto reply = conn.read_all();
  EXPECT_TRUE(starts_with(reply, "HTTP/1.1 200 OK\r\n")) << reply;
  EXPECT_NE(reply.find("Content-Length: 5\r\n"), std::string::npos) << reply;
  EXPECT_EQ(reply.substr(reply.size() - 4), "\r\n\r\n") << reply;
}

TEST(server, survives_clients_that_disconnect_mid_request) {
  std::atomic<int> handled{0};
  loopback_server s{[&](http::request&& req, http::responder r) {
    ++handled;
    answer_target(std::move(req), r);
  }};
  {
    raw_connection conn{s.port};
    conn.write("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nab");
  }
  {
    raw_connection conn{s.port};
    conn.write("GET /half-a-hea");
  }
  ASSERT_TRUE(eventually([&] {
    return s.srv->open_connections() == 0;
  }));
  http::client c{s.base()};
  auto res = c.send(http::make_request(http::verb::get, "/after"));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res.value().body(), "/after");
  EXPECT_EQ(handled.load(), 1);
}

TEST(server, answers_only_once_per_request) {
  loopback_server s{[](http::request&&, http::responder r) {
    auto copy = r;
    r.send(http::make_response(http::status::ok, "one", "text/plain"));
    copy.send(http::make_response(http::status::ok, "two", "text/plain"));
    copy.drop();
    EXPECT_TRUE(copy.done());
  }};
  http::client c{s.base()};
  for (int i = 0; i < 3; ++i) {
    auto res = c.send(http::make_request(http::verb::get, "/"));
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res.value().body(), "one");
  }
  EXPECT_EQ(c.connections_opened(), 1u);
}

TEST(server, turns_a_handler_exception_into_500) {
  loopback_server s{[](http::request&&, http::responder) {
    throw std::runtime_error("secret detail");
  }};
  http::client c{s.base()};
  auto res = c.send(http::make_request(http::verb::get, "/"));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res.value().result(), http::status::internal_server_error);
  EXPECT_EQ(res.value().body().find("secret"), std::string::npos);
}

TEST(server, stop_lets_a_request_in_progress_finish) {
  std::thread worker;
  std::atomic<bool> slow_arrived{false};
  loopback_server s{[&](http::request&& req, http::responder r) {
    if (req.target() != "/slow") {
      answer_target(std::move(req), r);
      return;
    }
    worker = std::thread{[r] {
      std::this_thread::sleep_for(200ms);
      r.send(http::make_response(http::status::ok, "late", "text/plain"));
    }};
    slow_arrived = true;
  }};
  http::client idle_client{s.base()};
  ASSERT_TRUE(idle_client.send(http::make_request(http::verb::get, "/")));
  http::result res{http::client_error{}};
  std::thread caller{[&] {
    http::client c{s.base()};
    res = c.send(http::make_request(http::verb::get, "/slow"));
  }};
  ASSERT_TRUE(eventually([&] {
    return slow_arrived.load();
  }));
  auto start = std::chrono::steady_clock::now();
  s.srv->stop();
  auto took = std::chrono::steady_clock::now() - start;
  caller.join();
  worker.join();
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res.value().body(), "late");
  EXPECT_FALSE(res.value().keep_alive());
  EXPECT_EQ(s.srv->open_connections(), 0u);
  EXPECT_LT(took, 2s);
}

TEST(server, stop_does_not_wait_for_clients_that_gave_up) {
  std::vector<http::responder> parked;
  std::atomic<int> arrived{0};
  loopback_server s{[&](http::request&&, http::responder r) {
    parked.push_back(r); // only one I/O thread touches it at a time here
    ++arrived;
  }};
  {
    raw_connection conn{s.port};
    conn.write("GET /never HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_TRUE(eventually([&] {
      return arrived.load() == 1;
    }));
  }
  ASSERT_TRUE(eventually([&] {
    return s.srv->open_connections() == 0;
  }));
  auto start = std::chrono::steady_clock::now();
  s.srv->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(server, start_reports_a_port_in_use) {
  loopback_server first{answer_target};
  http::server_options opts;
  opts.port = first.port;
  http::server second{opts, answer_target};
  try {
    second.start();
    FAIL() << "bound a port that is in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find(std::to_string(first.port)),
              std::string::npos)
        << e.what();
  }
}
