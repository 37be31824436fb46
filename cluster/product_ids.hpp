#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/jetstream.hpp"

namespace shelfsync::cluster {

/// `shelfsync.state.ids.<slot>.<hex of the code>.<n>`: segment `n` (from 0)
/// of the ids applied to a product.
std::string ids_subject(uint32_t slot, const std::string& code, uint32_t n);

/// Every event id applied to one product: deduplication across owners and
/// beyond JetStream's window, kept out of the product state (whose message
/// must stay small: NATS refuses messages over 1 MB, and shop drivers read
/// every product state).
///
/// The ids live in segments of the state stream, each at most
/// `max_segment_ids` ids and `max_segment_bytes` of JSON. New ids go to the
/// last segment (a new one when it is full). Every id is kept with the
/// events-stream sequence of the message that applied it, and a load keeps
/// only those at or below the product's `applied_seq`: the segments are
/// written before the product state, so ids of a message whose product
/// write never landed (its owner died in between) count as not applied; the
/// next owner applies that message again and rewrites the segment.
///
/// Not thread-safe: one slot's applier owns it.
class product_ids {
 public:
  static constexpr size_t max_segment_ids = 2000;
  static constexpr size_t max_segment_bytes = 512 * 1024;

  /// Reads the product's segments: the `segments` its state names and any
  /// written after them, keeping the ids applied up to `applied_seq`.
  static outcome<product_ids> load(jetstream& js, uint32_t slot,
                                   const std::string& code, uint32_t segments,
                                   uint64_t applied_seq);

  /// Whether `id` was applied.
  bool contains(const std::string& id) const { return all_.count(id) > 0; }

  /// Adds `id`, applied by the events-stream message `seq`, in memory; false
  /// when it is there already.
  bool add(const std::string& id, uint64_t seq);

  /// Writes every segment changed since the last store, in order, each by
  /// compare-and-set. A `conflict` means another owner wrote: stop. After
  /// another failure a new call writes what is left.
  status store(jetstream& js, uint32_t slot, const std::string& code);

  /// One segment write that `store` would do.
  struct segment_write {
    uint32_t n = 0;
    cas_message message;
  };

  /// The writes `store` would do, for a caller that writes several
  /// products' segments at once (cas_write_batch); tell each one written
  /// with `written`.
  std::vector<segment_write> pending_writes(uint32_t slot,
                                            const std::string& code) const;

  /// Segment `n` was written: `subject_seq` is its new sequence.
  void written(uint32_t n, uint64_t subject_seq);

  /// The number of segments (for the product state).
  uint32_t segments() const { return static_cast<uint32_t>(segments_.size()); }

  /// The number of ids.
  size_t size() const { return all_.size(); }

 private:
  struct segment {
    /// Per applying message (events-stream sequence), its ids, in order.
    std::vector<std::pair<uint64_t, std::vector<std::string>>> by_seq;
    size_t ids = 0;
    size_t bytes = 0;
    /// Its sequence in the state stream; 0 when not written yet.
    uint64_t subject_seq = 0;
    bool dirty = false;
  };

  static std::string encode(const segment& s);

  std::vector<segment> segments_;
  std::unordered_set<std::string> all_;
};

} // namespace shelfsync::cluster
