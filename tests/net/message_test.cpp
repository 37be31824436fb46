#include "net/message.hpp"

#include <gtest/gtest.h>

namespace http = shelfsync::http;

TEST(message, json_quote_escapes_specials) {
  EXPECT_EQ(http::json_quote("plain"), "\"plain\"");
  EXPECT_EQ(http::json_quote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
}

TEST(message, json_error_has_body_type_and_length) {
  auto res = http::make_json_error(http::status::payload_too_large,
                                   "too \"big\"", false);
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_EQ(res.body(), "{\"error\":\"too \\\"big\\\"\"}");
  EXPECT_EQ(res[boost::beast::http::field::content_type], "application/json");
  EXPECT_EQ(res[boost::beast::http::field::content_length],
            std::to_string(res.body().size()));
  EXPECT_FALSE(res.keep_alive());
}

TEST(message, json_request_sets_method_target_and_body) {
  auto req = http::make_json_request(http::verb::post, "/graphql", "{}");
  EXPECT_EQ(req.method(), http::verb::post);
  EXPECT_EQ(req.target(), "/graphql");
  EXPECT_EQ(req.body(), "{}");
  EXPECT_EQ(req[boost::beast::http::field::content_type], "application/json");
  EXPECT_EQ(req[boost::beast::http::field::content_length], "2");
}
