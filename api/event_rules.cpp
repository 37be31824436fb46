#include "api/event_rules.hpp"

#include <algorithm>

#include "config/json_syntax.hpp"

namespace shelfsync {

namespace {

constexpr size_t max_product_length = 128;
constexpr size_t max_id_length = 256;

/// Characters (code points) of `s`, which the JSON parser has checked to be
/// valid UTF-8: every byte that does not continue a sequence starts one.
size_t characters(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

/// Whether `s` (valid UTF-8) holds a control character: C0 (below U+0020),
/// DEL (U+007F) or C1 (U+0080 to U+009F, encoded C2 80 to C2 9F).
bool has_control_chars(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xC2 && i + 1 < s.size() &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9F)
      return true;
  }
  return false;
}

/// Days of `month` (1 to 12) in `year` of the Gregorian calendar.
int days_in_month(int year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

/// Checks an RFC 3339 date-time such as 2026-11-27T10:00:00.123+01:00.
bool is_rfc3339(std::string_view s) {
  auto digits = [&](size_t pos, size_t n) {
    if (pos + n > s.size()) return false;
    for (size_t i = pos; i < pos + n; ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    return true;
  };
  if (!digits(0, 4) || s.size() < 20 || s[4] != '-' || !digits(5, 2) ||
      s[7] != '-' || !digits(8, 2) || (s[10] != 'T' && s[10] != 't') ||
      !digits(11, 2) || s[13] != ':' || !digits(14, 2) || s[16] != ':' ||
      !digits(17, 2))
    return false;
  auto num = [&](size_t pos) {
    return (s[pos] - '0') * 10 + (s[pos + 1] - '0');
  };
  auto year = num(0) * 100 + num(2);
  auto month = num(5);
  if (month < 1 || month > 12 || num(8) < 1 ||
      num(8) > days_in_month(year, month) || num(11) > 23 || num(14) > 59 ||
      num(17) > 60)
    return false;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    auto start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
      ++pos;
    if (pos == start) return false;
  }
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z'))
    return pos + 1 == s.size();
  return pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') &&
         digits(pos + 1, 2) && s[pos + 3] == ':' && digits(pos + 4, 2) &&
         num(pos + 1) <= 23 && num(pos + 4) <= 59;
}

} // namespace

std::optional<batch_error> check_event(const event_fields& f, size_t index,
                                       const warehouse_check& known_warehouse) {
  auto fail = [&](std::string field, std::string message) {
    return batch_error{422, std::move(message), index, std::move(field), {}};
  };
  auto& id = *f.id;
  auto& product = *f.product;
  auto& warehouse = *f.warehouse;
  auto where = " of event " + std::to_string(index);
  // Lengths count characters, not bytes: 128 x "é" is a valid code.
  if (id.empty() || characters(id) > max_id_length)
    return fail("id", "\"id\"" + where + " must have 1 to 256 characters");
  if (has_control_chars(id))
    return fail("id",
                "\"id\"" + where + " must not contain control characters");
  if (product.empty() || characters(product) > max_product_length)
    return fail("product",
                "\"product\"" + where + " must have 1 to 128 characters");
  if (has_control_chars(product))
    return fail("product",
                "\"product\"" + where + " must not contain control characters");
  if (has_control_chars(warehouse))
    return fail("warehouse", "\"warehouse\"" + where +
                                 " must not contain control characters");
  if (!known_warehouse(warehouse))
    return fail("warehouse", "\"warehouse\"" + where + " is \"" +
                                 shorten(warehouse) +
                                 "\", which the config does not declare");
  if (f.on_hand && f.delta)
    return fail("delta", "event " + std::to_string(index) +
                             " has both \"on_hand\" and \"delta\"; send one");
  if (f.reserved && *f.reserved < 0)
    // A negative reservation would raise available above on_hand: an
    // oversell. A negative on_hand is accepted (a WMS count can go below
    // zero); available is then 0.
    return fail("reserved", "\"reserved\"" + where +
                                " must not be negative, got " +
                                std::to_string(*f.reserved));
  if (!f.on_hand && !f.delta && !f.reserved)
    return fail("on_hand",
                "event " + std::to_string(index) +
                    " needs one of \"on_hand\", \"delta\", \"reserved\"");
  if (f.at && !is_rfc3339(*f.at))
    return fail("at", "\"at\"" + where +
                          " must be an RFC 3339 date-time, got \"" +
                          shorten(*f.at) + "\"");
  return std::nullopt;
}

stock_event to_event(event_fields&& f) {
  stock_event e;
  e.id = std::move(*f.id);
  e.product = std::move(*f.product);
  e.warehouse = std::move(*f.warehouse);
  if (f.on_hand) {
    e.fields |= stock_event::has_on_hand;
    e.on_hand = *f.on_hand;
  }
  if (f.delta) {
    e.fields |= stock_event::has_delta;
    e.delta = *f.delta;
  }
  if (f.reserved) {
    e.fields |= stock_event::has_reserved;
    e.reserved = *f.reserved;
  }
  if (f.version) {
    e.fields |= stock_event::has_version;
    e.version = *f.version;
  }
  if (f.at) e.at = std::move(*f.at);
  return e;
}

} // namespace shelfsync
