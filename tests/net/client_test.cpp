#include "net/client.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "net/server.hpp"
#include "tests/net/loopback.hpp"
#include "tests/support/eventually.hpp"

namespace http = shelfsync::http;
using shelfsync::tests::eventually;
using http::test::loopback_server;
using namespace std::chrono_literals;
namespace field = boost::beast::http;

namespace {

/// Answers every request with a description of what arrived.
void echo(http::request&& req, http::responder r) {
  auto res = http::make_response(http::status::ok, req.body(), "text/plain");
  res.set("x-method", std::string{req.method_string()});
  res.set("x-target", std::string{req.target()});
  res.set("x-host", std::string{req[field::field::host]});
  res.set("x-user-agent", std::string{req[field::field::user_agent]});
  res.set("x-peer", r.peer());
  r.send(std::move(res));
}

http::request post(std::string target, std::string body) {
  return http::make_request(http::verb::post, std::move(target),
                            std::move(body), "text/plain");
}

std::chrono::milliseconds
elapsed_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t);
}

} // namespace

TEST(client, round_trip_through_server_with_path_prefix) {
  loopback_server s{echo};
  http::client c{s.base("/eu-store")};
  auto res = c.send(post("/graphql.json", "hello"));
  ASSERT_TRUE(res) << res.error().message;
  auto& v = res.value();
  EXPECT_EQ(v.result(), http::status::ok);
  EXPECT_EQ(v.body(), "hello");
  EXPECT_EQ(v["x-method"], "POST");
  EXPECT_EQ(v["x-target"], "/eu-store/graphql.json");
  EXPECT_EQ(v["x-host"], "127.0.0.1:" + std::to_string(s.port));
  EXPECT_EQ(v["x-user-agent"], "shelfsync/0.1");
  EXPECT_EQ(v["x-peer"].substr(0, 10), "127.0.0.1:");
}

TEST(client, reuses_one_keep_alive_connection) {
  loopback_server s{echo};
  http::client c{s.base()};
  for (int i = 0; i < 10; ++i) {
    auto res = c.send(post("/n", std::to_string(i)));
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res.value().body(), std::to_string(i));
  }
  EXPECT_EQ(s.srv->connections_accepted(), 1u);
  EXPECT_EQ(c.connections_opened(), 1u);
}

TEST(client, reconnects_after_server_closed_idle_connection) {
  http::server_options opts;
  opts.idle_timeout = 100ms;
  std::atomic<int> handled{0};
  loopback_server s{[&](http::request&& req, http::responder r) {
                      ++handled;
                      echo(std::move(req), r);
                    },
                    opts};
  http::client c{s.base()};
  ASSERT_TRUE(c.send(post("/a", "1")));
  ASSERT_TRUE(eventually([&] {
    return s.srv->open_connections() == 0;
  }));
  auto res = c.send(post("/b", "2"));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res.value().body(), "2");
  EXPECT_EQ(s.srv->connections_accepted(), 2u);
  EXPECT_EQ(c.connections_opened(), 2u);
  EXPECT_EQ(handled.load(), 2);
}

TEST(client, waits_for_an_answer_sent_later_from_another_thread) {
  std::vector<std::thread> workers;
  std::mutex mtx;
  loopback_server s{[&](http::request&& req, http::responder r) {
    std::lock_guard<std::mutex> guard{mtx};
    workers.emplace_back([r, body = req.body()] {
      std::this_thread::sleep_for(200ms);
      r.send(http::make_json_response(http::status::accepted, body));
    });
  }};
  http::client c{s.base()};
  auto start = std::chrono::steady_clock::now();
  auto res = c.send(post("/slow", "{\"late\":true}"));
  auto took = elapsed_since(start);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res.value().result(), http::status::accepted);
  EXPECT_EQ(res.value().body(), "{\"late\":true}");
  EXPECT_GE(took, 200ms);
  for (auto& t : workers)
    t.join();
}

