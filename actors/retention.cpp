#include "actors/retention.hpp"

#include <algorithm>
#include <map>

#include <caf/all.hpp>

#include "actors/fwd.hpp"
#include "actors/log.hpp"
#include "core/clock.hpp"
#include "core/stock.hpp"

namespace shelfsync {

namespace {

/// Returns the highest seq up to `durable` whose dropping leaves at most
/// `bytes` of log after it, or `snap` when the log fits (a binary search
/// over the size estimates, which cost a few index lookups each).
caf::expected<uint64_t> bytes_bound(const store& db, uint64_t snap,
                                    uint64_t durable, uint64_t bytes) {
  auto rest_after = [&](uint64_t seq) {
    return db.log_bytes(seq + 1, UINT64_MAX);
  };
  auto total = rest_after(snap);
  if (!total) return total.error();
  if (*total <= bytes) return snap;
  auto at_most = rest_after(durable);
  if (!at_most) return at_most.error();
  if (*at_most > bytes) return durable; // as much as may go
  uint64_t lo = snap + 1;               // dropping up to lo - 1 is not enough
  uint64_t hi = durable;                // dropping up to hi is
  while (lo < hi) {
    auto mid = lo + (hi - lo) / 2;
    auto rest = rest_after(mid);
    if (!rest) return rest.error();
    if (*rest <= bytes)
      hi = mid;
    else
      lo = mid + 1;
  }
  return hi;
}

} // namespace

caf::expected<retention_step> retain_log(store& db,
                                         const log_retention_config& policy,
                                         int64_t now_ms, size_t max_events) {
  retention_step result;
  auto snap = db.snapshot_seq();
  if (!snap) return snap.error();
  result.snapshot_seq = *snap;
  if (!policy.enabled()) return result;
  auto durable = db.durable_checkpoint();
  if (!durable) return durable.error();
  if (*durable <= *snap) return result;
  // An entry goes when it is older than `days` or beyond the `bytes` the
  // log may hold, whichever drops more.
  uint64_t by_bytes = *snap;
  if (policy.bytes != 0) {
    auto bound = bytes_bound(db, *snap, *durable, policy.bytes);
    if (!bound) return bound.error();
    by_bytes = *bound;
  }
  auto cutoff_ms = now_ms - int64_t{policy.days} * 86400 * 1000;
  auto events = db.read_log(*snap + 1, *durable, max_events);
  if (!events) return events.error();
  size_t n = 0;
  for (; n < events->size(); ++n) {
    auto& e = (*events)[n];
    // Stop at the first young entry, even if a clock step left an older
    // one after it: the log is dropped as a prefix.
    if (e.seq > by_bytes && (policy.days == 0 || e.received_ms >= cutoff_ms))
      break;
  }
  if (n == 0) return result;
  events->resize(n);
  // The snapshot moves to the last entry dropped: the stock of each product
  // touched, applied with the engine's own rule. Views are left out (they
  // depend on the config of whoever reads the snapshot).
  std::map<std::string, product_record> touched;
  for (auto& e : *events) {
    auto i = touched.find(e.product);
    if (i == touched.end()) {
      i = touched.emplace(e.product, product_record{}).first;
      if (auto found = db.load_snapshot(e.product, i->second); !found)
        return found.error();
    }
    apply_event(i->second, e);
  }
  std::vector<std::pair<std::string, product_record>> records;
  records.reserve(touched.size());
  for (auto& kvp : touched)
    records.emplace_back(kvp.first, std::move(kvp.second));
  auto upto = events->back().seq;
  if (auto err = db.drop_log(records, upto, *events)) return err;
  result.dropped = n;
  result.snapshot_seq = upto;
  result.more = n == max_events;
  return result;
}

retention_actor spawn_retention(caf::actor_system& sys,
                                std::shared_ptr<store> db,
                                log_retention_config policy,
                                std::chrono::milliseconds interval,
                                size_t chunk) {
  return sys.spawn<caf::detached>(
      [db, policy, interval,
       chunk](retention_actor::pointer self) -> retention_actor::behavior_type {
        // Steps dropped since the last log line, to log one line per run.
        auto run_dropped = std::make_shared<uint64_t>(0);
        self->delayed_send(self, interval, atom::retain_v);
        return {
            [=](atom::retain) {
              auto step = retain_log(*db, policy, wall_ms(), chunk);
              if (!step) {
                log_line(log_level::error, "retention",
                         "cannot drop old log entries: " +
                             to_string(step.error()));
                self->delayed_send(self, interval, atom::retain_v);
                return;
              }
              *run_dropped += step->dropped;
              if (step->more) {
                // One chunk per message: an exit gets in between.
                self->send(self, atom::retain_v);
                return;
              }
              if (*run_dropped != 0)
                log_line(log_level::info, "retention",
                         "dropped " + std::to_string(*run_dropped) +
                             " log entries; the log now starts after seq " +
                             std::to_string(step->snapshot_seq));
              *run_dropped = 0;
              self->delayed_send(self, interval, atom::retain_v);
            },
        };
      });
}

} // namespace shelfsync
