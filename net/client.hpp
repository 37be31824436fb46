#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "net/message.hpp"
#include "net/url.hpp"

namespace shelfsync::http {

// -- options ------------------------------------------------------------------

/// How a client connects and how long it waits.
struct client_options {
  /// Limit for name resolution, TCP connect and the TLS handshake together.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds{10};
  /// Limit for writing one request and reading its whole response.
  std::chrono::milliseconds request_timeout = std::chrono::seconds{30};
  /// Largest response body accepted; a larger one is a protocol_error.
  uint64_t max_response_body_bytes = 64 * 1024 * 1024;
  /// Extra PEM file of trusted CAs for https, on top of the system's; empty
  /// for none.
  std::string ca_file;
};

// -- result -------------------------------------------------------------------

/// Why a request got no response.
enum class error_kind {
  /// Name resolution or TCP connect failed (refused, unreachable, unknown).
  connect_failed,
  /// connect_timeout or request_timeout expired; the connection is closed.
  timeout,
  /// The connection closed after the request was (maybe partly) sent and
  /// before a whole response arrived: the server may or may not have acted
  /// on the request.
  connection_dropped,
  /// TLS handshake or certificate verification failed.
  tls_error,
  /// The server's answer was not valid HTTP/1.1 or was too large.
  protocol_error,
};

/// Returns the enumerator's name, e.g. "connection_dropped".
std::string_view to_string(error_kind kind);

/// A failed request: what kind of failure and a sentence for logs.
struct client_error {
  /// The kind of failure, for the caller's retry decision.
  error_kind kind;
  /// What happened, naming the server, e.g. "http://127.0.0.1:9100: no
  /// response within 30000 ms".
  std::string message;
  /// False when no byte of the request left this process, so the server
  /// cannot have acted on it and a retry is always safe. True when the server
  /// may have received and processed (part of) the request.
  bool sent = false;
};

/// The outcome of client::send: a response (any status) or an error.
class result {
 public:
  /// A result holding a response.
  result(response res) : value_{std::move(res)} {}

  /// A result holding an error.
  result(client_error err) : value_{std::move(err)} {}

  /// True when a response arrived, whatever its status code.
  bool ok() const { return std::holds_alternative<response>(value_); }

  /// Same as ok().
  explicit operator bool() const { return ok(); }

  /// The response; requires ok().
  response& value() { return std::get<response>(value_); }

  /// The response; requires ok().
  const response& value() const { return std::get<response>(value_); }

  /// The error; requires !ok().
  const client_error& error() const { return std::get<client_error>(value_); }

 private:
  std::variant<response, client_error> value_;
};

// -- client -------------------------------------------------------------------

/// A blocking HTTP/1.1 client for one base URL that keeps one keep-alive
/// connection. Meant to be owned by one thread (a detached actor): it is not
/// thread-safe, and send() blocks for at most connect_timeout +
/// request_timeout.
///
/// A kept-alive connection that the server has closed while idle is detected
/// before the request is written, and on a write error, and then replaced
/// transparently, once. A connection that closes after the request was
/// written is never retried: that is reported as connection_dropped, because
/// the server may have acted on the request.
class client {
 public:
  /// Creates a client for `base`; connects lazily on the first send().
  explicit client(url base, client_options opts = {});

  /// Closes the connection, if any.
  ~client();

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Moves the connection to a new client object.
  client(client&&) noexcept;

  /// Moves the connection to an existing client object.
  client& operator=(client&&) noexcept;

  /// Sends `req` and waits for the whole response. The target of `req` is
  /// relative to the base URL: base path "/eu-store" and target "/x" request
  /// "/eu-store/x". Host, User-Agent (unless set), Content-Length and
  /// HTTP/1.1 are set here. Interim 1xx answers are skipped. Every status
  /// code, 4xx and 5xx included, is a successful result.
  result send(request req);

  /// Closes the kept-alive connection, if any; the next send() reconnects.
  void close();

  /// Number of TCP connections this client has opened so far.
  uint64_t connections_opened() const;

  /// The base URL requests go to.
  const url& base() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace shelfsync::http
