#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/interfaces.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// What the directory is spawned with.
struct directory_config {
  std::shared_ptr<store> db;
  config_ptr conf;
  shop_map shops;
  /// Product actors report themselves idle after this long.
  std::chrono::milliseconds product_idle{std::chrono::seconds{30}};
  /// Return freed memory to the OS after this many product actors stopped
  /// (and write the memtables out once such a wave leaves none live).
  uint64_t trim_after_stops = 10000;
  /// Derived state is written behind: at most this long after a change...
  std::chrono::milliseconds commit_interval{std::chrono::seconds{2}};
  /// ...or once this many product records wait, whichever comes first.
  size_t max_uncommitted = 200000;
  /// Derived state is made durable (its memtables written out) when the
  /// checkpoint moved and this long has passed since that was last done.
  std::chrono::milliseconds checkpoint_interval{std::chrono::seconds{60}};
};

/// State of the DIRECTORY actor. The behaviour's handlers only dispatch to
/// its methods.
struct directory_state {
  using pointer = directory_actor::stateful_pointer<directory_state>;

  /// A live product actor and how many messages it was sent.
  struct live_product {
    product_actor handle;
    uint64_t sent = 0;
    /// Events of the batch being dispatched (empty between batches).
    std::vector<stock_event> events;
    /// The last batch it was sent (0: none): its result is recorded only
    /// once that whole batch has reported.
    uint64_t last_batch = 0;
  };

  /// A dispatched batch: whether all its products reported, and where.
  struct batch {
    uint64_t id = 0;
    uint64_t last_seq = 0;
    batch_results_ptr results;
    bool applied = false;
  };

  pointer self = nullptr;
  directory_config cfg;
  std::unordered_map<std::string, live_product> live;
  std::deque<batch> batches;
  uint64_t next_batch = 1;
  /// The highest sequence number dispatched so far.
  uint64_t dispatched_seq = 0;
  /// The checkpoint last committed.
  uint64_t checkpoint = 0;
  /// The checkpoint last made durable, and when by the actor clock (or when
  /// the directory started).
  uint64_t durable_checkpoint = 0;
  caf::actor_clock::time_point checkpoint_durable_at;
  /// The outbox segment that the next commit writes; every change handed to
  /// a shop before that commit carries its id.
  uint64_t segment = 1;
  /// Product records changed since the last commit, encoded (latest wins).
  std::unordered_map<std::string, std::string> uncommitted;
  /// The writes of a commit. Kept from one commit to the next, so that its
  /// buffer (tens of MB for a large commit) is not grown again each time;
  /// released when the engine goes quiet.
  state_batch writes;
  /// Per shop, the view changes since the last commit, encoded: the
  /// outbox segment that the next commit writes.
  std::map<std::string, segment_builder> window;
  /// View changes to hand to each shop when the current batch completes.
  std::map<std::string, std::vector<view_change>> notifications;
  /// Generation of the commit timer; stale ticks are ignored.
  uint64_t commit_timer = 0;
  bool commit_timer_armed = false;
  /// The last commit failed (logged once per outage; retried on the timer).
  bool commit_failing = false;
  std::vector<caf::typed_response_promise<uint64_t>> sync_waiters;
  uint64_t stops_since_trim = 0;
  uint64_t stops_since_release = 0;
  /// Idle products (code, activity count) that stop once their record is
  /// committed.
  std::vector<std::pair<std::string, uint64_t>> stop_after_commit;
  /// Progress of the background refresh of stored products after a reload:
  /// the last product code recomputed (empty: none yet).
  std::string refresh_after;
  bool refreshing = false;
  static inline const char* name = "directory";

  // -- handlers --------------------------------------------------------------

  /// Reads the checkpoint and the next outbox segment from the store.
  void start(pointer ptr, directory_config config);

  /// Hands a batch of accepted (or, with `replay`, replayed) events to their
  /// products as one dispatched batch.
  void dispatch(std::vector<stock_event>& events, bool replay);

  /// Every product of dispatched batch `id` reported: records the results.
  void on_applied(uint64_t id);

  /// The commit timer set at generation `gen` fired.
  void on_commit_timer(uint64_t gen);

  /// Product `code` saw no message since its activity count `activity`.
  void on_idle(const std::string& code, uint64_t activity);

  /// Reads a product: from its live actor, else from the store.
  caf::result<product_record> get(const std::string& code);

  /// Answers with the checkpoint once everything dispatched is committed.
  caf::result<uint64_t> sync();

  /// Switches to a new config and shop set; recomputes every view.
  void reload(config_ptr conf, shop_map shops);

  /// Refreshes the next chunk of stored products after a reload.
  void refresh_next();

  /// Reads a resync page for `shop`.
  caf::result<resync_page> resync(const std::string& shop,
                                  const std::string& after, uint64_t max);

  /// Stops every product actor, commits, and quits.
  void stop();

  /// Sets the shops that receive view changes, and hands them the views
  /// not yet committed.
  void attach(shop_map shops);

  // -- steps -----------------------------------------------------------------

  /// The live product actor of `code`, spawned on first use.
  live_product& product_for(const std::string& code);

  /// Hands the view changes of completed work to the shops.
  void notify();

  /// Stops the idle product actor at `i`, whose record is on disk.
  void stop_product(std::unordered_map<std::string, live_product>::iterator i);

  /// Commits derived state, stops the idle products that waited for it,
  /// then answers sync waiters if all is applied.
  void flush();

  /// Commits when enough waits, or arms the timer that commits soon.
  void schedule_commit();

  /// Arms the commit timer unless it is armed.
  void arm_commit();

  /// Records one product's result for the next commit and for its shops.
  void record(product_update&& update);

  /// Returns whether every dispatched batch has been applied.
  bool all_applied() const;

  /// Returns whether `p`'s last batch has yet to report (its result is not
  /// recorded yet).
  bool awaiting(const live_product& p) const;

  /// Starts a batch of `products` products; returns where they report.
  batch_results_ptr start_batch(size_t products);

  /// Advances over completed batches; returns the checkpoint they allow.
  uint64_t completed_checkpoint();

  /// Commits the uncommitted records, each shop's window as outbox segment
  /// `segment`, and the checkpoint, in one atomic write.
  caf::error commit();
};

/// The behaviour of the DIRECTORY actor.
directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          directory_config cfg);

} // namespace shelfsync
