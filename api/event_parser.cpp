#include "api/event_parser.hpp"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "api/event_rules.hpp"
#include "api/plain_batch.hpp"
#include "config/json_syntax.hpp"

namespace shelfsync {

namespace {

using json = nlohmann::json;

struct event_reader {
  const warehouse_check& known_warehouse;
  size_t index;
  std::optional<batch_error> error;

  void fail(std::optional<std::string> field, std::string message) {
    if (!error)
      error = batch_error{422, std::move(message), index, std::move(field), {}};
  }

  std::optional<std::string> text(const json& obj, const char* field,
                                  bool required) {
    auto i = obj.find(field);
    if (i == obj.end()) {
      if (required)
        fail(field, std::string{"event "} + std::to_string(index) +
                        " has no \"" + field + "\" (a string is required)");
      return std::nullopt;
    }
    if (!i->is_string()) {
      fail(field, std::string{"\""} + field + "\" of event " +
                      std::to_string(index) + " must be a string, got " +
                      i->type_name());
      return std::nullopt;
    }
    return i->get<std::string>();
  }

  std::optional<int64_t> integer(const json& obj, const char* field) {
    auto i = obj.find(field);
    if (i == obj.end()) return std::nullopt;
    auto where =
        std::string{"\""} + field + "\" of event " + std::to_string(index);
    if (!i->is_number_integer()) {
      fail(field, where + " must be an integer, got " +
                      (i->is_number_float() ? std::string{"a fraction"}
                                            : std::string{i->type_name()}));
      return std::nullopt;
    }
    if (i->is_number_unsigned() &&
        i->get<uint64_t>() > uint64_t(max_event_integer)) {
      fail(field, where + " is out of range (at most 2^53 in magnitude)");
      return std::nullopt;
    }
    auto x = i->get<int64_t>();
    if (x > max_event_integer || x < -max_event_integer) {
      fail(field, where + " is out of range (at most 2^53 in magnitude)");
      return std::nullopt;
    }
    return x;
  }

