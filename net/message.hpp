#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

namespace shelfsync::http {

/// An HTTP/1.1 request with its whole body in memory.
using request = boost::beast::http::request<boost::beast::http::string_body>;

/// An HTTP/1.1 response with its whole body in memory.
using response = boost::beast::http::response<boost::beast::http::string_body>;

/// Status codes, so that users need not spell out the Beast namespace.
using status = boost::beast::http::status;

/// Request methods, so that users need not spell out the Beast namespace.
using verb = boost::beast::http::verb;

/// The User-Agent the client sends unless a request sets its own.
inline constexpr std::string_view user_agent = "shelfsync/0.1";

/// Builds a request for `target` (relative to a client's base path) with an
/// optional body; Content-Type is set only when `content_type` is non-empty.
request make_request(verb method, std::string target, std::string body = {},
                     std::string_view content_type = {});

/// Builds a request whose body is the JSON document `body`.
request make_json_request(verb method, std::string target, std::string body);

/// Builds a response with the given body and Content-Type; Content-Length is
/// set.
response make_response(status code, std::string body,
                       std::string_view content_type, bool keep_alive = true);

/// Builds a response whose body is the JSON document `body`.
response make_json_response(status code, std::string body,
                            bool keep_alive = true);

/// Builds the JSON error response `{"error": message}`; `message` is escaped.
response make_json_error(status code, std::string_view message,
                         bool keep_alive = true);

/// Returns `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

/// Appends `text` to `out` as a JSON string literal, quotes included; runs
/// that need no escaping are copied at once (the feed builder's hot path).
void append_json_string(std::string& out, std::string_view text);

} // namespace shelfsync::http
