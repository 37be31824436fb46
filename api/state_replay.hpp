#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "config/config.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// Product records by product code, in code order.
using product_records = std::map<std::string, product_record>;

/// Applies `events`, in log order, to `records` with the engine's own logic
/// (a product actor's apply: stock, recent seqs, and every shop's view under
/// `conf`). A product missing from `records` starts empty, as a never-seen
/// product does in the engine.
void apply_in_log_order(const config& conf, std::vector<stock_event>& events,
                        product_records& records);

/// Loads the record of `code` as the engine holds it after its own recovery:
/// the stored record plus the log tail after the checkpoint (derived state is
/// written behind, so after a crash the stored record may lag). Returns false
/// if shelfsync never saw the product.
caf::expected<bool> load_recovered(const store& db, const config& conf,
                                   const std::string& code,
                                   product_record& out);

/// What `replay_log` rebuilds and reports on.
struct replay_options {
  /// Report only products touched by an event with a sequence number at or
  /// after this one (0 = every product). Their state is still rebuilt from
  /// the start of the log: absolute and delta events depend on history.
  uint64_t from = 0;
  /// Replay the log up to this sequence number (0 = the end). Products
  /// touched by a later event are not compared: the live state holds that
  /// event and the replayed one cannot.
  uint64_t to = 0;
  /// At most this many products' rebuilt state is held in memory at once:
  /// beyond, the products are compared in ranges of codes, one pass over
  /// the log per range.
  size_t products_per_pass = 100000;
};

/// One way in which the live state differs from the replayed one.
struct state_difference {
  std::string product;
  /// What differs: "record", "applied_seq", "stock WH-A on_hand",
  /// "view eu-store gid://shopify/Location/1", "view amazon-us", ...
  std::string what;
  /// The two values as text; "absent" when one side has none.
  std::string live;
  std::string replayed;
};

/// What a replay found.
struct replay_report {
  /// The log's last sequence number and where the replay stopped.
  uint64_t last_seq = 0;
  uint64_t to = 0;
  /// Where the stored derived state was complete.
  uint64_t checkpoint = 0;
  /// Where the retained log starts after (0 = the whole log is there): the
  /// replay starts from the snapshot retention left at this seq.
  uint64_t snapshot_seq = 0;
  /// Passes over the log (one per range of products).
  uint64_t passes = 0;
  /// Stored product records visited.
  uint64_t visited = 0;
  /// Events applied to the fresh state.
  uint64_t replayed_events = 0;
  /// Log events after the checkpoint applied to the live state, as the
  /// engine's recovery would at its next start.
  uint64_t tail_events = 0;
  /// Products compared, and products left out because an event after `to`
  /// touched them.
  uint64_t compared = 0;
  uint64_t changed_after_to = 0;
  /// Every difference, by product code, then field.
  std::vector<state_difference> differences;
  /// How many products have at least one difference.
  uint64_t products_differing = 0;
};

/// Reports progress: `done` of `total` in phase `what` ("events", "products").
using replay_progress =
    std::function<void(const char* what, uint64_t done, uint64_t total)>;

/// Rebuilds stock and views from the log (from the snapshot retention left,
/// when it dropped a part) into a fresh state in memory, a range of
/// products at a time, never touching the store, and compares it with the live state after
/// recovery. `opts.to` must not exceed the log's end.
caf::expected<replay_report> replay_log(const store& db, const config& conf,
                                        const replay_options& opts,
                                        const replay_progress& progress = {});

/// Compares the live and the replayed record of `code` (null = absent) and
/// appends each difference to `out`; returns whether any was found.
bool compare_records(const std::string& code, const product_record* live,
                     const product_record* replayed,
                     std::vector<state_difference>& out);

} // namespace shelfsync