  std::optional<stock_event> read(const json& obj) {
    if (!obj.is_object()) {
      fail(std::nullopt, "event " + std::to_string(index) +
                             " must be a JSON object, got " + obj.type_name());
      return std::nullopt;
    }
    static const char* known[] = {"id",    "product",  "warehouse", "on_hand",
                                  "delta", "reserved", "version",   "at"};
    for (auto& item : obj.items()) {
      const auto& key = item.key();
      if (std::find_if(std::begin(known), std::end(known), [&](const char* k) {
            return key == k;
          }) == std::end(known))
        fail(shorten(key), "event " + std::to_string(index) +
                               " has an unknown field \"" + shorten(key) +
                               "\"");
    }
    event_fields f;
    f.id = text(obj, "id", true);
    f.product = text(obj, "product", true);
    f.warehouse = text(obj, "warehouse", true);
    f.on_hand = integer(obj, "on_hand");
    f.delta = integer(obj, "delta");
    f.reserved = integer(obj, "reserved");
    f.version = integer(obj, "version");
    f.at = text(obj, "at", false);
    if (error) return std::nullopt;
    error = check_event(f, index, known_warehouse);
    if (error) return std::nullopt;
    return to_event(std::move(f));
  }
};

// -- reading the JSON text ----------------------------------------------------

/// What a number token written with a fraction or an exponent is worth.
enum class number_kind { whole, too_large, fraction };

/// Reads a JSON number token exactly (not through a double, which rounds):
/// whether it is a whole number within +-2^53 (`1e3`, `1000.0`, `-0.0`), one
/// beyond that (`2e53`, `18446744073709551616`), or not whole (`1.5`).
number_kind read_number(const std::string& token, int64_t& out) {
  auto digit = [&](size_t i) {
    return i < token.size() && token[i] >= '0' && token[i] <= '9';
  };
  bool negative = !token.empty() && token[0] == '-';
  size_t i = negative ? 1 : 0;
  std::string digits;
  int64_t exponent = 0;
  for (; digit(i); ++i)
    digits += token[i];
  if (i < token.size() && token[i] == '.')
    for (++i; digit(i); ++i) {
      digits += token[i];
      --exponent;
    }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    bool below = i < token.size() && token[i] == '-';
    if (i < token.size() && (token[i] == '-' || token[i] == '+')) ++i;
    int64_t e = 0;
    for (; digit(i); ++i) // capped: 1e999999 overflowed the double anyway
      e = std::min<int64_t>(e * 10 + (token[i] - '0'), 100'000'000);
    exponent += below ? -e : e;
  }
  auto first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    out = 0;
    return number_kind::whole;
  }
  digits.erase(0, first);
  while (digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  if (exponent < 0) return number_kind::fraction;
  // 2^53 has 16 digits.
  if (static_cast<int64_t>(digits.size()) + exponent > 16)
    return number_kind::too_large;
  uint64_t value = 0;
  for (char c : digits)
    value = value * 10 + static_cast<uint64_t>(c - '0');
  for (int64_t k = 0; k < exponent; ++k)
    value *= 10;
  if (value > uint64_t(max_event_integer)) return number_kind::too_large;
  out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
  return number_kind::whole;
}

/// The keys seen so far in each object being parsed, reused from one parse
/// to the next so that a batch allocates them once.
struct key_frames {
  std::vector<std::vector<std::string>> frames;
  size_t depth = 0;
};

/// Builds the document as json::parse does, with two differences that the
/// plain parser cannot make:
/// - a key given twice in one object is noted (the parser keeps the last
///   silently, so `"on_hand":1,"on_hand":99` would pass as 99);
/// - a number written with a fraction or an exponent becomes an integer when
///   its value is exactly a whole number within +-2^53 (`1e3` is 1000), and
///   the largest integer of its sign when it is a whole number beyond that,
///   so that the reader says "out of range" (a double would have rounded
///   it); only true fractions stay floating-point.
class event_sax {
 public:
  /// `element_depth` is the depth of the events: 1 in a JSON array, 0 for
  /// an NDJSON line; `first_index` the index of the first event parsed.
  event_sax(json& root, key_frames& keys, size_t element_depth,
            size_t first_index)
      : dom_(root), keys_(keys), element_depth_(element_depth),
        next_index_(first_index) {
    keys_.depth = 0;
  }

  /// The first duplicate key: index of its event and the key.
  std::optional<std::pair<size_t, std::string>> duplicate;

  bool null() {
    value_starts();
    return dom_.null();
  }
  bool boolean(bool x) {
    value_starts();
    return dom_.boolean(x);
  }
  bool number_integer(json::number_integer_t x) {
    value_starts();
    return dom_.number_integer(x);
  }
  bool number_unsigned(json::number_unsigned_t x) {
    value_starts();
    return dom_.number_unsigned(x);
  }
  bool number_float(json::number_float_t x, const std::string& token) {
    value_starts();
    int64_t whole = 0;
    switch (read_number(token, whole)) {
    case number_kind::whole:
      return dom_.number_integer(whole);
    case number_kind::too_large:
      return token[0] == '-'
                 ? dom_.number_integer(std::numeric_limits<int64_t>::min())
                 : dom_.number_unsigned(std::numeric_limits<uint64_t>::max());
    case number_kind::fraction:
      break;
    }
    return dom_.number_float(x, token);
  }
  bool string(std::string& x) {
    value_starts();
    return dom_.string(x);
  }
  bool binary(json::binary_t& x) {
    value_starts();
    return dom_.binary(x);
  }
  bool start_object(size_t n) {
    value_starts();
    enter();
    return dom_.start_object(n);
  }
  bool key(std::string& k) {
    auto& seen = keys_.frames[keys_.depth - 1];
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) {
      if (!duplicate) duplicate.emplace(next_index_ - 1, k);
    } else {
      seen.push_back(k);
    }
    return dom_.key(k);
  }
  bool end_object() {
    --keys_.depth;
    return dom_.end_object();
  }
  bool start_array(size_t n) {
    value_starts();
    enter();
    return dom_.start_array(n);
  }
  bool end_array() {
    --keys_.depth;
    return dom_.end_array();
  }
  template<class Exception>
  bool parse_error(size_t position, const std::string& last_token,
                   const Exception& ex) {
    return dom_.parse_error(position, last_token, ex);
  }

