#include "api/plain_batch.hpp"

#include <cstring>

#include "api/event_rules.hpp"

namespace shelfsync {

namespace {

/// The fields an event may have, as bits.
constexpr unsigned bit_id = 1;
constexpr unsigned bit_product = 2;
constexpr unsigned bit_warehouse = 4;
constexpr unsigned bit_on_hand = 8;
constexpr unsigned bit_delta = 16;
constexpr unsigned bit_reserved = 32;
constexpr unsigned bit_version = 64;
constexpr unsigned bit_at = 128;

/// A cursor over the body; every read returns false to give up.
class plain_reader {
 public:
  explicit plain_reader(std::string_view body)
      : p_(body.data()), end_(body.data() + body.size()) {}

  void skip_space() {
    while (p_ != end_ &&
           (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }

  /// Takes `c` after optional whitespace.
  bool take(char c) {
    skip_space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  /// Whether the next character (after whitespace) is `c`, not taken.
  bool next_is(char c) {
    skip_space();
    return p_ != end_ && *p_ == c;
  }

  bool at_end() {
    skip_space();
    return p_ == end_;
  }

  /// A string of printable ASCII without escapes; `out` views the body.
  bool plain_string(std::string_view& out) {
    if (!take('"')) return false;
    auto start = p_;
    while (p_ != end_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view{start, static_cast<size_t>(p_ - start)};
        ++p_;
        return true;
      }
      // Escapes, control characters, DEL and non-ASCII: the full parser.
      if (c == '\\' || c < 0x20 || c >= 0x7f) return false;
      ++p_;
    }
    return false;
  }

  /// An integer written as JSON writes one (no leading zeros), without
  /// fraction or exponent, at most 2^53 in magnitude.
  bool plain_integer(int64_t& out) {
    skip_space();
    bool negative = p_ != end_ && *p_ == '-';
    if (negative) ++p_;
    auto start = p_;
    uint64_t value = 0;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      if (p_ - start == 16) return false; // 2^53 has 16 digits
      value = value * 10 + static_cast<uint64_t>(*p_ - '0');
      ++p_;
    }
    auto digits = p_ - start;
    if (digits == 0 || (digits > 1 && *start == '0')) return false;
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    if (value > static_cast<uint64_t>(max_event_integer)) return false;
    out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

/// Which field a key names; 0 for none.
unsigned field_of(std::string_view key) {
  switch (key.size()) {
  case 2:
    if (key == "id") return bit_id;
    if (key == "at") return bit_at;
    return 0;
  case 5:
    return key == "delta" ? bit_delta : 0;
  case 7:
    if (key == "product") return bit_product;
    if (key == "on_hand") return bit_on_hand;
    if (key == "version") return bit_version;
    return 0;
  case 8:
    return key == "reserved" ? bit_reserved : 0;
  case 9:
    return key == "warehouse" ? bit_warehouse : 0;
  default:
    return 0;
  }
}

/// One event object into `f`.
bool read_event(plain_reader& in, event_fields& f) {
  if (!in.take('{')) return false;
  unsigned seen = 0;
  if (in.next_is('}')) return false; // no fields: the full parser says why
  do {
    std::string_view key;
    if (!in.plain_string(key)) return false;
    auto bit = field_of(key);
    if (bit == 0 || (seen & bit) != 0) return false;
    seen |= bit;
    if (!in.take(':')) return false;
    std::string_view text;
    int64_t number = 0;
    switch (bit) {
    case bit_id:
    case bit_product:
    case bit_warehouse:
    case bit_at:
      if (!in.plain_string(text)) return false;
      (bit == bit_id          ? f.id
       : bit == bit_product   ? f.product
       : bit == bit_warehouse ? f.warehouse
                              : f.at)
          .emplace(text);
      break;
    default:
      if (!in.plain_integer(number)) return false;
      (bit == bit_on_hand    ? f.on_hand
       : bit == bit_delta    ? f.delta
       : bit == bit_reserved ? f.reserved
                             : f.version) = number;
    }
  } while (in.take(','));
  if (!in.take('}')) return false;
  return (seen & (bit_id | bit_product | bit_warehouse)) ==
         (bit_id | bit_product | bit_warehouse);
}

} // namespace

std::optional<std::vector<stock_event>>
read_plain_batch(std::string_view body,
                 const warehouse_check& known_warehouse) {
  plain_reader in{body};
  std::vector<stock_event> out;
  if (!in.take('[')) return std::nullopt;
  if (in.take(']'))
    return in.at_end() ? std::optional{std::move(out)} : std::nullopt;
  // About 100 bytes per event.
  out.reserve(body.size() / 64 + 1);
  do {
    event_fields f;
    if (!read_event(in, f)) return std::nullopt;
    if (check_event(f, out.size(), known_warehouse)) return std::nullopt;
    out.push_back(to_event(std::move(f)));
  } while (in.take(','));
  if (!in.take(']') || !in.at_end()) return std::nullopt;
  return out;
}

} // namespace shelfsync
