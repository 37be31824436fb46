#include "api/product_history.hpp"

#include "core/clock.hpp"

namespace shelfsync {

caf::expected<std::vector<history_entry>>
read_history(const store& db, const std::string& code,
             const std::function<void(uint64_t, uint64_t)>& progress) {
  std::vector<history_entry> result;
  // Events that retention dropped live on as the product's snapshot record.
  product_record rec;
  if (auto found = db.load_snapshot(code, rec); !found) return found.error();
  auto events = db.read_product_log(code, progress);
  if (!events) return events.error();
  for (auto& e : *events) {
    history_entry entry;
    entry.outcome = apply_event(rec, e);
    entry.after = rec.stock[e.warehouse];
    entry.event = std::move(e);
    result.push_back(std::move(entry));
  }
  return result;
}

std::string event_kind(const stock_event& e) {
  std::string out;
  if (e.has(stock_event::has_on_hand))
    out = "absolute";
  else if (e.has(stock_event::has_delta))
    out = "delta";
  if (e.has(stock_event::has_reserved))
    out += out.empty() ? "reserved" : "+reserved";
  return out;
}

std::string event_values(const stock_event& e) {
  std::string out;
  auto add = [&](const char* name, int64_t x) {
    if (!out.empty()) out += ' ';
    out += name;
    out += '=';
    if (std::string_view{name} == "delta" && x >= 0) out += '+';
    out += std::to_string(x);
  };
  if (e.has(stock_event::has_on_hand)) add("on_hand", e.on_hand);
  if (e.has(stock_event::has_delta)) add("delta", e.delta);
  if (e.has(stock_event::has_reserved)) add("reserved", e.reserved);
  if (e.has(stock_event::has_version)) add("version", e.version);
  return out;
}

const char* to_string(apply_outcome x) {
  switch (x) {
  case apply_outcome::changed:
    return "changed";
  case apply_outcome::unchanged:
    return "unchanged";
  case apply_outcome::stale:
    return "stale (ignored)";
  case apply_outcome::replayed:
    return "replayed";
  }
  return "changed";
}

nlohmann::json event_json(const stock_event& e) {
  nlohmann::json out{{"seq", e.seq},
                     {"accepted_at", rfc3339(e.received_ms)},
                     {"id", e.id},
                     {"type", event_kind(e)},
                     {"warehouse", e.warehouse}};
  if (e.has(stock_event::has_on_hand)) out["on_hand"] = e.on_hand;
  if (e.has(stock_event::has_delta)) out["delta"] = e.delta;
  if (e.has(stock_event::has_reserved)) out["reserved"] = e.reserved;
  if (e.has(stock_event::has_version)) out["version"] = e.version;
  if (!e.at.empty()) out["at"] = e.at;
  return out;
}

} // namespace shelfsync
