#include "net/message.hpp"


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
  append_json_string(out, text);
  return out;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  size_t plain_from = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text, plain_from, i - plain_from);
    plain_from = i + 1;
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
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  out.append(text, plain_from, text.size() - plain_from);
  out += '"';
}

} // namespace shelfsync::http
