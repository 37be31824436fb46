#include "cluster/event_text.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

namespace shelfsync::cluster {

namespace {

void append_integer(std::string& out, int64_t x) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, x).ptr;
  out.append(digits, end);
}

/// The escape of an ASCII byte that needs one, or nullptr.
const char* short_escape(unsigned char c) {
  switch (c) {
  case '"':
    return "\\\"";
  case '\\':
    return "\\\\";
  case '\b':
    return "\\b";
  case '\f':
    return "\\f";
  case '\n':
    return "\\n";
  case '\r':
    return "\\r";
  case '\t':
    return "\\t";
  default:
    return nullptr;
  }
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  for (unsigned char c : text)
    if (c >= 0x80) {
      // Multi-byte UTF-8 (or bytes that are not UTF-8): rare in ids and
      // codes, left to the library, which validates it.
      out +=
          nlohmann::json(std::string{text})
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  out += '"';
  size_t plain = 0; // start of the run of bytes copied as they are
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + plain, i - plain);
    plain = i + 1;
    if (auto* escape = short_escape(c)) {
      out += escape;
      continue;
    }
    static constexpr char hex[] = "0123456789abcdef";
    out += "\\u00";
    out += hex[c >> 4];
    out += hex[c & 0xf];
  }
  out.append(text.data() + plain, text.size() - plain);
  out += '"';
}

void append_event_json(std::string& out, const stock_event& e) {
  // nlohmann::json keeps an object's keys sorted: at, delta, id, on_hand,
  // product, reserved, version, warehouse.
  out += '{';
  if (!e.at.empty()) {
    out += "\"at\":";
    append_json_string(out, e.at);
    out += ',';
  }
  if (e.has(stock_event::has_delta)) {
    out += "\"delta\":";
    append_integer(out, e.delta);
    out += ',';
  }
  out += "\"id\":";
  append_json_string(out, e.id);
  if (e.has(stock_event::has_on_hand)) {
    out += ",\"on_hand\":";
    append_integer(out, e.on_hand);
  }
  out += ",\"product\":";
  append_json_string(out, e.product);
  if (e.has(stock_event::has_reserved)) {
    out += ",\"reserved\":";
    append_integer(out, e.reserved);
  }
  if (e.has(stock_event::has_version)) {
    out += ",\"version\":";
    append_integer(out, e.version);
  }
  out += ",\"warehouse\":";
  append_json_string(out, e.warehouse);
  out += '}';
}

} // namespace shelfsync::cluster
