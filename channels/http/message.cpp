#include "channels/http/message.hpp"

#include <cstdio>

#include <boost/beast/http/field.hpp>

namespace shelfsync::http {

namespace beast_http = boost::beast::http;

request make_request(verb method, std::string target, std::string body,
                     std::string_view content_type) {
  request req{method, target, 11};
  if (!content_type.empty())
    req.set(
        beast_http::field::content_type,
        boost::beast::string_view{content_type.data(), content_type.size()});
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

request make_json_request(verb method, std::string target, std::string body) {
  return make_request(method, std::move(target), std::move(body),
                      "application/json");
}

response make_response(status code, std::string body,
                       std::string_view content_type, bool keep_alive) {
  response res{code, 11};
  res.set(beast_http::field::content_type,
          boost::beast::string_view{content_type.data(), content_type.size()});
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response make_json_response(status code, std::string body, bool keep_alive) {
  return make_response(code, std::move(body), "application/json", keep_alive);
}

response make_json_error(status code, std::string_view message,
                         bool keep_alive) {
  return make_json_response(code, "{\"error\":" + json_quote(message) + "}",
                            keep_alive);
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x",
                      static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += buf;
      } else {
        out += c;
      }
    }
  }
  out += '"';
  return out;
}

} // namespace shelfsync::http
