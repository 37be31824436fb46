#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/message.hpp"

namespace shelfsync::http {

namespace detail {
struct server_core;
struct reply_slot;
class session;
} // namespace detail

// -- options ------------------------------------------------------------------

/// Where a server listens and how it treats its connections.
struct server_options {
  /// Address to bind: an IPv4/IPv6 literal or a name that resolves to one.
  std::string host = "127.0.0.1";
  /// Port to bind; 0 lets the system pick a free one (see server::start).
  uint16_t port = 0;
  /// Number of I/O threads; handlers run on them.
  unsigned threads = 2;
  /// Largest request body accepted; a larger one gets 413 and the handler is
  /// not called.
  uint64_t max_body_bytes = 16 * 1024 * 1024;
  /// Limit for receiving one whole request once its first byte arrived, and
  /// for writing one response.
  std::chrono::milliseconds read_timeout = std::chrono::seconds{30};
  /// How long a kept-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds{60};
  /// How long stop() waits for requests in progress before closing their
  /// connections.
  std::chrono::milliseconds stop_timeout = std::chrono::seconds{10};
};

// -- responder ----------------------------------------------------------------

/// The way to answer one request, later and from any thread. Copies share
/// one answer: only the first send() or drop() on any copy has an effect.
/// When the last copy is destroyed without either, the connection is closed
/// as by drop().
class responder {
 public:
  /// An empty responder: send() and drop() do nothing, done() is true.
  responder() = default;

  /// Sends `res` as the answer. HTTP version, Content-Length (when the
  /// response sets neither Content-Length nor chunked encoding) and
  /// Connection are filled in; the connection is kept alive unless the
  /// request, the response or a stopping server says otherwise.
  void send(response res) const;

  /// Closes the connection without answering, as a crashed server would.
  void drop() const;

  /// True once send() or drop() was called on any copy.
  bool done() const;

  /// The client's address, e.g. "127.0.0.1:51234"; empty for an empty
  /// responder.
  const std::string& peer() const;

  /// Calls `f` with the status of the answer just before it is sent, or
  /// with 0 when the connection is dropped instead (e.g. for an access
  /// log). Set it before handing out copies; only one is kept.
  void on_answer(std::function<void(unsigned status)> f) const;

 private:
  friend class detail::session;
  explicit responder(std::shared_ptr<detail::reply_slot> slot);
  std::shared_ptr<detail::reply_slot> slot_;
};

/// Called on an I/O thread with each complete request. Must not block: keep
/// the responder and answer later if the answer takes time. An exception
/// escaping the handler becomes a 500 answer, unless it already answered.
/// While an answer is pending the server watches the socket: a client that
/// disconnects (or half-closes) gets its connection closed, and the later
/// answer is discarded. A body sent in answer to HEAD is not transmitted;
/// its length is announced.
using handler = std::function<void(request&& req, responder r)>;

// -- server -------------------------------------------------------------------

/// An asynchronous HTTP/1.1 server: keep-alive, one request at a time per
/// connection (pipelined requests wait their turn), body size limit, read
/// and idle timeouts, 400 for malformed requests, and a graceful stop.
class server {
 public:
  /// Prepares a server; nothing is bound before start().
  server(server_options opts, handler h);

  /// Stops the server (see stop()).
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, listens and starts the I/O threads; returns the bound port.
  /// Throws std::runtime_error saying which address could not be bound and
  /// why. Calling it twice is an error (std::logic_error).
  uint16_t start();

  /// Stops accepting, closes idle connections, lets requests in progress be
  /// answered for up to stop_timeout, closes what is left and joins the I/O
  /// threads. Answers given after stop() returns are discarded. Idempotent.
  /// Must not be called from a handler (it joins the handler's thread).
  void stop();

  /// The bound port; 0 before start().
  uint16_t port() const;

  /// Number of TCP connections accepted since start().
  uint64_t connections_accepted() const;

  /// Number of connections open right now.
  size_t open_connections() const;

 private:
  std::shared_ptr<detail::server_core> core_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

} // namespace shelfsync::http
