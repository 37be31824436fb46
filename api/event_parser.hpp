#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "storage/records.hpp"

namespace shelfsync {

/// Why a batch of events was refused, precisely enough to fix it.
struct batch_error {
  /// 400 for malformed JSON, 422 for a well-formed but invalid event.
  int status = 422;
  /// One clear sentence.
  std::string message;
  /// Index of the offending event in the batch, when known.
  std::optional<size_t> index;
  /// Name of the offending field, when known (it may be "": JSON allows an
  /// empty key, and an unknown one is refused like any other).
  std::optional<std::string> field;
  /// Byte offset into the body, for malformed JSON.
  std::optional<uint64_t> offset;
};

/// The body formats of `POST /v1/stock/events`.
enum class batch_format {
  /// One JSON array of events.
  json_array,
  /// One JSON object per line (`application/x-ndjson`).
  ndjson,
};

/// Tells whether a warehouse id is declared.
using warehouse_check = std::function<bool(std::string_view)>;

/// Parses and validates a whole batch; on the first problem returns it and
/// nothing else (a batch is accepted whole or not at all). A JSON array
/// written plainly is read in one pass (api/plain_batch.hpp); anything else
/// by `parse_events_in_full`.
std::variant<std::vector<stock_event>, batch_error>
parse_events(std::string_view body, batch_format format,
             const warehouse_check& known_warehouse);

/// `parse_events` through the JSON library for every body (the fast path's
/// reference in tests).
std::variant<std::vector<stock_event>, batch_error>
parse_events_in_full(std::string_view body, batch_format format,
                     const warehouse_check& known_warehouse);

} // namespace shelfsync
