#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/interfaces.hpp"
#include "channels/amazon/feed_client.hpp"
#include "channels/amazon/lwa.hpp"
#include "channels/amazon/rate_limit.hpp"

namespace shelfsync {

/// State of the AMAZON WORKER actor.
struct amazon_worker_state {
  /// The shop this worker calls for.
  std::string shop;
  /// Its Amazon settings in force.
  amazon_config amazon;
  /// The clients; null while the settings or credentials do not allow
  /// calling (see `unusable`).
  std::unique_ptr<amazon::lwa_client> lwa;
  std::unique_ptr<amazon::feed_client> client;
  /// The budget model, kept across reloads: it remembers what was spent.
  amazon::rate_limiter limits;
  /// Why no client exists, as a failure to answer with.
  amazon_failure unusable;

  /// Builds the clients from `amazon` and the environment if they do not
  /// exist; returns false (and sets `unusable`) when that is not possible.
  bool ready();

  /// Makes the clients be rebuilt before the next call.
  void reset(const amazon_config& next);

  /// Calls createFeedDocument, the upload and createFeed for `body`.
  amazon_submission submit(std::string body);

  /// Calls getFeed for `feed_id`; when it is terminal, classifies its report
  /// against `feed`.
  amazon_feed_check check(const std::string& feed_id,
                          const amazon::listings_feed& feed);

  static inline const char* name = "amazon_worker";
};

/// The behaviour of an AMAZON WORKER for `shop` under `conf`.
amazon_worker_actor::behavior_type
amazon_worker(amazon_worker_actor::stateful_pointer<amazon_worker_state> self,
              std::string shop, config_ptr conf);

/// Turns a call error into the failure a shop acts on; `what` names the
/// operation ("submitting a feed").
amazon_failure to_failure(const amazon::call_error& err, const char* what);

} // namespace shelfsync
