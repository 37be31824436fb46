#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/event_log.hpp"
#include "cluster/jetstream.hpp"

/// What the cluster keeps of a shop's deliveries (subjects: event_log.hpp's
/// names comment). Written only by the node that owns the shop's slot, each
/// write a per-subject compare-and-set.
namespace shelfsync::cluster {

/// `shelfsync.state.product.>`: every product state (what shop drivers read).
inline const std::string all_products_filter = "shelfsync.state.product.>";

/// `shelfsync.state.shop.<hex shop>.checkpoint`.
std::string shop_checkpoint_subject(const std::string& shop);

/// `shelfsync.state.shop.<hex shop>.sent.<hex code>`.
std::string shop_sent_subject(const std::string& shop, const std::string& code);

/// `shelfsync.state.shop.<hex shop>.feeds`.
std::string shop_feeds_subject(const std::string& shop);

/// Where one location (Shopify) or the one quantity (Amazon, key "") of a
/// product stands on a shop.
struct location_delivery {
  /// The last quantity the channel confirmed, and the product's applied_seq
  /// it was computed from.
  std::optional<int64_t> confirmed;
  uint64_t confirmed_seq = 0;
  /// A quantity sent (or about to be) whose answer is not known yet, the
  /// product's applied_seq it came from and the request's key (Shopify
  /// idempotency key or Amazon feed message).
  std::optional<int64_t> pending;
  uint64_t pending_seq = 0;
  std::string key;
  /// Why the value computed from the product's applied_seq `failed_seq`
  /// was refused for good (empty when it was not); tried again only for a
  /// newer product state.
  std::string failed;
  uint64_t failed_seq = 0;
};

/// `shelfsync.state.shop.<hex shop>.resync`.
std::string shop_resync_subject(const std::string& shop);

/// A shop's resyncs: asked for by any node (`requested` counts up), run by
/// the shop's driver, which then re-reads what the shop holds and pushes
/// every difference, whatever its delivery records say. Written by CAS by
/// both; each side only changes its own fields.
struct shop_resync {
  /// How many resyncs were asked for, and when the last one was.
  uint64_t requested = 0;
  int64_t requested_ms = 0;
  /// The resync running (0: none), the node running it, when it started
  /// and how many products it compared so far (written at its end).
  uint64_t running = 0;
  std::string node;
  int64_t started_ms = 0;
  /// The last resync that finished, when, and the products it compared and
  /// the rows it pushed.
  uint64_t done = 0;
  int64_t finished_ms = 0;
  uint64_t scanned = 0;
  uint64_t pushed = 0;
};

std::string encode(const shop_resync& r);
outcome<shop_resync> decode_resync(const std::string& data);

/// The shop's resync record (zero with subject_seq 0 when none).
outcome<versioned<shop_resync>> load_resync(jetstream& js,
                                            const std::string& shop);

/// Writes it by CAS.
outcome<uint64_t> store_resync(jetstream& js, const std::string& shop,
                               const shop_resync& r, uint64_t expected_seq);

/// A shop's delivery record of one product.
struct delivery_record {
  std::map<std::string, location_delivery> locations;
};

std::string encode(const delivery_record& r);
outcome<delivery_record> decode_delivery(const std::string& data);

/// The record of `code` for `shop` (empty with subject_seq 0 when none).
outcome<versioned<delivery_record>>
load_delivery(jetstream& js, const std::string& shop, const std::string& code);

/// Writes it over `expected_seq` by CAS; returns the new subject sequence.
outcome<uint64_t> store_delivery(jetstream& js, const std::string& shop,
                                 const std::string& code,
                                 const delivery_record& r,
                                 uint64_t expected_seq);

/// Every delivery record of `shop` (the newest message of each of its
/// `sent.` subjects) by product code. Reads them all: O(records).
outcome<std::map<std::string, delivery_record>>
scan_deliveries(jetstream& js, const std::string& shop);

/// One SKU of an Amazon feed: message n of the feed is the n-th SKU.
struct feed_memo_sku {
  std::string sku;
  int64_t quantity = 0;
  /// The product's applied_seq the quantity came from.
  uint64_t seq = 0;
};

/// An Amazon feed recorded before createFeed.
struct feed_memo_entry {
  /// Empty until createFeed answered.
  std::string feed_id;
  /// Set just before createFeed is called: without a feed id the feed may
  /// or may not exist then. Unset, no feed can exist for the entry.
  bool creating = false;
  /// When it was recorded (milliseconds since the Unix epoch).
  int64_t created_ms = 0;
  std::vector<feed_memo_sku> skus;
};

/// An Amazon seller's feeds in flight and its createFeed budget: the times
/// of its recent createFeed calls, whichever node made them.
struct feed_memo {
  std::vector<feed_memo_entry> feeds;
  std::vector<int64_t> create_times_ms;
};

std::string encode(const feed_memo& m);
outcome<feed_memo> decode_feed_memo(const std::string& data);

/// The seller's memo (empty with subject_seq 0 when none).
outcome<versioned<feed_memo>> load_feed_memo(jetstream& js,
                                             const std::string& shop);

/// Writes it over `expected_seq` by CAS.
outcome<uint64_t> store_feed_memo(jetstream& js, const std::string& shop,
                                  const feed_memo& m, uint64_t expected_seq);

/// A shop's checkpoint.
struct shop_checkpoint {
  /// The state-stream sequence every product state is delivered up to.
  uint64_t state_seq = 0;
  /// A digest of the shop settings the views were computed with: other
  /// settings (a reload) make every product's view count again.
  std::string settings;
};

/// The shop's checkpoint (zero with subject_seq 0 when none).
outcome<versioned<shop_checkpoint>>
load_shop_checkpoint(jetstream& js, const std::string& shop);

/// Writes the shop's checkpoint by CAS.
outcome<uint64_t> store_shop_checkpoint(jetstream& js, const std::string& shop,
                                        const shop_checkpoint& cp,
                                        uint64_t expected_seq);

} // namespace shelfsync::cluster
