#include "config/json_syntax.hpp"

#include <cstdio>

namespace shelfsync {

namespace {

/// Length of the valid UTF-8 sequence at `i`, or 0 (RFC 3629: no overlong
/// forms, no surrogates, nothing above U+10FFFF).
size_t valid_sequence(const std::string& s, size_t i) {
  auto byte = [&](size_t k) {
    return static_cast<unsigned char>(s[k]);
  };
  auto c = byte(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  return n;
}

} // namespace

std::string escape_invalid_utf8(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (auto n = valid_sequence(text, i); n > 0) {
      out.append(text, i, n);
      i += n;
      continue;
    }
    char hex[5];
    std::snprintf(hex, sizeof(hex), "\\x%02X",
                  static_cast<unsigned char>(text[i]));
    out += hex;
    ++i;
  }
  return out;
}

namespace {

/// A SAX handler that only records the parser's first error, with its
/// position (the DOM parser rethrows the error and drops the position).
struct first_error : nlohmann::json_sax<nlohmann::json> {
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    // nlohmann counts the byte it stopped at from 1.
    error.offset = position > 0 ? position - 1 : 0;
    error.detail = e.what();
    found = true;
    return false;
  }

  json_syntax_error error;
  bool found = false;
};

} // namespace

json_syntax_error locate_syntax_error(std::string_view text, bool comments) {
  first_error handler;
  nlohmann::json::sax_parse(text.begin(), text.end(), &handler,
                            nlohmann::json::input_format_t::json, true,
                            comments);
  auto& detail = handler.error.detail;
  if (!handler.found) {
    detail = "not a JSON document";
    return handler.error;
  }
  // what() reads "[json.exception.parse_error.101] parse error at line 1,
  // column 2: syntax error while parsing ..." or
  // "[json.exception.out_of_range.406] number overflow parsing '1E400'";
  // keep what follows the position, or the id.
  if (auto at = detail.find("syntax error"); at != std::string::npos)
    detail = detail.substr(at);
  else if (auto id = detail.find("] "); id != std::string::npos)
    detail = detail.substr(id + 2);
  detail = escape_invalid_utf8(detail);
  return handler.error;
}

std::string shorten(std::string_view text, size_t limit) {
  size_t characters = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    // Every byte that does not continue a UTF-8 sequence starts a character.
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (++characters > limit) return std::string{text.substr(0, i)} + "...";
  }
  return std::string{text};
}

} // namespace shelfsync
