#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// What a product actor is spawned with.
struct product_config {
  std::string code;
  std::shared_ptr<store> db;
  directory_actor directory;
  /// The actor reports itself idle after this long without messages.
  std::chrono::milliseconds idle_after{std::chrono::seconds{30}};
};

/// State of a PRODUCT actor.
struct product_state {
  product_config cfg;
  product_record record;
  /// Messages received; the idle timer compares it with its own snapshot.
  uint64_t activity = 0;
  /// The size of the record as last encoded.
  size_t encoded_size = 256;
  static inline const char* name = "product";

  /// Applies `events`, recomputes the views of every shop under `conf`, and
  /// returns what changed (every view when `restate`).
  product_update apply(const config& conf,
                       const std::vector<stock_event>& events,
                       bool restate = false);

  /// Recomputes the views under `conf` without new events.
  product_update refresh(const config& conf);

  /// Counts a message handled and adds `update` to its batch's results,
  /// telling the directory when it completes the batch.
  void report(batch_results& results, product_update&& update);

 private:
  void recompute(const config& conf, product_update& out, bool restate);
};

/// The behaviour of a PRODUCT actor. Loads the product's record from the
/// store on start.
product_actor::behavior_type
product(product_actor::stateful_pointer<product_state> self,
        product_config cfg);

} // namespace shelfsync