 private:
  /// Counts the events: a value starting at their depth is the next one.
  void value_starts() {
    if (keys_.depth == element_depth_) ++next_index_;
  }

  void enter() {
    if (keys_.depth == keys_.frames.size()) keys_.frames.emplace_back();
    keys_.frames[keys_.depth++].clear();
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  key_frames& keys_;
  size_t element_depth_;
  size_t next_index_;
};

/// The 422 answer for a key given twice in event `index`.
batch_error duplicate_key(size_t index, const std::string& key) {
  return batch_error{422,
                     "event " + std::to_string(index) + " has the key \"" +
                         shorten(key) +
                         "\" more than once; send each field once (JSON "
                         "parsers would keep only one of them)",
                     index, shorten(key), std::nullopt};
}

/// The 400 answer for a body (or an NDJSON line starting at byte `base`)
/// that is not well-formed JSON.
batch_error malformed(std::string_view text, uint64_t base,
                      std::optional<size_t> index) {
  auto error = locate_syntax_error(text);
  auto offset = base + error.offset;
  return batch_error{400,
                     "malformed JSON at byte " + std::to_string(offset) + ": " +
                         shorten(error.detail),
                     index, std::nullopt, offset};
}

} // namespace

std::variant<std::vector<stock_event>, batch_error>
parse_events(std::string_view body, batch_format format,
             const warehouse_check& known_warehouse) {
  if (format == batch_format::json_array)
    if (auto plain = read_plain_batch(body, known_warehouse))
      return std::move(*plain);
  return parse_events_in_full(body, format, known_warehouse);
}

std::variant<std::vector<stock_event>, batch_error>
parse_events_in_full(std::string_view body, batch_format format,
                     const warehouse_check& known_warehouse) {
  std::vector<stock_event> result;
  key_frames keys;
  auto take = [&](const json& doc, size_t index) -> std::optional<batch_error> {
    event_reader reader{known_warehouse, index, std::nullopt};
    auto e = reader.read(doc);
    if (!e) return reader.error;
    result.push_back(std::move(*e));
    return std::nullopt;
  };
  if (format == batch_format::json_array) {
    json doc;
    event_sax sax{doc, keys, 1, 0};
    try {
      json::sax_parse(body.begin(), body.end(), &sax);
    } catch (const json::exception&) {
      // parse_error, or out_of_range for a number too large for a double.
      return malformed(body, 0, std::nullopt);
    }
    if (!doc.is_array())
      return batch_error{422,
                         std::string{"the body must be a JSON array of events, "
                                     "got "} +
                             doc.type_name(),
                         std::nullopt, std::nullopt, std::nullopt};
    result.reserve(doc.size());
    for (size_t i = 0; i < doc.size(); ++i) {
      if (sax.duplicate && sax.duplicate->first == i)
        return duplicate_key(i, sax.duplicate->second);
      if (auto err = take(doc[i], i)) return *err;
    }
    return result;
  }
  size_t index = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    auto line = body.substr(pos, end - pos);
    auto blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    if (!blank) {
      json doc;
      event_sax sax{doc, keys, 0, index};
      try {
        json::sax_parse(line.begin(), line.end(), &sax);
      } catch (const json::exception&) {
        return malformed(line, pos, index);
      }
      if (sax.duplicate) return duplicate_key(index, sax.duplicate->second);
      if (auto err = take(doc, index)) return *err;
      ++index;
    }
    pos = end + 1;
  }
  return result;
}

} // namespace shelfsync
