#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <caf/actor_clock.hpp>

#include "actors/interfaces.hpp"
#include "actors/outbox.hpp"
#include "actors/resync.hpp"
#include "storage/store.hpp"

namespace shelfsync {

namespace shopify {
struct client_config;
} // namespace shopify

/// Makes the worker of a Shopify shop from its client settings. Empty: a
/// detached `shopify_worker` with the real client. Tests give a scripted one.
using shopify_worker_factory = std::function<shopify_worker_actor(
    caf::actor_system&, const shopify::client_config&)>;

/// What every shop actor is spawned with.
struct shop_setup {
  std::string id;
  config_ptr conf;
  std::shared_ptr<store> db;
  /// Reads resync pages; a shop without one cannot resync.
  directory_actor directory;
  resync_options resync;
  /// Makes a Shopify shop's worker (see shopify_worker_factory).
  shopify_worker_factory shopify_worker;
};

/// What the state of every shop actor holds and how it starts: its setup,
/// its outbox, its resync, and the clock its decisions read.
struct shop_base {
  shop_setup setup;
  std::unique_ptr<outbox> box;
  std::unique_ptr<resync_run> resync;

  /// Opens the shop of `s` on `clock` (the actor's): makes the outbox, runs
  /// `resume` (what the channel puts back in flight before the outbox
  /// loads), loads the outbox and the resync. Each failure goes to `report`
  /// with what failed; the shop runs on with what could be loaded.
  void open(shop_setup s, const caf::actor_clock& clock,
            const std::function<void()>& resume,
            const std::function<void(const caf::error&, const char*)>& report);

  /// The shop's configuration; null once the shop left the config.
  const shop_config* find_shop() const;

  // -- time ------------------------------------------------------------------

  /// The actor clock's now: virtual under the test coordinator, so that a
  /// test advances time instead of sleeping.
  caf::actor_clock::time_point now() const;

  /// Milliseconds since the epoch by the actor clock: the wall clock when
  /// the shop opened plus the actor clock's time since.
  int64_t now_ms() const;

 private:
  const caf::actor_clock* clock_ = nullptr;
  caf::actor_clock::time_point opened_;
  int64_t opened_ms_ = 0;
};

/// Returns the basic status of a shop: id, channel, stock sync and counts.
shop_status basic_status(const shop_config& shop, const outbox& box);

/// Adds the progress of `run`, if any, to the details of `status`.
void add_resync(shop_status& status, const resync_run& run);

/// State of a SHOP actor without a channel: it keeps the outbox and sends
/// nothing. Used for tests of the engine core.
struct shop_state : shop_base {
  static inline const char* name = "shop";
};

/// The behaviour of a SHOP actor that only holds its outbox.
shop_actor::behavior_type shop(shop_actor::stateful_pointer<shop_state> self,
                               shop_setup setup);

} // namespace shelfsync
