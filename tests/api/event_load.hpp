#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/api/stock_oracle.hpp"

namespace shelfsync::tests {

/// A warehouse system's day, drawn from a seeded RNG: absolute counts,
/// picks and returns (deltas), reservations, absolute values with versions,
/// a few stale versions, and a few duplicate ids (earlier in the batch, or
/// from an earlier batch, with other content that must have no effect).
class event_load {
 public:
  event_load(uint64_t seed, std::string id_prefix,
             std::vector<std::string> products,
             std::vector<std::string> warehouses);

  /// Makes a duplicate id name the product of the event that first had it
  /// (other warehouse and content), rather than any product. The cluster
  /// deduplicates ids per product so far (PRODUCT.md §3 says an id seen
  /// before changes nothing, whatever it names): its fault suite uses this
  /// until that is fixed.
  void duplicates_keep_their_product(bool keep) { keep_product_ = keep; }

  /// The next batch of `size` events. Batches must be acknowledged in the
  /// order they are made (ids of earlier batches are reused as duplicates).
  std::vector<event_spec> next_batch(size_t size);

  /// How many events were made as stale versions and as duplicate ids.
  size_t stale_made() const { return stale_; }
  size_t duplicates_made() const { return duplicates_; }

 private:
  event_spec fresh(const std::string& product, const std::string& warehouse);

  std::mt19937_64 rng_;
  std::string prefix_;
  std::vector<std::string> products_;
  std::vector<std::string> warehouses_;
  uint64_t next_id_ = 0;
  /// The last version made per (product, warehouse).
  std::map<std::pair<std::string, std::string>, int64_t> versions_;
  std::vector<std::string> earlier_ids_;
  /// The product of each of earlier_ids_.
  std::vector<std::string> earlier_products_;
  bool keep_product_ = false;
  size_t stale_ = 0;
  size_t duplicates_ = 0;
};

} // namespace shelfsync::tests
