#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/fwd.hpp"

/// The catalogue of shelfsync's actors: every typed interface, in the order
/// an event travels through them (log, product, directory, shops), then
/// each channel's shop and the detached worker that makes its calls.
namespace shelfsync {

/// The EVENT LOG: the single writer of the durable event log. Answers a batch
/// only once it is on disk, then hands the accepted events to the directory.
using event_log_actor = caf::typed_actor<
    // Appends a batch all-or-nothing; duplicates by id are counted, not
    // applied.
    caf::replies_to<atom::ingest,
                    std::vector<stock_event>>::with<ingest_result>>;

/// A PRODUCT: owns the stock and the shop views of exactly one product code.
/// Spawned on first use, stopped when idle; its state lives in the store.
using product_actor = caf::typed_actor<
    // Applies events of one dispatched batch; adds a product_update to the
    // batch's results.
    caf::reacts_to<atom::apply, config_ptr, batch_results_ptr,
                   std::vector<stock_event>>,
    // Applies replayed events like apply, and reports every view, changed or
    // not (see the directory's replay).
    caf::reacts_to<atom::replay, config_ptr, batch_results_ptr,
                   std::vector<stock_event>>,
    // Recomputes every view under a new config; adds a product_update to the
    // batch's results.
    caf::reacts_to<atom::refresh, config_ptr, batch_results_ptr>,
    // Reads the current stock and views.
    caf::replies_to<atom::get>::with<product_record>,
    // Idle check (timer self-send carrying the activity count it was set at).
    caf::reacts_to<atom::idle_check, uint64_t>,
    // Stops; sent by the directory once the product's state is on disk.
    caf::reacts_to<atom::stop>>;

/// A SHOP: one connected sales channel account. Holds the outbox of views
/// still to be delivered and, with a channel attached, delivers them.
using shop_actor = caf::typed_actor<
    // Views that changed, committed to the outbox.
    caf::reacts_to<atom::pending, std::vector<view_change>>,
    // A new configuration (stock sync, mapping, rules may have changed).
    caf::reacts_to<atom::reload, config_ptr>,
    // Reads the shop's status.
    caf::replies_to<atom::status>::with<shop_status>,
    // Starts a resync; replies with its progress (JSON text), or the error
    // conflict while one runs.
    caf::replies_to<atom::resync>::with<std::string>,
    // Resync tend timer (self-send carrying its generation); generation 0
    // comes from the engine once the log is replayed, to continue a resync.
    caf::reacts_to<atom::tend, uint64_t>,
    // Stops.
    caf::reacts_to<atom::stop>>;

/// The shop actors by shop id.
using shop_map = std::map<std::string, shop_actor>;

/// The DIRECTORY: routes events to product actors, spawning them on demand,
/// and is the single writer of derived state (product records, outbox
/// segments, checkpoint), written behind in atomic commits.
using directory_actor = caf::typed_actor<
    // Accepted events, in log order.
    caf::reacts_to<atom::apply, std::vector<stock_event>>,
    // Events of the log past the checkpoint, replayed after a restart. A
    // crash rolls derived state back further than the delivery records and
    // the requests in flight, so the shops may hold a newer value than a
    // product's recorded view: every product a replay touches reports its
    // view at its latest sequence number, even where it seems unchanged.
    caf::reacts_to<atom::replay, std::vector<stock_event>>,
    // Every product of dispatched batch N added its result to the batch's
    // results (sent by the last one).
    caf::reacts_to<atom::applied, uint64_t>,
    // Commit timer (self-send carrying its generation).
    caf::reacts_to<atom::commit, uint64_t>,
    // A product saw no message since its activity count N.
    caf::reacts_to<atom::idle, std::string, uint64_t>,
    // Reads a product (error not_found if never seen).
    caf::replies_to<atom::get, std::string>::with<product_record>,
    // Replies with the checkpoint once everything dispatched is committed.
    caf::replies_to<atom::sync>::with<uint64_t>,
    // Switches to a new config and shop set; recomputes every view.
    caf::reacts_to<atom::reload, config_ptr, shop_map>,
    // Recomputes the next chunk of stored products after a reload
    // (self-send). Where it goes on is the state's `refresh_after`, which a
    // further reload resets: a chunk message already queued then starts
    // over from the first product.
    caf::reacts_to<atom::refresh>,
    // Sets the shop actors that receive view changes (once, at start).
    caf::reacts_to<atom::attach, shop_map>,
    // Counts the live product actors.
    caf::replies_to<atom::count>::with<uint64_t>,
    // Reads a resync page: the newest views of shop S for up to N stored
    // products after code C (uncommitted records included).
    caf::replies_to<atom::resync, std::string, std::string,
                    uint64_t>::with<resync_page>,
    // Stops every product actor and itself.
    caf::reacts_to<atom::stop>>;

// -- Shopify -----------------------------------------------------------------

/// The Shopify SHOP actor: a shop actor that delivers its outbox to one
/// Shopify store, immediately, paced by the store's bucket.
using shopify_shop_actor = shop_actor::extend<
    // A pacing or backoff timer set at generation N fired.
    caf::reacts_to<atom::pace, uint64_t>,
    // The drift check's timer set at generation N fired.
    caf::reacts_to<atom::drift, uint64_t>>;

/// The SHOPIFY WORKER: owns one shop's blocking `shopify::client` on a
/// detached thread, so that the cooperative shop actor never blocks. Answers
/// one call at a time; the client paces itself by its bucket model and
/// answers `throttled` without sending beyond `max_pacing_wait`.
using shopify_worker_actor = caf::typed_actor<
    // Looks up unmapped SKUs and reads the levels of known items.
    caf::replies_to<atom::survey, shopify_survey>::with<shopify_survey_reply>,
    // Sends one mutation.
    caf::replies_to<atom::push, shopify_push>::with<shopify_push_reply>>;

// -- Amazon ------------------------------------------------------------------

/// An AMAZON SHOP: a shop_actor that sends its pending views in timed
/// batches of JSON_LISTINGS_FEEDs through its AMAZON WORKER and follows
/// each feed until its report says, per SKU, confirmed or failed.
using amazon_shop_actor = shop_actor::extend<
    // Batch timer (self-send carrying the generation it was set at).
    caf::reacts_to<atom::batch, uint64_t>,
    // Poll timer of the feed under a memo key (and its timer generation).
    caf::reacts_to<atom::poll, std::string, uint64_t>>;

/// The AMAZON WORKER: owns the blocking LWA and Feeds API clients of one
/// Amazon shop and makes its SP-API calls, one at a time, on its own thread
/// (spawned detached), so that the shop actor never blocks. It never retries
/// by itself: every answer says what happened and the shop decides.
using amazon_worker_actor = caf::typed_actor<
    // Uploads one feed document and creates the feed; replies the feedId.
    caf::replies_to<atom::submit, std::string>::with<amazon_submission>,
    // Asks getFeed; once terminal, fetches and classifies the report.
    caf::replies_to<atom::poll, std::string,
                    amazon_feed_ptr>::with<amazon_feed_check>,
    // Takes the shop's settings from a new config (endpoints, credentials).
    caf::reacts_to<atom::reload, config_ptr>,
    // Stops.
    caf::reacts_to<atom::stop>>;

// -- storage upkeep
// ------------------------------------------------------------

/// The RETENTION actor (detached): drops the log entries that
/// `node.log_retention` lets go, never past the durable checkpoint, one
/// chunk per message. Stopped with an exit message.
using retention_actor = caf::typed_actor<
    // Retention timer: drops the next chunk that is due (self-send).
    caf::reacts_to<atom::retain>>;

} // namespace shelfsync
