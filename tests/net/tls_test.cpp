// The client's HTTPS path against a local TLS server whose certificate is
// made here: trust via ca_file, SNI, host-name checking, keep-alive.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include "net/client.hpp"

namespace http = shelfsync::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_deleter {
  void operator()(X509* p) const { X509_free(p); }
};

/// A self-signed certificate for the name "localhost" only.
struct test_certificate {
  test_certificate() {
    key.reset(EVP_EC_gen("P-256"));
    cert.reset(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    auto* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(
        name, "CN", MBSTRING_ASC,
        reinterpret_cast<const unsigned char*>("shelfsync test"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost"},
                              std::pair{NID_basic_constraints, "CA:TRUE"}}) {
      auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(cert.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(cert.get(), key.get(), EVP_sha256());
    char path[] = "/tmp/shelfsync-http-ca-XXXXXX";
    int fd = mkstemp(path);
    ca_file = path;
    FILE* out = fdopen(fd, "w");
    PEM_write_X509(out, cert.get());
    fclose(out);
  }

  ~test_certificate() { std::remove(ca_file.c_str()); }

  std::unique_ptr<EVP_PKEY, pkey_deleter> key;
  std::unique_ptr<X509, x509_deleter> cert;
  std::string ca_file;
};

/// A one-thread TLS server answering each request with the SNI name it saw.
class tls_echo_server {
 public:
  explicit tls_echo_server(const test_certificate& c)
      : ctx_{ssl::context::tls_server}, acceptor_{ioc_} {
    SSL_CTX_use_certificate(ctx_.native_handle(), c.cert.get());
    SSL_CTX_use_PrivateKey(ctx_.native_handle(), c.key.get());
    acceptor_.open(tcp::v4());
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port = acceptor_.local_endpoint().port();
    thread_ = std::thread{[this] {
      serve();
    }};
  }

  ~tls_echo_server() {
    stopping_ = true;
    tcp::socket wake{ioc_};
    boost::system::error_code ec;
    wake.connect({net::ip::make_address("127.0.0.1"), port}, ec);
    thread_.join();
  }

  uint16_t port = 0;
  std::atomic<int> connections{0};

 private:
  void serve() {
    for (;;) {
      tcp::socket socket{ioc_};
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (ec) continue;
      ++connections;
      boost::beast::ssl_stream<tcp::socket> stream{std::move(socket), ctx_};
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) continue;
      const char* sni =
          SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
      boost::beast::flat_buffer buffer;
      for (;;) {
        bhttp::request<bhttp::string_body> req;
        bhttp::read(stream, buffer, req, ec);
        if (ec) break;
        bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
        res.body() = std::string{"sni="} + (sni ? sni : "") +
                     " target=" + std::string{req.target()};
        res.prepare_payload();
        bhttp::write(stream, res, ec);
        if (ec) break;
      }
    }
  }

  net::io_context ioc_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

http::url at(const std::string& host, uint16_t port) {
  return *http::parse_url("https://" + host + ":" + std::to_string(port));
}

} // namespace

TEST(tls, trusted_certificate_with_matching_name_works_and_keeps_alive) {
  test_certificate cert;
  tls_echo_server server{cert};
  http::client_options opts;
  opts.ca_file = cert.ca_file;
  http::client c{at("localhost", server.port), opts};
  for (int i = 0; i < 3; ++i) {
    auto res = c.send(http::make_request(http::verb::get, "/x"));
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res.value().body(), "sni=localhost target=/x");
  }
  EXPECT_EQ(c.connections_opened(), 1u);
}

TEST(tls, untrusted_certificate_is_a_tls_error) {
  test_certificate cert;
  tls_echo_server server{cert};
  http::client c{at("localhost", server.port)};
  auto res = c.send(http::make_request(http::verb::get, "/x"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, http::error_kind::tls_error);
  EXPECT_FALSE(res.error().sent);
  EXPECT_NE(res.error().message.find("certificate"), std::string::npos)
      << res.error().message;
}

TEST(tls, certificate_for_another_name_is_a_tls_error) {
  test_certificate cert;
  tls_echo_server server{cert};
  http::client_options opts;
  opts.ca_file = cert.ca_file;
  // The certificate names "localhost", not the address 127.0.0.1.
  http::client c{at("127.0.0.1", server.port), opts};
  auto res = c.send(http::make_request(http::verb::get, "/x"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, http::error_kind::tls_error)
      << res.error().message;
}

TEST(tls, unreadable_ca_file_is_a_tls_error) {
  http::client_options opts;
  opts.ca_file = "/nonexistent/ca.pem";
  http::client c{at("localhost", 1), opts};
  auto res = c.send(http::make_request(http::verb::get, "/x"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, http::error_kind::tls_error);
  EXPECT_NE(res.error().message.find("CA"), std::string::npos)
      << res.error().message;
}
