#include "core/stock.hpp"

#include <limits>

namespace shelfsync {

namespace {

/// Adds without wrapping around: repeated deltas saturate instead.
int64_t saturating_add(int64_t x, int64_t y) {
  int64_t result;
  if (__builtin_add_overflow(x, y, &result))
    return y > 0 ? std::numeric_limits<int64_t>::max()
                 : std::numeric_limits<int64_t>::min();
  return result;
}

} // namespace

apply_outcome apply_event(product_record& rec, const stock_event& e) {
  if (e.seq != 0 && e.seq <= rec.applied_seq) return apply_outcome::replayed;
  if (e.seq != 0) rec.applied_seq = e.seq;
  auto& s = rec.stock[e.warehouse];
  if (e.has(stock_event::has_version)) {
    if (s.versioned && e.version <= s.version) return apply_outcome::stale;
    s.version = e.version;
    s.versioned = true;
  }
  auto before = s;
  if (e.has(stock_event::has_on_hand))
    s.on_hand = e.on_hand;
  else if (e.has(stock_event::has_delta))
    s.on_hand = saturating_add(s.on_hand, e.delta);
  if (e.has(stock_event::has_reserved)) s.reserved = e.reserved;
  s.last_seq = e.seq;
  if (s.on_hand == before.on_hand && s.reserved == before.reserved)
    return apply_outcome::unchanged;
  return apply_outcome::changed;
}

} // namespace shelfsync
