#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/jetstream.hpp"
#include "storage/records.hpp"

namespace shelfsync::cluster {

// -- names --------------------------------------------------------------------
//
// The cluster's event log is the stream `SHELFSYNC_EVENTS`: one subject per
// slot, `shelfsync.events.<slot>`, each message one slot's share of an
// ingested batch. Derived state lives in the compacted stream
// `SHELFSYNC_STATE` (the latest message of each subject), every write a
// per-subject compare-and-set:
// - `shelfsync.state.product.<slot>.<hex of the code>`: a product's stock,
//   the events-stream sequence it was applied up to, and how many id
//   segments it has;
// - `shelfsync.state.ids.<slot>.<hex of the code>.<n>`: segment n (from 0)
//   of the event ids applied to the product, each id with the sequence of
//   the message that applied it (cluster/product_ids.hpp);
// - `shelfsync.state.id.<hex of the event id>`: the claim of an event id,
//   cluster-wide: the product and the events-stream sequence of the
//   message that applied it, written once (expected last subject sequence
//   0) by the applier that first applies the id; any later event with that
//   id, whatever its product or slot, is a duplicate (cluster/id_claims.hpp);
// - `shelfsync.state.checkpoint.<slot>`: the sequence a slot is applied up
//   to (its owner's checkpoint).
// The channel side (cluster/shop_state.hpp), written by the owner of the
// shop's slot (`slot_of_shop`):
// - `shelfsync.state.shop.<hex of the shop id>.checkpoint`: the state-stream
//   sequence up to which every product state was delivered to the shop (or
//   failed for good);
// - `shelfsync.state.shop.<hex of the shop id>.sent.<hex of the code>`: the
//   shop's delivery record of a product: per location (Shopify) or under ""
//   (Amazon) the confirmed quantity and the product's applied_seq it came
//   from, and a pending quantity while a push is in flight;
// - `shelfsync.state.shop.<hex of the shop id>.feeds`: an Amazon shop's
//   feeds in flight and its createFeed budget;
// - `shelfsync.state.shop.<hex of the shop id>.resync`: the resyncs asked
//   for (by any node) and run (by the shop's driver), with their progress.
// Hex keeps any character of a code or id out of the subject's syntax.

inline const std::string events_stream = "SHELFSYNC_EVENTS";
inline const std::string state_stream = "SHELFSYNC_STATE";

/// `shelfsync.events.<slot>`.
std::string events_subject(uint32_t slot);

/// `shelfsync.state.product.<slot>.<hex>`: product codes may hold any
/// character, subjects may not, hence the hex.
std::string product_subject(uint32_t slot, const std::string& code);

/// `shelfsync.state.checkpoint.<slot>`.
std::string checkpoint_subject(uint32_t slot);

/// Lower-case hex of every byte of `text`.
std::string hex_text(const std::string& text);

/// The specification of both streams, with `replicas` and the events
/// stream's deduplication window (0: the server's 2 minutes).
stream_spec events_stream_spec(int replicas,
                               std::chrono::milliseconds duplicate_window);
stream_spec state_stream_spec(int replicas);

// -- messages -----------------------------------------------------------------

/// The messages of one ingested batch.
struct batch_messages {
  /// Per slot (`slot_of(product)`, slots in ascending order), the slot's
  /// events in batch order, cut into parts of at most `max_bytes` of JSON
  /// (NATS refuses messages over 1 MB by default). Each msg-id is derived
  /// from the slot, the part and a SHA-256 of the message's content, so
  /// that resending the same batch stores nothing twice.
  std::vector<outgoing_message> messages;
  /// The number of events each message holds.
  std::vector<size_t> event_counts;
  /// Events left out because their id appeared earlier in the batch (one
  /// node counts them as duplicates too).
  size_t repeated = 0;
};

/// The messages ingesting `events` publishes (see batch_messages).
batch_messages split_batch(const std::vector<stock_event>& events,
                           uint32_t slots, size_t max_bytes = 256 * 1024);

/// `split_batch(events, slots, max_bytes).messages`, with the number of
/// events left out as repeats in `*repeated`.
std::vector<outgoing_message>
event_messages(const std::vector<stock_event>& events, uint32_t slots,
               size_t* repeated, size_t max_bytes = 256 * 1024);

/// The events of one events-stream message; `seq` of each is 0.
outcome<std::vector<stock_event>> decode_events(const std::string& data);

/// A message's events per product: the products in the order they first
/// appear, each with its events in message order.
struct product_events {
  std::string product;
  std::vector<const stock_event*> events;
};
std::vector<product_events>
events_by_product(const std::vector<stock_event>& events);

// -- state --------------------------------------------------------------------

/// A product as the cluster keeps it.
struct product_state {
  std::string product;
  /// The events-stream sequence of the last message applied to it.
  uint64_t applied_seq = 0;
  /// Stock per warehouse (`applied_seq` and `recent` of the record unused).
  product_record record;
  /// How many segments hold the event ids applied to it (product_ids), and
  /// how many ids they hold.
  uint32_t id_segments = 0;
  uint64_t id_count = 0;
};

std::string encode(const product_state& state);
outcome<product_state> decode_product(const std::string& data);

/// A stored value with the subject sequence a CAS write over it expects.
template<class T>
struct versioned {
  T value;
  /// Its sequence in the state stream; 0 when the subject has no message.
  uint64_t subject_seq = 0;
};

/// The last message of `subject` in the state stream, read from the stream
/// leader, with its sequence; nothing when the subject has none.
outcome<std::optional<stored_message>> last_state(jetstream& js,
                                                  const std::string& subject);

/// Writes `data` to `subject` of the state stream over the version
/// `expected_seq` (0: none yet). A conflict whose stored message is `data`
/// itself (a retry of a write that landed but whose answer was lost) is a
/// success. Returns the new subject sequence.
outcome<uint64_t> cas_write(jetstream& js, const std::string& subject,
                            const std::string& data, uint64_t expected_seq);

/// `cas_write` for several subjects at once (pipelined: one round trip for
/// all, `jetstream::publish_cas_batch`), each with the same recognition of
/// a retried write that had landed. Per message, in order: its new subject
/// sequence or its error (`conflict`: someone else wrote first; anything
/// else may be retried). The subjects must differ.
std::vector<outcome<uint64_t>>
cas_write_batch(jetstream& js, const std::vector<cas_message>& messages);

/// Reads a product's state from the stream leader; nothing when the cluster
/// never stored it.
outcome<std::optional<versioned<product_state>>>
load_product(jetstream& js, uint32_t slot, const std::string& code);

/// Writes `state` over the version `expected_seq` (0: none yet). A
/// `conflict` when someone else wrote since: the caller no longer owns the
/// slot and must stop. A retry after a timeout whose write had landed is
/// recognised (the stored message is this one) and succeeds.
outcome<uint64_t> store_product(jetstream& js, uint32_t slot,
                                const product_state& state,
                                uint64_t expected_seq);

/// A slot's checkpoint: the events-stream sequence it is applied up to (0
/// with subject_seq 0 when never written).
outcome<versioned<uint64_t>> load_checkpoint(jetstream& js, uint32_t slot);

/// Writes a slot's checkpoint by compare-and-set, like `store_product`.
outcome<uint64_t> store_checkpoint(jetstream& js, uint32_t slot,
                                   uint64_t applied_seq, uint64_t expected_seq);

/// The last sequence of a slot in the events stream, 0 when it has none.
outcome<uint64_t> last_event_seq(jetstream& js, uint32_t slot);

} // namespace shelfsync::cluster
