#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "api/event_parser.hpp"

namespace shelfsync {

/// Reads a JSON-array batch written plainly, the way warehouse systems send
/// them, in one pass without building a JSON document: keys among the
/// event's fields, each once; string values of printable ASCII without
/// escapes; integers without fraction or exponent, at most 2^53 in
/// magnitude; every event keeping the rules (`check_event`). Gives up
/// (nothing) at the first thing beyond that, valid or not: `parse_events`
/// then reads the body in full, and says what is wrong if anything is. For
/// a body it reads, the events are those `parse_events` reads in full.
std::optional<std::vector<stock_event>>
read_plain_batch(std::string_view body, const warehouse_check& known_warehouse);

} // namespace shelfsync
