#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/fwd.hpp"

namespace shelfsync {

namespace shopify {
struct client_config;
} // namespace shopify

/// The SHOPIFY WORKER: owns one shop's blocking `shopify::client` on a
/// detached thread, so that the cooperative shop actor never blocks. Answers
/// one call at a time; the client paces itself by its bucket model and
/// answers `throttled` without sending beyond `max_pacing_wait`.
using shopify_worker_actor = caf::typed_actor<
    // Looks up unmapped SKUs and reads the levels of known items.
    caf::replies_to<atom::survey, shopify_survey>::with<shopify_survey_reply>,
    // Sends one mutation.
    caf::replies_to<atom::push, shopify_push>::with<shopify_push_reply>>;

/// Spawns a SHOPIFY WORKER, detached, with a client made from `cfg`. A
/// config the client refuses yields a worker that answers every call with
/// the permanent error CONFIG and the reason (never the token).
shopify_worker_actor spawn_shopify_worker(caf::actor_system& sys,
                                          shopify::client_config cfg);

} // namespace shelfsync
