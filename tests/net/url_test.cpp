#include "net/url.hpp"

#include <gtest/gtest.h>

using shelfsync::http::parse_url;

TEST(url, parses_loopback_with_port_and_prefix) {
  auto u = parse_url("http://127.0.0.1:9100/eu-store");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9100);
  EXPECT_EQ(u->path, "/eu-store");
  EXPECT_FALSE(u->tls());
  EXPECT_EQ(u->host_header(), "127.0.0.1:9100");
  EXPECT_EQ(u->to_string(), "http://127.0.0.1:9100/eu-store");
}

TEST(url, applies_default_ports) {
  auto https = parse_url("https://eu-store.myshopify.com");
  ASSERT_TRUE(https);
  EXPECT_TRUE(https->tls());
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->path, "");
  EXPECT_EQ(https->host_header(), "eu-store.myshopify.com");
  auto http = parse_url("http://localhost/");
  ASSERT_TRUE(http);
  EXPECT_EQ(http->port, 80);
  EXPECT_EQ(http->path, "");
}

TEST(url, normalizes_case_and_trailing_slashes) {
  auto u = parse_url("HTTPS://SellingPartnerAPI-NA.Amazon.com:8443/a/b//");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "sellingpartnerapi-na.amazon.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/a/b");
  EXPECT_EQ(u->host_header(), "sellingpartnerapi-na.amazon.com:8443");
}

TEST(url, rejects_bad_urls_with_a_reason) {
  const char* bad[] = {
      "",
      "127.0.0.1:9100",
      "ftp://example.com",
      "http://",
      "http:///path",
      "http://host:",
      "http://host:0",
      "http://host:65536",
      "http://host:12ab",
      "http://user:pw@host",
      "http://[::1]:8080",
      "http://ho st",
      "http://host/a?b=1",
      "http://host/a#frag",
      "http://host/a b",
  };
  for (const char* text : bad) {
    std::string error;
    EXPECT_FALSE(parse_url(text, &error)) << text;
    EXPECT_NE(error.find("invalid URL"), std::string::npos) << text;
  }
}

TEST(url, error_says_what_is_wrong) {
  std::string error;
  ASSERT_FALSE(parse_url("http://host:99999", &error));
  EXPECT_NE(error.find("99999"), std::string::npos) << error;
  ASSERT_FALSE(parse_url("gopher://host", &error));
  EXPECT_NE(error.find("gopher"), std::string::npos) << error;
  EXPECT_FALSE(parse_url("gopher://host")); // no error sink is fine
}
