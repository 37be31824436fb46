#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/amazon_feed_record.hpp"
#include "actors/amazon_worker.hpp"
#include "actors/shop.hpp"
#include "channels/amazon/backoff.hpp"
#include "core/histogram.hpp"

namespace shelfsync {

/// Makes the worker of an Amazon shop (its id and config). Empty: a detached
/// `amazon_worker` with the real clients, linked to the shop. Tests give a
/// scripted one.
using amazon_worker_factory = std::function<amazon_worker_actor(
    caf::actor_system&, const std::string&, const config_ptr&)>;

/// A feed built from taken products and not yet accepted by createFeed.
struct amazon_outgoing {
  /// The document and its entries.
  std::shared_ptr<amazon::listings_feed> feed;
  /// The outbox seq of each entry.
  std::vector<uint64_t> seqs;
  /// The memo key its submission is recorded under while createFeed runs.
  std::string key;
};

/// A submitted feed being followed.
struct amazon_flight {
  amazon_feed_record record;
  /// The record's entries, as the worker classifies the report against.
  amazon_feed_ptr feed;
  /// The last processingStatus seen ("IN_QUEUE" until getFeed says more).
  std::string status = "IN_QUEUE";
  /// getFeed asks so far (drives poll_delay).
  uint32_t polls = 0;
  /// Generation of the poll timer; older ticks are ignored.
  uint64_t timer = 0;
  /// A check is outstanding at the worker.
  bool asking = false;
  /// When the next getFeed is due (ms since the epoch, by the actor clock).
  int64_t next_poll_ms = 0;
};

/// What the shop counts; shown under "metrics" in its status details.
struct amazon_shop_metrics {
  uint64_t feeds_submitted = 0;
  uint64_t messages = 0;
  uint64_t feeds_done = 0;
  uint64_t feeds_fatal = 0;
  uint64_t confirmed = 0;
  uint64_t failed = 0;
  uint64_t retried = 0;
  uint64_t resubmitted = 0;
  uint64_t throttled = 0;
  uint64_t deferred = 0;
  uint64_t submit_errors = 0;
  uint64_t poll_errors = 0;
  double processing_seconds_last = 0;
  /// From a feed's submission to the end of its processing, for GET
  /// /metrics (Amazon takes minutes to hours).
  seconds_histogram processing_seconds{
      {30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400}};
};

/// State of an AMAZON SHOP actor.
struct amazon_shop_state : shop_base {
  using pointer = amazon_shop_actor::stateful_pointer<amazon_shop_state>;

  pointer self = nullptr;
  amazon_worker_actor worker;
  /// Makes `worker` (see amazon_worker_factory).
  amazon_worker_factory make_worker;

  // -- batching --------------------------------------------------------------

  /// Feeds built in this round and waiting for createFeed, oldest first.
  std::deque<amazon_outgoing> unsent;
  /// A submission is outstanding at the worker.
  bool submitting = false;
  /// Feeds submitted in the current round (bounded by the feed burst).
  uint32_t round = 0;
  /// Generation of the batch timer and when it fires next.
  uint64_t batch_timer = 0;
  int64_t next_batch_ms = 0;
  /// No submission before this time (after a refusal or the rate model's).
  int64_t hold_until_ms = 0;
  amazon::backoff submit_backoff;

  // -- following -------------------------------------------------------------

  /// Submitted feeds by memo key. A memo without a feed id is a submission
  /// whose answer never came (the engine stopped while createFeed ran).
  std::map<std::string, amazon_flight> flights;
  /// The number of the next feed memo key.
  uint64_t next_key = 1;
  /// Memos of finished feeds that the store refused to drop.
  std::vector<std::string> finished_memos;

  // -- status ----------------------------------------------------------------

  std::string last_success;
  std::string last_error;
  /// Why LWA refused the credentials (invalid_client, invalid_grant, ...)
  /// or that they are not set; cleared by an answer from Amazon.
  std::string credentials_refused;
  amazon_shop_metrics metrics;

  /// Loads the outbox and the feeds in flight, spawns the worker, arms the
  /// timers.
  void start(pointer ptr, shop_setup s);

  /// The shop's current configuration.
  const shop_config& shop() const;

  /// The batch timer fired.
  void on_batch(uint64_t generation);

  /// New views arrived from the directory.
  void on_pending(std::vector<view_change>&& changes);

  /// A new configuration.
  void on_reload(config_ptr conf);

  /// The worker answered a submission.
  void on_submitted(amazon_submission& answer);

  /// The poll timer of the feed under `key` fired.
  void on_poll(const std::string& key, uint64_t generation);

  /// The worker answered a check of the feed under `key`.
  void on_checked(const std::string& key, amazon_feed_check& answer);

  /// Status with the channel's details.
  shop_status status() const;

  /// Stops the worker.
  void stop();

  static inline const char* name = "amazon_shop";

 private:
  /// Puts the products of feeds submitted before a restart back in flight
  /// (and records submissions whose answer never came); runs before the
  /// outbox loads.
  void resume_feeds();
  void arm_batch(std::chrono::milliseconds delay);
  void submit_more();
  void take_batch();
  void submit_front();
  void arm_poll(amazon_flight& f, std::chrono::milliseconds delay);
  void finish_feed(const std::string& key, amazon_flight& f,
                   amazon_feed_check& answer);
  void requeue(const std::vector<amazon::feed_entry>& entries);
  void note_error(const std::string& message);
  /// Notes what an answer says about the credentials (`f` null: success).
  void note_credentials(const amazon_failure* f);
  void check(const caf::error& err, const char* what);
  std::chrono::milliseconds feed_poll() const;
};

/// The behaviour of an AMAZON SHOP actor.
amazon_shop_actor::behavior_type
amazon_shop(amazon_shop_actor::stateful_pointer<amazon_shop_state> self,
            shop_setup setup);

/// The behaviour of an AMAZON SHOP actor whose worker `make_worker` makes.
amazon_shop_actor::behavior_type
amazon_shop_with(amazon_shop_actor::stateful_pointer<amazon_shop_state> self,
                 shop_setup setup, amazon_worker_factory make_worker);

/// Spawns the shop actor of an Amazon shop.
shop_actor spawn_amazon_shop(caf::actor_system& sys, shop_setup setup);

} // namespace shelfsync
