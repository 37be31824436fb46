#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/jetstream.hpp"
#include "core/stock.hpp"
#include "storage/records.hpp"

namespace shelfsync::cluster {

// Reading the cluster's log the way `log`, and `replay` read one node's:
// a product's events come from its slot's share of the events stream
// (`shelfsync.events.<slot>`), applied with the appliers' own rules (an id
// applied before to the product is ignored, and so is one whose
// cluster-wide claim names another product or an earlier message
// (cluster/id_claims.hpp); a message already applied to the product is not
// applied again).

/// One event of a product's history in the cluster's log.
struct cluster_history_entry {
  /// The events-stream sequence of its message, and when it was stored
  /// (ms since the Unix epoch).
  uint64_t seq = 0;
  int64_t stored_ms = 0;
  stock_event event;
  /// False when its id was applied earlier, to this product or another
  /// one: ignored (a duplicate id, such as a resend after the
  /// deduplication window).
  bool applied = true;
  /// What applying it did; meaningful when `applied`.
  apply_outcome outcome = apply_outcome::changed;
  /// The stock of its warehouse after it.
  warehouse_stock after;
};

/// The events of product `code` in a cluster of `slots` slots, oldest first.
outcome<std::vector<cluster_history_entry>>
read_cluster_history(jetstream& js, uint32_t slots, const std::string& code);

/// What `verify_cluster_states` found.
struct cluster_verify_report {
  uint64_t messages = 0;
  uint64_t events = 0;
  uint64_t products = 0;
  /// One sentence per product whose stored state differs from the one
  /// rebuilt from the log (at most 100; `different` counts all).
  std::vector<std::string> differences;
  uint64_t different = 0;
  /// Products the slot's owner applied past the checkpoint read while this
  /// ran: not compared (verify a quiet cluster to compare every product).
  uint64_t moving = 0;
};

/// Rebuilds every product state from the events stream, each slot up to its
/// checkpoint, and compares it with the state the cluster stores (stock per
/// warehouse, applied ids, applied sequence). An id the stored state holds
/// is taken as applied there; any other id's claim is read (cross-product
/// duplicates). `progress(slot, slots)` after each slot. Blocking: reads
/// the whole events stream.
outcome<cluster_verify_report>
verify_cluster_states(jetstream& js, uint32_t slots,
                      const std::function<void(uint32_t, uint32_t)>& progress);

} // namespace shelfsync::cluster
