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
#include "channels/shopify/backoff.hpp"
#include "channels/shopify/bucket.hpp"
#include "channels/shopify/wire.hpp"
#include "core/histogram.hpp"

namespace shelfsync {

namespace shopify {
enum class outcome;
} // namespace shopify

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
  /// How long each call to Shopify took, for GET /metrics.
  seconds_histogram request_seconds{
      {0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
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
  /// Every row it sends is recorded as sent (in flight) in the outbox: only
  /// then may it leave.
  bool recorded = false;
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
  /// When the current or last pass started (by the actor clock).
  caf::actor_clock::time_point pass_started;
  /// No read before this: the reads' average rate stays within the share.
  caf::actor_clock::time_point not_before;
  /// Generation of the one live drift timer.
  uint64_t timer = 0;
};

/// State of a Shopify SHOP actor. The behaviour's handlers only dispatch to
/// its methods, which live in shopify_shop.cpp (worker, timers, pump,
/// status), shopify_survey.cpp (where the round's items stand),
/// shopify_push.cpp (the mutations) and shopify_drift.cpp (the drift check).
struct shopify_shop_state : shop_base {
  using pointer = shopify_shop_actor::stateful_pointer<shopify_shop_state>;

  pointer self = nullptr;
  /// The detached worker owning the client; invalid while `blocked`.
  shopify_worker_actor worker;
  /// What the worker's client was made from (the token only as a hash).
  std::string client_identity;
  /// Why nothing can be sent (missing token, bad version); empty when fine.
  std::string blocked;
  /// A worker call is outstanding.
  bool busy = false;
  /// The last push could not be recorded as sent (the store refused it), so
  /// pushes wait.
  bool push_unrecorded = false;
  /// Products taken from the outbox for the survey in progress.
  std::vector<outbox::item> surveyed;
  /// Mutations still to send in this round, in order.
  std::deque<shopify_flight> flights;
  /// Generation of the one live pacing timer; older ones are ignored.
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
  /// Why Shopify refused the access token (401/403) or that it is not set;
  /// cleared by a call that succeeds or a new token.
  std::string credentials_refused;
  shopify_metrics metrics;
  shopify_drift drift;
  static inline const char* name = "shopify_shop";

  // -- handlers --------------------------------------------------------------

  /// Opens the outbox, makes the worker, arms the drift check, sends.
  void start(pointer ptr, shop_setup s);

  /// New views arrived from the directory.
  void on_pending(std::vector<view_change>&& changes);

  /// A new configuration.
  void on_reload(config_ptr conf);

  /// Status with the channel's details.
  shop_status status() const;

  /// The pacing timer set at generation `gen` fired.
  void on_pace(uint64_t gen);

  /// The drift timer set at generation `gen` fired.
  void on_drift_timer(uint64_t gen);

  /// Stops the worker and the shop.
  void stop();

  /// Sends whatever can go out now: the next push of the round, or a new
  /// round, else a drift read. Called after every message that may have
  /// made work possible.
  void pump();

 private:
  // -- common (shopify_shop.cpp) ---------------------------------------------

  /// Where a product's inventory item id is remembered in the channel memos.
  static std::string memo_key(const std::string& product);
  /// The outcome of a worker call.
  static shopify::outcome kind_of(const shopify_call& c);
  /// The component name in log lines.
  std::string component() const;
  /// Logs a failed storage write; the write is retried by the next round.
  void checked(const caf::error& err);
  /// Records `message` as the shop's last error and logs it.
  void note_error(const std::string& message);
  /// Ends a product's flight in the outbox.
  void finish(const std::string& product, bool retry);
  /// Arms the pacing or backoff timer; pump() waits for it.
  void arm(std::chrono::milliseconds delay);
  /// (Re)makes the worker when the shop's connection settings changed.
  void configure_client();
  /// Accounts a finished call and mirrors the bucket it reports.
  void account(const shopify_call& c);
  /// The delay before trying again after a failed call.
  std::chrono::milliseconds delay_after(const shopify_call& c);
  /// Forgets the worker after it failed mid-call and makes a new one.
  void replace_worker(const caf::error& err);
  /// The status details as JSON text.
  std::string details() const;

  // -- surveys (shopify_survey.cpp) ------------------------------------------

  /// Starts a round: takes what fits in one mutation from the outbox and
  /// asks the worker where those items stand.
  void start_round();
  /// Turns the survey's findings into flights.
  void on_survey(shopify_survey_reply& r,
                 const std::vector<std::string>& looked_up);

  // -- pushes (shopify_push.cpp) ---------------------------------------------

  /// Gives a flight a key from its content and records it as sent; returns
  /// (and notes in `f.recorded`) whether every row was recorded.
  bool seal(shopify_flight& f);
  /// Sends the front flight of the round when the bucket allows.
  void send_push();
  /// Records the worker's answer to the front flight.
  void on_push(shopify_push_reply& r);
  /// Confirms the values `f` found already held (its setup is applied).
  void confirm_held(const shopify_flight& f);
  /// Ends the front flight: its products leave the round.
  void land(bool retry);

  // -- drift check (shopify_drift.cpp) ---------------------------------------

  /// The drift check's settings; null once the shop left the config.
  const drift_check_config* drift_config() const;
  /// Arms the drift timer.
  void arm_drift(std::chrono::milliseconds delay);
  /// Arms the timer of the next pass, or stops the check when it is off.
  void schedule_drift();
  /// Sends the next read of the pass when the budget share allows; returns
  /// whether a call went out.
  bool drift_read();
  /// Fills the page of the next read from the delivery records after the
  /// cursor; returns false once the pass has visited every record.
  bool fill_page(size_t max_items);
  /// Compares one product's levels with its delivery record; corrects drift.
  void compare(const std::string& product, const shopify_item& now,
               const std::string& at);
  /// Records a drift read's answer.
  void on_drift_read(shopify_survey_reply& r);
};

/// The behaviour of a Shopify SHOP actor.
shopify_shop_actor::behavior_type
shopify_shop(shopify_shop_actor::stateful_pointer<shopify_shop_state> self,
             shop_setup setup);

/// Spawns the shop actor of a Shopify shop.
shop_actor spawn_shopify_shop(caf::actor_system& sys, shop_setup setup);

} // namespace shelfsync
