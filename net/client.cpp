#include "net/client.hpp"

#include <poll.h>

#include <optional>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace shelfsync::http {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

std::string_view to_string(error_kind kind) {
  switch (kind) {
  case error_kind::connect_failed:
    return "connect_failed";
  case error_kind::timeout:
    return "timeout";
  case error_kind::connection_dropped:
    return "connection_dropped";
  case error_kind::tls_error:
    return "tls_error";
  case error_kind::protocol_error:
    return "protocol_error";
  }
  return "unknown";
}

namespace {

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

bool is_ip_address(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

/// True for errors that mean the peer closed or reset the connection.
bool is_connection_loss(const error_code& ec) {
  return ec == bhttp::error::end_of_stream ||
         ec == bhttp::error::partial_message || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted ||
         ec == ssl::error::stream_truncated;
}

} // namespace

// -- implementation state -----------------------------------------------------

struct client::impl {
  url base;
  client_options opts;
  net::io_context ioc{1};
  std::optional<ssl::context> tls_ctx;
  std::string tls_ctx_error;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<tls_stream> tls;
  beast::flat_buffer buffer;
  uint64_t opened = 0;

  impl(url u, client_options o) : base{std::move(u)}, opts{std::move(o)} {
    // Building an OpenSSL context and its CA store costs milliseconds, so
    // plain-HTTP clients never make one.
    if (!base.tls()) return;
    tls_ctx.emplace(ssl::context::tls_client);
    error_code ec;
    tls_ctx->set_default_verify_paths(ec);
    if (!ec && !opts.ca_file.empty())
      tls_ctx->load_verify_file(opts.ca_file, ec);
    if (ec)
      tls_ctx_error = "cannot load trusted CA certificates: " + ec.message();
  }

  bool connected() const { return plain || tls; }

  beast::tcp_stream& tcp_layer() {
    return tls ? beast::get_lowest_layer(*tls) : *plain;
  }

  /// Runs the operation `start` begins on our io_context until it completes
  /// and returns its error code.
  template<class Start>
  error_code run(Start&& start) {
    error_code result;
    start([&result](error_code ec, auto&&...) {
      result = ec;
    });
    ioc.restart();
    ioc.run();
    return result;
  }

  client_error fail(error_kind kind, const std::string& what, bool sent) const {
    return client_error{kind, base.to_string() + ": " + what, sent};
  }

  void close() {
    if (connected()) {
      error_code ignored;
      tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
      tcp_layer().socket().close(ignored);
    }
    plain.reset();
    tls.reset();
    buffer.clear();
  }

  /// True when the idle connection can carry a request: the server has
  /// neither closed it nor sent anything unasked.
  bool still_usable() {
    if (buffer.size() != 0) return false;
    auto& sock = tcp_layer().socket();
    if (!sock.is_open()) return false;
    pollfd pfd{sock.native_handle(), POLLIN, 0};
    return ::poll(&pfd, 1, 0) == 0;
  }

  // -- connecting -------------------------------------------------------------

  std::optional<client_error> resolve(clock_type::time_point deadline,
                                      std::vector<tcp::endpoint>& endpoints) {
    error_code ec;
    auto address = net::ip::make_address(base.host, ec);
    if (!ec) {
      endpoints.emplace_back(address, base.port);
      return std::nullopt;
    }
    tcp::resolver resolver{ioc};
    net::steady_timer timer{ioc};
    bool timed_out = false;
    timer.expires_at(deadline);
    timer.async_wait([&](error_code e) {
      if (!e) {
        timed_out = true;
        resolver.cancel();
      }
    });
    resolver.async_resolve(
        base.host, std::to_string(base.port),
        [&](error_code e, const tcp::resolver::results_type& found) {
          ec = e;
          for (const auto& entry : found)
            endpoints.push_back(entry.endpoint());
          timer.cancel();
        });
    ioc.restart();
    ioc.run();
    if (timed_out)
      return fail(error_kind::timeout,
                  "name resolution took longer than " +
                      std::to_string(opts.connect_timeout.count()) + " ms",
                  false);
    if (ec || endpoints.empty())
      return fail(error_kind::connect_failed,
                  "cannot resolve host \"" + base.host + "\": " + ec.message(),
                  false);
    return std::nullopt;
  }

  std::optional<client_error> connect() {
    auto deadline = clock_type::now() + opts.connect_timeout;
    std::vector<tcp::endpoint> endpoints;
    if (auto err = resolve(deadline, endpoints)) return err;
    if (base.tls() && !tls_ctx_error.empty())
      return fail(error_kind::tls_error, tls_ctx_error, false);
    if (base.tls())
      tls = std::make_unique<tls_stream>(ioc, *tls_ctx);
    else
      plain = std::make_unique<beast::tcp_stream>(ioc);
    auto& layer = tcp_layer();
    layer.expires_at(deadline);
    auto ec = run([&](auto handler) {
      layer.async_connect(endpoints, std::move(handler));
    });
    if (ec) {
      close();
      auto what = ec == beast::error::timeout
                      ? "connect took longer than " +
                            std::to_string(opts.connect_timeout.count()) + " ms"
                      : "cannot connect: " + ec.message();
      return fail(ec == beast::error::timeout ? error_kind::timeout
                                              : error_kind::connect_failed,
                  what, false);
    }
    ++opened;
    if (tls) {
      if (auto err = handshake(deadline)) {
        close();
        return err;
      }
    }
    layer.expires_never();
    return std::nullopt;
  }

