#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/shop.hpp"
#include "actors/shopify_worker.hpp"
#include "channels/shopify/backoff.hpp"
#include "channels/shopify/bucket.hpp"

namespace shelfsync {

/// Counters shown under "metrics" in the shop's status details.
struct shopify_metrics {
  uint64_t requests = 0;
  uint64_t surveys = 0;
  uint64_t pushes = 0;
  /// Quantity rows sent, retries included.
  uint64_t rows = 0;
  uint64_t confirmed = 0;
  uint64_t failed = 0;
  uint64_t throttled = 0;
  uint64_t errors = 0;
  uint64_t retries = 0;
  /// The drift check: passes completed, reads sent and the points they
  /// asked for, products compared, products found changed behind
  /// shelfsync's back, and corrections queued.
  uint64_t drift_passes = 0;
  uint64_t drift_reads = 0;
  double drift_points = 0;
  uint64_t drift_checked = 0;
  uint64_t drift_found = 0;
  uint64_t drift_corrected = 0;
  /// Recent call latencies in milliseconds (a ring).
  std::vector<double> latencies;
  size_t next_latency = 0;

  /// Records one call's latency.
  void add_latency(double ms);
  /// The q-quantile (0..1) of the recent latencies; 0 when none.
  double latency(double q) const;
};

/// A mutation of the current round and what it carries.
struct shopify_flight {
  shopify_push push;
  /// Per row of `push.rows`: the product it belongs to, and whether its
  /// location is one of the product's desired (mapped) locations. Zero rows
  /// for unmapped locations (rule 5) are not part of the delivery record.
  std::vector<std::pair<std::string, bool>> row_owner;
  /// Products carried, with the outbox seq taken.
  std::vector<std::pair<std::string, uint64_t>> products;
  /// Locations found already holding their desired value (product,
  /// location, value). They are confirmed once the push lands: until then
  /// the product is not delivered, its tracking or activation may be owed.
  std::vector<std::tuple<std::string, std::string, int64_t>> held;
};

/// Where the drift check stands: a pass walks the delivery records of the
/// shop in pages and reads the levels of the products it drives.
struct shopify_drift {
  /// A pass is under way.
  bool walking = false;
  /// The last product whose delivery record the pass visited.
  std::string cursor;
  /// The products (and their inventory item ids) of the next read.
  std::vector<std::pair<std::string, std::string>> page;
  /// When the current or last pass started.
  std::chrono::steady_clock::time_point pass_started;
  /// No read before this: the reads' average rate stays within the share.
  std::chrono::steady_clock::time_point not_before;
  /// Generation of the one live drift timer.
  uint64_t timer = 0;
};

/// State of a Shopify SHOP actor.
struct shopify_shop_state {
  shop_setup setup;
  std::unique_ptr<outbox> box;
  std::unique_ptr<resync_run> resync;
  /// The detached worker owning the client; invalid while `blocked`.
  shopify_worker_actor worker;
  /// What the worker's client was made from (the token only as a hash).
  std::string client_identity;
  /// Why nothing can be sent (missing token, bad version); empty when fine.
  std::string blocked;
  /// A worker call is outstanding.
  bool busy = false;
  /// Products taken from the outbox for the survey in progress.
  std::vector<outbox::item> surveyed;
  /// Mutations still to send in this round, in order.
  std::deque<shopify_flight> flights;
  /// Generation of the one live timer; older ticks are ignored.
  uint64_t timer_gen = 0;
  bool timer_armed = false;
  /// The read page sizes the worker's client uses.
  shopify::read_options reads;
  /// The bucket as the last answer showed it.
  shopify::bucket_model bucket;
  shopify::backoff retry_delay;
  /// SKU → inventory item id (cache of the durable memos).
  std::unordered_map<std::string, std::string> items;
  std::string last_success;
  std::string last_error;
  shopify_metrics metrics;
  shopify_drift drift;
  static inline const char* name = "shopify_shop";
};

/// The behaviour of a Shopify SHOP actor.
shopify_shop_actor::behavior_type
shopify_shop(shopify_shop_actor::stateful_pointer<shopify_shop_state> self,
             shop_setup setup);

/// Spawns the shop actor of a Shopify shop.
shop_actor spawn_shopify_shop(caf::actor_system& sys, shop_setup setup);

} // namespace shelfsync
