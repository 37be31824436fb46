#pragma once

#include <map>
#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "actors/outbox.hpp"
#include "actors/resync.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// What every shop actor is spawned with.
struct shop_setup {
  std::string id;
  config_ptr conf;
  std::shared_ptr<store> db;
  /// Reads resync pages; a shop without one cannot resync.
  directory_actor directory;
  resync_options resync;
};

/// Returns the basic status of a shop: id, channel, stock sync and counts.
shop_status basic_status(const shop_config& shop, const outbox& box);

/// Adds the progress of `run`, if any, to the details of `status`.
void add_resync(shop_status& status, const resync_run& run);

/// State of a SHOP actor without a channel: it keeps the outbox and sends
/// nothing. Used for tests of the engine core.
struct shop_state {
  shop_setup setup;
  std::unique_ptr<outbox> box;
  std::unique_ptr<resync_run> resync;
  static inline const char* name = "shop";
};

/// The behaviour of a SHOP actor that only holds its outbox.
shop_actor::behavior_type shop(shop_actor::stateful_pointer<shop_state> self,
                               shop_setup setup);

} // namespace shelfsync