  std::optional<client_error> handshake(clock_type::time_point deadline) {
    // SNI must name a host; RFC 6066 forbids IP literals there.
    if (!is_ip_address(base.host) &&
        !SSL_set_tlsext_host_name(tls->native_handle(), base.host.c_str()))
      return fail(error_kind::tls_error, "cannot set the TLS server name",
                  false);
    tls->set_verify_mode(ssl::verify_peer);
    tls->set_verify_callback(ssl::host_name_verification(base.host));
    beast::get_lowest_layer(*tls).expires_at(deadline);
    auto ec = run([&](auto handler) {
      tls->async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (!ec) return std::nullopt;
    if (ec == beast::error::timeout)
      return fail(error_kind::timeout,
                  "TLS handshake took longer than " +
                      std::to_string(opts.connect_timeout.count()) + " ms",
                  false);
    std::string what = "TLS handshake failed: " + ec.message();
    auto verify = SSL_get_verify_result(tls->native_handle());
    if (verify != X509_V_OK)
      what += std::string{" (certificate: "} +
              X509_verify_cert_error_string(verify) + ")";
    return fail(error_kind::tls_error, what, false);
  }

  // -- one exchange -----------------------------------------------------------

  void prepare(request& req) const {
    std::string target{req.target()};
    if (target.empty() || target.front() != '/') target.insert(0, 1, '/');
    if (!base.path.empty())
      target = target == "/" ? base.path : base.path + target;
    req.target(target);
    req.version(11);
    req.set(bhttp::field::host, base.host_header());
    if (req.find(bhttp::field::user_agent) == req.end())
      req.set(bhttp::field::user_agent, std::string{user_agent});
    req.prepare_payload();
  }

  error_code write(request& req, clock_type::time_point deadline) {
    tcp_layer().expires_at(deadline);
    return run([&](auto handler) {
      if (tls)
        bhttp::async_write(*tls, req, std::move(handler));
      else
        bhttp::async_write(*plain, req, std::move(handler));
    });
  }

  error_code read(bhttp::response_parser<bhttp::string_body>& parser,
                  clock_type::time_point deadline) {
    tcp_layer().expires_at(deadline);
    return run([&](auto handler) {
      if (tls)
        bhttp::async_read(*tls, buffer, parser, std::move(handler));
      else
        bhttp::async_read(*plain, buffer, parser, std::move(handler));
    });
  }

  client_error timed_out() const {
    return fail(error_kind::timeout,
                "no complete response within " +
                    std::to_string(opts.request_timeout.count()) + " ms",
                true);
  }

  client_error read_failed(error_code ec, bool got_some) {
    close();
    if (ec == beast::error::timeout) return timed_out();
    if (is_connection_loss(ec))
      return fail(error_kind::connection_dropped,
                  got_some ? "connection closed in the middle of the response"
                           : "connection closed before any response",
                  true);
    if (ec.category() ==
            bhttp::make_error_code(bhttp::error::end_of_stream).category() ||
        ec == bhttp::error::body_limit)
      return fail(error_kind::protocol_error,
                  "invalid HTTP response: " + ec.message(), true);
    return fail(error_kind::connection_dropped,
                "error reading the response: " + ec.message(), true);
  }

  result send(request req) {
    prepare(req);
    bool reused = false;
    if (connected()) {
      if (still_usable())
        reused = true;
      else
        close();
    }
    if (!connected())
      if (auto err = connect()) return *err;
    auto deadline = clock_type::now() + opts.request_timeout;
    auto ec = write(req, deadline);
    if (ec && reused && is_connection_loss(ec)) {
      // The server closed the idle connection just before our write; it
      // cannot have read a request it never accepted, so one retry is safe.
      close();
      if (auto err = connect()) return *err;
      ec = write(req, deadline);
    }
    if (ec) {
      close();
      if (ec == beast::error::timeout) return timed_out();
      return fail(error_kind::connection_dropped,
                  "connection lost while sending the request: " + ec.message(),
                  true);
    }
    // Interim 1xx answers (other than 101) precede the real one; skip them.
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    do {
      parser.emplace();
      parser->body_limit(opts.max_response_body_bytes);
      parser->header_limit(64 * 1024);
      if (req.method() == bhttp::verb::head) parser->skip(true);
      ec = read(*parser, deadline);
      if (ec) return read_failed(ec, parser->got_some());
    } while (parser->get().result_int() / 100 == 1 &&
             parser->get().result() != bhttp::status::switching_protocols);
    tcp_layer().expires_never();
    auto res = parser->release();
    if (!res.keep_alive() || buffer.size() != 0) close();
    return res;
  }
};

// -- client -------------------------------------------------------------------

client::client(url base, client_options opts)
    : impl_{std::make_unique<impl>(std::move(base), std::move(opts))} {}

client::~client() {
  if (impl_) impl_->close();
}

client::client(client&&) noexcept = default;

client& client::operator=(client&&) noexcept = default;

result client::send(request req) { return impl_->send(std::move(req)); }

void client::close() { impl_->close(); }

uint64_t client::connections_opened() const { return impl_->opened; }

const url& client::base() const { return impl_->base; }

} // namespace shelfsync::http