TEST(client, reports_drop_as_connection_dropped_without_retrying) {
  std::atomic<int> drops{0};
  loopback_server s{[&](http::request&& req, http::responder r) {
    if (req.target() == "/drop") {
      ++drops;
      r.drop();
    } else {
      echo(std::move(req), r);
    }
  }};
  http::client c{s.base()};
  // On a fresh connection.
  auto first = c.send(post("/drop", "x"));
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().kind, http::error_kind::connection_dropped)
      << first.error().message;
  EXPECT_TRUE(first.error().sent);
  // On a kept-alive connection: the server saw the request, so no retry.
  ASSERT_TRUE(c.send(post("/ok", "y")));
  auto second = c.send(post("/drop", "z"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, http::error_kind::connection_dropped);
  EXPECT_EQ(drops.load(), 2);
  // The client recovers on the next request.
  auto after = c.send(post("/ok", "again"));
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after.value().body(), "again");
}

TEST(client, forgotten_responder_closes_the_connection) {
  loopback_server s{[](http::request&&, http::responder) {}};
  http::client c{s.base()};
  auto res = c.send(post("/ignored", ""));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, http::error_kind::connection_dropped);
}

TEST(client, times_out_when_the_server_never_answers) {
  std::mutex mtx;
  std::vector<http::responder> parked;
  {
    loopback_server s{[&](http::request&&, http::responder r) {
      std::lock_guard<std::mutex> guard{mtx};
      parked.push_back(r);
    }};
    http::client_options opts;
    opts.request_timeout = 200ms;
    http::client c{s.base(), opts};
    auto start = std::chrono::steady_clock::now();
    auto res = c.send(post("/never", ""));
    auto took = elapsed_since(start);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, http::error_kind::timeout)
        << res.error().message;
    EXPECT_TRUE(res.error().sent);
    EXPECT_GE(took, 200ms);
    EXPECT_LT(took, 2s);
    EXPECT_TRUE(eventually([&] {
      std::lock_guard<std::mutex> guard{mtx};
      return parked.size() == 1;
    }));
  }
  // Answering after the server is gone is harmless.
  parked.front().send(http::make_json_response(http::status::ok, "{}"));
  EXPECT_TRUE(parked.front().done());
}

TEST(client, gets_413_for_an_oversized_body) {
  http::server_options opts;
  opts.max_body_bytes = 1024;
  std::atomic<int> handled{0};
  loopback_server s{[&](http::request&& req, http::responder r) {
                      ++handled;
                      echo(std::move(req), r);
                    },
                    opts};
  http::client c{s.base()};
  auto res = c.send(post("/big", std::string(64 * 1024, 'x')));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res.value().result(), http::status::payload_too_large);
  EXPECT_EQ(res.value().body(),
            "{\"error\":\"request body exceeds 1024 bytes\"}");
  EXPECT_EQ(handled.load(), 0);
  // A body at the limit is fine, on a new connection.
  auto ok = c.send(post("/fits", std::string(1024, 'y')));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok.value().result(), http::status::ok);
  EXPECT_EQ(handled.load(), 1);
}

TEST(client, serves_concurrent_clients_from_several_threads) {
  std::atomic<int> handled{0};
  loopback_server s{[&](http::request&& req, http::responder r) {
    ++handled;
    echo(std::move(req), r);
  }};
  constexpr int threads = 4;
  constexpr int per_thread = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      http::client c{s.base()};
      for (int i = 0; i < per_thread; ++i) {
        auto body = std::to_string(t) + "/" + std::to_string(i);
        auto res = c.send(post("/c", body));
        if (res && res.value().body() == body) ++good;
      }
    });
  for (auto& t : pool)
    t.join();
  EXPECT_EQ(good.load(), threads * per_thread);
  EXPECT_EQ(handled.load(), threads * per_thread);
  EXPECT_EQ(s.srv->connections_accepted(), static_cast<uint64_t>(threads));
}

