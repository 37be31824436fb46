#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "core/stock.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// One event of a product's history and what it did.
struct history_entry {
  stock_event event;
  /// What applying it did (stale = logged, no effect).
  apply_outcome outcome = apply_outcome::changed;
  /// The stock of the event's warehouse after it.
  warehouse_stock after;
};

/// Reads every retained event of product `code` from the log through the
/// per-product index, oldest first, and applies each in turn with the
/// engine's own logic to tell what it did, starting from the product's
/// stock as of the events retention dropped. Only the part of the log
/// written before the store had the index is scanned: `progress(seq,
/// last)` follows that scan.
caf::expected<std::vector<history_entry>>
read_history(const store& db, const std::string& code,
             const std::function<void(uint64_t, uint64_t)>& progress = {});

/// Names what an event sets: "absolute", "delta", "reserved", or two of them
/// joined by "+", e.g. "absolute+reserved".
std::string event_kind(const stock_event& e);

/// Returns the values an event carries, e.g. "on_hand=12 reserved=2
/// version=17".
std::string event_values(const stock_event& e);

/// Returns "changed", "unchanged", "stale (ignored)" or "replayed".
const char* to_string(apply_outcome x);

/// Describes an event for the API: seq, accepted_at, id, type, warehouse,
/// the values it carries, its version and source time when given.
nlohmann::json event_json(const stock_event& e);

} // namespace shelfsync
