#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api/event_parser.hpp"

namespace shelfsync {

/// One event's fields as read from a body, before the rules are checked.
struct event_fields {
  std::optional<std::string> id;
  std::optional<std::string> product;
  std::optional<std::string> warehouse;
  std::optional<int64_t> on_hand;
  std::optional<int64_t> delta;
  std::optional<int64_t> reserved;
  std::optional<int64_t> version;
  std::optional<std::string> at;
};

/// Integers in events must be exactly representable as IEEE doubles.
constexpr int64_t max_event_integer = int64_t{1} << 53;

/// The first rule of PRODUCT.md that event `index` breaks (lengths, control
/// characters, a declared warehouse, one of on_hand/delta/reserved, not both
/// on_hand and delta, reserved not negative, `at` in RFC 3339), as the 422
/// answer; nothing when it keeps them all. `id`, `product` and `warehouse`
/// must be there (their absence is a reading error, said before).
std::optional<batch_error> check_event(const event_fields& f, size_t index,
                                       const warehouse_check& known_warehouse);

/// The event of fields that passed `check_event`.
stock_event to_event(event_fields&& f);

} // namespace shelfsync