TEST(client, skips_an_interim_100_continue) {
  // A raw server that sends "100 Continue" before its real answer.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor{
      ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto port = acceptor.local_endpoint().port();
  std::thread peer{[&] {
    boost::asio::ip::tcp::socket socket{ioc};
    acceptor.accept(socket);
    std::string got;
    char buf[1024];
    boost::system::error_code ec;
    while (got.find("\r\n\r\n") == std::string::npos && !ec)
      got.append(buf, socket.read_some(boost::asio::buffer(buf), ec));
    std::string answer = "HTTP/1.1 100 Continue\r\n\r\n"
                         "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\n"
                         "done";
    boost::asio::write(socket, boost::asio::buffer(answer), ec);
    socket.read_some(boost::asio::buffer(buf), ec); // until the client closes
  }};
  {
    http::client c{
        *http::parse_url("http://127.0.0.1:" + std::to_string(port))};
    auto res = c.send(post("/x", "body"));
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res.value().result(), http::status::created);
    EXPECT_EQ(res.value().body(), "done");
  }
  peer.join();
}

TEST(client, head_response_has_no_body_to_wait_for) {
  loopback_server s{[](http::request&&, http::responder r) {
    r.send(http::make_response(http::status::ok, "hello", "text/plain"));
  }};
  http::client c{s.base()};
  for (int i = 0; i < 2; ++i) {
    auto res = c.send(http::make_request(http::verb::head, "/"));
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res.value()[boost::beast::http::field::content_length], "5");
    EXPECT_EQ(res.value().body(), "");
  }
  EXPECT_EQ(c.connections_opened(), 1u);
}

TEST(client, reports_connect_failed_when_nothing_listens) {
  uint16_t port;
  {
    loopback_server s{echo};
    port = s.port;
  }
  http::client c{*http::parse_url("http://127.0.0.1:" + std::to_string(port))};
  auto res = c.send(post("/x", ""));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, http::error_kind::connect_failed)
      << res.error().message;
  EXPECT_FALSE(res.error().sent);
  EXPECT_NE(res.error().message.find(std::to_string(port)), std::string::npos);
}

TEST(client, connect_timeout_fires_when_the_server_cannot_accept) {
  // A listener that never accepts, with its accept queue filled: Linux drops
  // further SYNs, so a connect hangs until our timeout.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor full{ioc};
  full.open(boost::asio::ip::tcp::v4());
  full.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
  full.listen(0);
  auto port = full.local_endpoint().port();
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> fillers;
  for (int i = 0; i < 4; ++i) {
    fillers.push_back(std::make_unique<boost::asio::ip::tcp::socket>(ioc));
    fillers.back()->open(boost::asio::ip::tcp::v4());
    fillers.back()->native_non_blocking(true);
    // Asio's connect() would wait for completion; start it and move on.
    boost::asio::ip::tcp::endpoint target{
        boost::asio::ip::make_address("127.0.0.1"), port};
    ::connect(fillers.back()->native_handle(), target.data(), target.size());
  }
  http::client_options opts;
  opts.connect_timeout = 200ms;
  http::client c{*http::parse_url("http://127.0.0.1:" + std::to_string(port)),
                 opts};
  auto start = std::chrono::steady_clock::now();
  auto res = c.send(post("/x", ""));
  auto took = elapsed_since(start);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, http::error_kind::timeout) << res.error().message;
  EXPECT_FALSE(res.error().sent);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);
}

TEST(client, reports_tls_error_when_the_server_speaks_plain_http) {
  loopback_server s{echo};
  http::client_options opts;
  opts.connect_timeout = 2s;
  http::client c{
      *http::parse_url("https://127.0.0.1:" + std::to_string(s.port)), opts};
  auto res = c.send(post("/x", ""));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, http::error_kind::tls_error)
      << res.error().message;
  EXPECT_FALSE(res.error().sent);
}

TEST(client, to_string_names_each_kind) {
  EXPECT_EQ(http::to_string(http::error_kind::connection_dropped),
            "connection_dropped");
  EXPECT_EQ(http::to_string(http::error_kind::timeout), "timeout");
}
