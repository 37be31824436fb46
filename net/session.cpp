#include "net/session.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace shelfsync::http::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

/// Largest request header block accepted.
constexpr uint32_t max_header_bytes = 64 * 1024;

/// How long a closing connection keeps reading (and discarding) what the
/// client still sends, so that the kernel does not answer it with a reset
/// that would destroy our last response before the client reads it.
constexpr std::chrono::milliseconds max_linger{5000};

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

bool is_connection_loss(const error_code& ec) {
  return ec == bhttp::error::end_of_stream ||
         ec == bhttp::error::partial_message || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted ||
         ec == net::error::operation_aborted;
}

bool is_http_error(const error_code& ec) {
  return ec.category() ==
         bhttp::make_error_code(bhttp::error::end_of_stream).category();
}

std::string describe(const net::ip::tcp::socket& socket) {
  error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

} // namespace

// -- server_core --------------------------------------------------------------

server_core::server_core(server_options o, handler h)
    : opts{std::move(o)}, on_request{std::move(h)},
      ioc{static_cast<int>(std::max(1u, opts.threads))}, acceptor{
                                                             net::make_strand(
                                                                 ioc)} {}

void server_core::unregister(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx};
  if (sessions.erase(id) > 0) session_closed.notify_all();
}

// -- reply_slot and responder -------------------------------------------------

reply_slot::~reply_slot() {
  if (owner && !used.exchange(true)) {
    if (on_answer) on_answer(0);
    owner->drop();
  }
}

} // namespace shelfsync::http::detail

namespace shelfsync::http {

responder::responder(std::shared_ptr<detail::reply_slot> slot)
    : slot_{std::move(slot)} {}

void responder::send(response res) const {
  if (slot_ && !slot_->used.exchange(true)) {
    if (slot_->on_answer) slot_->on_answer(res.result_int());
    slot_->owner->reply(std::move(res));
  }
}

void responder::drop() const {
  if (slot_ && !slot_->used.exchange(true)) {
    if (slot_->on_answer) slot_->on_answer(0);
    slot_->owner->drop();
  }
}

void responder::on_answer(std::function<void(unsigned)> f) const {
  if (slot_) slot_->on_answer = std::move(f);
}

bool responder::done() const { return !slot_ || slot_->used.load(); }

const std::string& responder::peer() const {
  static const std::string none;
  return slot_ ? slot_->owner->peer() : none;
}

} // namespace shelfsync::http

namespace shelfsync::http::detail {

// -- session: entry points from any thread ------------------------------------

session::session(std::shared_ptr<server_core> core, net::ip::tcp::socket socket,
                 uint64_t id)
    : core_{std::move(core)}, stream_{std::move(socket)},
      peer_{describe(stream_.socket())}, id_{id} {}

session::~session() { core_->unregister(id_); }

void session::start() {
  core_->post(stream_.get_executor(), [self = shared_from_this()] {
    self->wait_for_request();
  });
}

void session::reply(response res) {
  core_->post(stream_.get_executor(),
              [self = shared_from_this(), res = std::move(res)]() mutable {
                self->write(std::move(res));
              });
}

void session::drop() {
  core_->post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->phase_ == phase::handling) self->close();
  });
}

void session::stop() {
  core_->post(stream_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    if (self->phase_ == phase::idle || self->phase_ == phase::lingering)
      self->close();
  });
}

void session::force_close() {
  core_->post(stream_.get_executor(), [self = shared_from_this()] {
    self->close();
  });
}

// -- session: reading a request -----------------------------------------------

void session::wait_for_request() {
  phase_ = phase::idle;
  if (stopping_) {
    close();
    return;
  }
  if (buffer_.size() > 0) {
    read_header(); // a pipelined request is already here
    return;
  }
  // Wait for the first byte under the idle timeout; the read timeout starts
  // once a request has begun.
  stream_.expires_after(core_->opts.idle_timeout);
  stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](
                                                     error_code ec, size_t n) {
    if (self->phase_ == phase::closed) return;
    if (ec) {
      self->close(); // idle timeout, or the client went away
      return;
    }
    self->buffer_.commit(n);
    self->read_header();
  });
}

void session::read_header() {
  phase_ = phase::reading;
  parser_.emplace();
  parser_->body_limit(core_->opts.max_body_bytes);
  parser_->header_limit(max_header_bytes);
  stream_.expires_after(core_->opts.read_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](error_code ec, size_t) {
                             self->on_header(ec);
                           });
}

