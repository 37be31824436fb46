#pragma once

#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "channels/shopify/client.hpp"

namespace shelfsync {

/// State of a SHOPIFY WORKER.
struct shopify_worker_state {
  /// Null when the client config was refused (see `refusal`).
  std::unique_ptr<shopify::client> client;
  /// Why no client could be made; never contains the token.
  std::string refusal;
  static inline const char* name = "shopify_worker";
};

/// The behaviour of a SHOPIFY WORKER; spawn it `detached`.
shopify_worker_actor::behavior_type shopify_worker(
    shopify_worker_actor::stateful_pointer<shopify_worker_state> self,
    shopify::client_config cfg);

/// Converts a push message into the client's push request (deterministic,
/// so that a resent push carries exactly the same document).
shopify::push_request to_push_request(const shopify_push& p);

} // namespace shelfsync
