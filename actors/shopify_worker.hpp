#pragma once

#include <memory>
#include <string>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/fwd.hpp"
#include "channels/shopify/client.hpp"

namespace shelfsync {

/// The SHOPIFY WORKER: owns one shop's blocking `shopify::client` on a
/// detached thread, so that the cooperative shop actor never blocks. Answers
/// one call at a time; the client paces itself by its bucket model and
/// answers `throttled` without sending beyond `max_pacing_wait`.
using shopify_worker_actor = caf::typed_actor<
    // Looks up unmapped SKUs and reads the levels of known items.
    caf::replies_to<atom::survey, shopify_survey>::with<shopify_survey_reply>,
    // Sends one mutation.
    caf::replies_to<atom::push, shopify_push>::with<shopify_push_reply>>;

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
