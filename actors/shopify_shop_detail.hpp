#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "actors/shopify_shop.hpp"
#include "channels/shopify/client.hpp"

/// The steps of a Shopify SHOP actor, shared by the files that implement it:
/// shopify_shop.cpp (worker, timers, pump, behaviour), shopify_survey.cpp
/// (where the round's items stand), shopify_push.cpp (the mutations) and
/// shopify_drift.cpp (the drift check).
/// Not for use outside the shop actor.
namespace shelfsync::shopify_shop_detail {

using self_ptr = shopify_shop_actor::stateful_pointer<shopify_shop_state>;
using clock = std::chrono::steady_clock;

// -- common ------------------------------------------------------------------

/// Where a product's inventory item id is remembered in the channel memos.
std::string memo_key(const std::string& product);

/// The outcome of a worker call.
shopify::outcome kind_of(const shopify_call& c);

/// The shop's current configuration (null once it left the config).
const shop_config* my_shop(self_ptr self);

/// The component name in log lines.
std::string component(self_ptr self);

/// Logs a failed storage write; the write is retried by the next round.
void checked(self_ptr self, const caf::error& err);

/// Records `message` as the shop's last error and logs it.
void note_error(self_ptr self, const std::string& message);

/// Ends a product's flight in the outbox.
void finish(self_ptr self, const std::string& product, bool retry);

/// Arms the pacing or backoff timer; pump() waits for it.
void arm(self_ptr self, std::chrono::milliseconds delay);

/// (Re)makes the worker when the shop's connection settings changed.
void configure_client(self_ptr self);

/// Accounts a finished call and mirrors the bucket it reports.
void account(self_ptr self, const shopify_call& c);

/// The delay before trying again after a failed call.
std::chrono::milliseconds delay_after(self_ptr self, const shopify_call& c);

/// Forgets the worker after it failed mid-call and makes a new one.
void replace_worker(self_ptr self, const caf::error& err);

/// Sends whatever can go out now: the next push of the round, or a new
/// round. Called after every message that may have made work possible.
void pump(self_ptr self);

// -- surveys (shopify_survey.cpp) --------------------------------------------

/// Starts a round: takes what fits in one mutation from the outbox and asks
/// the worker where those items stand.
void start_round(self_ptr self);

// -- pushes (shopify_push.cpp) -----------------------------------------------

/// Gives a flight a key from its content and records it as sent.
void seal(self_ptr self, shopify_flight& f);

/// Sends the front flight of the round when the bucket allows.
void send_push(self_ptr self);

// -- drift check (shopify_drift.cpp) -----------------------------------------

/// Arms the timer of the next pass, or stops the check when it is off.
/// Called at start and after a reload.
void schedule_drift(self_ptr self);

/// The drift timer set at generation `gen` fired.
void on_drift_timer(self_ptr self, uint64_t gen);

/// Sends the next read of the pass when the budget share allows; returns
/// whether a call went out. Called by pump() when nothing else is to send.
bool drift_read(self_ptr self);

} // namespace shelfsync::shopify_shop_detail