void session::on_header(error_code ec) {
  if (phase_ == phase::closed) return;
  if (ec) {
    on_read_error(ec);
    return;
  }
  if (parser_->is_done()) {
    dispatch();
    return;
  }
  auto expect = parser_->get()[bhttp::field::expect];
  if (beast::iequals(expect, "100-continue")) {
    net::async_write(stream_, net::buffer(continue_line),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (self->phase_ == phase::closed) return;
                       if (ec)
                         self->close();
                       else
                         self->read_body();
                     });
    return;
  }
  read_body();
}

void session::read_body() {
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](error_code ec, size_t) {
                      self->on_body(ec);
                    });
}

void session::on_body(error_code ec) {
  if (phase_ == phase::closed) return;
  if (ec)
    on_read_error(ec);
  else
    dispatch();
}

void session::on_read_error(error_code ec) {
  if (ec == bhttp::error::body_limit)
    reject(status::payload_too_large,
           "request body exceeds " +
               std::to_string(core_->opts.max_body_bytes) + " bytes");
  else if (ec == bhttp::error::header_limit)
    reject(status::request_header_fields_too_large,
           "request header exceeds " + std::to_string(max_header_bytes) +
               " bytes");
  else if (!is_connection_loss(ec) && is_http_error(ec))
    reject(status::bad_request, "malformed HTTP request: " + ec.message());
  else
    close(); // timeout or the client went away: nobody to answer
}

// -- session: handling and answering ------------------------------------------

void session::dispatch() {
  phase_ = phase::handling;
  stream_.expires_never();
  auto req = parser_->release();
  parser_.reset();
  version_ = req.version();
  request_keep_alive_ = req.keep_alive();
  head_request_ = req.method() == bhttp::verb::head;
  responder r{std::make_shared<reply_slot>(shared_from_this())};
  try {
    core_->on_request(std::move(req), r);
  } catch (...) {
    // Never let a handler's exception unwind into the I/O loop.
    r.send(make_json_error(status::internal_server_error,
                           "internal error while handling the request"));
  }
  watch_peer();
}

void session::watch_peer() {
  // While an answer is pending nothing reads the socket, so a client that
  // gives up would go unnoticed and hold the connection (and a graceful
  // stop) until the answer comes. Watching for EOF closes it at once.
  stream_.socket().async_wait(
      net::ip::tcp::socket::wait_read,
      [self = shared_from_this()](error_code ec) {
        if (ec || self->phase_ != phase::handling) return;
        char byte;
        auto n = ::recv(self->stream_.socket().native_handle(), &byte, 1,
                        MSG_PEEK | MSG_DONTWAIT);
        bool gone = n == 0 || (n < 0 && errno != EAGAIN &&
                               errno != EWOULDBLOCK && errno != EINTR);
        // Bytes of a pipelined request stay queued for after the answer.
        if (gone) self->close();
      });
}

void session::write(response res) {
  if (phase_ != phase::handling) return; // dropped or closed meanwhile
  phase_ = phase::writing;
  bool keep_alive = request_keep_alive_ && res.keep_alive() && !stopping_;
  res.version(version_);
  if (!res.has_content_length() && !res.chunked()) res.prepare_payload();
  // An answer to HEAD announces the length but carries no body.
  if (head_request_) res.body().clear();
  res.keep_alive(keep_alive);
  out_.emplace(std::move(res));
  stream_.expires_after(core_->opts.read_timeout);
  bhttp::async_write(
      stream_, *out_,
      [self = shared_from_this(), keep_alive](error_code ec, size_t) {
        self->on_write(ec, keep_alive);
      });
}

void session::on_write(error_code ec, bool keep_alive) {
  out_.reset();
  if (phase_ == phase::closed) return;
  if (ec)
    close();
  else if (!keep_alive)
    linger_close();
  else
    wait_for_request();
}

void session::reject(status code, const std::string& message) {
  // The rest of the request cannot be parsed, so the connection ends here.
  phase_ = phase::handling;
  version_ = 11;
  request_keep_alive_ = false;
  head_request_ = false;
  parser_.reset();
  write(make_json_error(code, message, false));
}

// -- session: closing ---------------------------------------------------------

void session::linger_close() {
  phase_ = phase::lingering;
  if (stopping_) {
    close();
    return;
  }
  error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::min(core_->opts.read_timeout, max_linger));
  drain();
}

void session::drain() {
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(64 * 1024),
                          [self = shared_from_this()](error_code ec, size_t) {
                            if (self->phase_ == phase::closed) return;
                            if (ec)
                              self->close();
                            else
                              self->drain();
                          });
}

void session::close() {
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
  buffer_.clear();
  core_->unregister(id_);
}

} // namespace shelfsync::http::detail
