#pragma once

// Helpers for tests that run a real server on 127.0.0.1.

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "net/client.hpp"
#include "net/server.hpp"

namespace shelfsync::http::test {

/// A started server on an ephemeral loopback port.
struct loopback_server {
  /// Starts a server with `h` and `opts` (host and port are overridden).
  explicit loopback_server(handler h, server_options opts = {}) {
    opts.host = "127.0.0.1";
    opts.port = 0;
    srv = std::make_unique<server>(opts, std::move(h));
    port = srv->start();
  }

  /// The base URL of the server with an optional path prefix.
  url base(const std::string& path = "") const {
    return *parse_url("http://127.0.0.1:" + std::to_string(port) + path);
  }

  /// The server under test.
  std::unique_ptr<server> srv;
  /// Its bound port.
  uint16_t port = 0;
};

/// A raw blocking TCP connection, for bytes no well-behaved client sends.
struct raw_connection {
  /// Connects to 127.0.0.1:port.
  explicit raw_connection(uint16_t port) : socket{ioc} {
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  }

  /// Writes `bytes` completely.
  void write(const std::string& bytes) {
    boost::asio::write(socket, boost::asio::buffer(bytes));
  }

  /// Reads until the peer closes the connection; returns everything read.
  std::string read_all() {
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
      auto n = socket.read_some(boost::asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) return out;
    }
  }

  /// Reads until `out` contains `needle` or the peer closes.
  std::string read_until(const std::string& needle) {
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    while (out.find(needle) == std::string::npos) {
      auto n = socket.read_some(boost::asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }

  /// Reads and discards until the peer closes the connection; returns how
  /// long that took. Gives up after `limit`, closing the connection itself
  /// (the result is then at least `limit`).
  std::chrono::milliseconds wait_closed(std::chrono::milliseconds limit) {
    auto start = std::chrono::steady_clock::now();
    std::promise<void> closed;
    auto done = closed.get_future();
    std::thread watchdog{[&] {
      if (done.wait_for(limit) == std::future_status::timeout)
        ::shutdown(socket.native_handle(), SHUT_RDWR);
    }};
    read_all();
    closed.set_value();
    watchdog.join();
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
  }

  /// The I/O context of the socket.
  boost::asio::io_context ioc;
  /// The connection.
  boost::asio::ip::tcp::socket socket;
};

} // namespace shelfsync::http::test
