#pragma once

// Internal to the server: one accepted connection and the state all
// connections of a server share. Users include server.hpp only.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include "net/server.hpp"

namespace shelfsync::http::detail {

/// What a server and all its sessions share. Sessions hold it by shared_ptr
/// so that the io_context outlives every socket, even one kept alive by a
/// responder after the server object is gone.
struct server_core {
  /// Creates the shared state; `threads` is a concurrency hint.
  server_core(server_options o, handler h);

  /// The server's options.
  const server_options opts;
  /// The user's request handler.
  const handler on_request;
  /// Runs every socket, timer and handler of the server.
  boost::asio::io_context ioc;
  /// Keeps the I/O threads running while connections wait for answers.
  std::optional<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work;
  /// Accepts connections.
  boost::asio::ip::tcp::acceptor acceptor;
  /// Number of connections accepted so far.
  std::atomic<uint64_t> accepted{0};

  /// Guards the fields below.
  mutable std::mutex mtx;
  /// Signalled when a session unregisters.
  std::condition_variable session_closed;
  /// False once stop() began: new connections are refused.
  bool accepting = true;
  /// False once stop() is about to join the I/O threads: posts are dropped.
  bool running = true;
  /// Open connections by id.
  std::unordered_map<uint64_t, std::weak_ptr<session>> sessions;
  /// The id the next session gets.
  uint64_t next_id = 0;

  /// Posts `f` to `ex` unless the server has stopped; returns whether it did.
  template<class Executor, class F>
  bool post(const Executor& ex, F&& f) {
    std::lock_guard<std::mutex> guard{mtx};
    if (!running) return false;
    boost::asio::post(ex, std::forward<F>(f));
    return true;
  }

  /// Removes a session from the registry and wakes a waiting stop().
  void unregister(uint64_t id);
};

/// The shared answer of all copies of one responder.
struct reply_slot {
  /// A slot for the request `owner` is handling.
  explicit reply_slot(std::shared_ptr<session> s) : owner{std::move(s)} {}

  /// The connection the request came from.
  std::shared_ptr<session> owner;
  /// Set by the first send() or drop().
  std::atomic<bool> used{false};
  /// See responder::on_answer.
  std::function<void(unsigned)> on_answer;

  /// Closes the connection if nobody answered.
  ~reply_slot();
};

/// One accepted connection. Every member function except the public entry
/// points runs on the connection's strand.
class session : public std::enable_shared_from_this<session> {
 public:
  /// Takes over an accepted socket, whose executor is a strand.
  session(std::shared_ptr<server_core> core,
          boost::asio::ip::tcp::socket socket, uint64_t id);

  /// Unregisters, if close() did not.
  ~session();

  /// Starts waiting for the first request; call once, after registering.
  void start();

  /// Answers the request being handled; any thread.
  void reply(response res);

  /// Closes the connection instead of answering; any thread.
  void drop();

  /// Closes now if idle, else after the current answer; any thread.
  void stop();

  /// Closes now, whatever the state; any thread.
  void force_close();

  /// The client's address, "ip:port".
  const std::string& peer() const { return peer_; }

 private:
  enum class phase { idle, reading, handling, writing, lingering, closed };

  void wait_for_request();
  void read_header();
  void on_header(boost::system::error_code ec);
  void read_body();
  void on_body(boost::system::error_code ec);
  void on_read_error(boost::system::error_code ec);
  void dispatch();
  void watch_peer();
  void write(response res);
  void on_write(boost::system::error_code ec, bool keep_alive);
  void reject(status code, const std::string& message);
  void linger_close();
  void drain();
  void close();

  std::shared_ptr<server_core> core_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<
      boost::beast::http::request_parser<boost::beast::http::string_body>>
      parser_;
  std::optional<response> out_;
  std::string peer_;
  uint64_t id_;
  phase phase_ = phase::idle;
  unsigned version_ = 11;
  bool request_keep_alive_ = true;
  bool head_request_ = false;
  bool stopping_ = false;
};

} // namespace shelfsync::http::detail
