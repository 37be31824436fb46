#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace shelfsync {

// -- stock events ------------------------------------------------------------

/// One stock change from the warehouse system, as accepted into the log.
struct stock_event {
  /// Bits of `fields` saying which of the optional values are present.
  enum field : uint8_t {
    has_on_hand = 1,
    has_delta = 2,
    has_reserved = 4,
    has_version = 8,
  };
  /// Global position in the event log, assigned on acceptance (0 = not yet).
  uint64_t seq = 0;
  std::string id;
  std::string product;
  std::string warehouse;
  uint8_t fields = 0;
  int64_t on_hand = 0;
  int64_t delta = 0;
  int64_t reserved = 0;
  int64_t version = 0;
  /// The source's RFC 3339 time, as given; empty when absent.
  std::string at;
  /// Milliseconds since the epoch when shelfsync accepted the event.
  int64_t received_ms = 0;

  /// Returns whether the optional value `f` is present.
  bool has(field f) const { return (fields & f) != 0; }
};

/// @relates stock_event
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_event& x) {
  return f(caf::meta::type_name("stock_event"), x.seq, x.id, x.product,
           x.warehouse, x.fields, x.on_hand, x.delta, x.reserved, x.version,
           x.at, x.received_ms);
}

// -- product state -----------------------------------------------------------

/// Stock of one product in one warehouse.
struct warehouse_stock {
  int64_t on_hand = 0;
  int64_t reserved = 0;
  /// Last applied version; meaningful only when `versioned`.
  int64_t version = 0;
  bool versioned = false;
  /// Sequence number of the last event that changed this entry.
  uint64_t last_seq = 0;

  /// Returns `max(0, on_hand - reserved)`, never above `max(0, on_hand)`:
  /// a negative `reserved` (refused by the API since, but an older log may
  /// hold one) counts as 0, so that it can never raise what a shop is told
  /// above the real stock. A negative `on_hand` gives 0.
  int64_t available() const {
    auto held = reserved < 0 ? 0 : reserved;
    return on_hand <= held ? 0 : on_hand - held;
  }
};

/// What one shop should show for one product: a quantity per Shopify
/// location, or one quantity under the empty key for Amazon.
using shop_view = std::map<std::string, int64_t>;

/// Everything shelfsync knows about one product apart from channel outcomes.
struct product_record {
  /// The highest log sequence number applied to this product.
  uint64_t applied_seq = 0;
  /// Stock per warehouse id.
  std::map<std::string, warehouse_stock> stock;
  /// The desired view per shop id (absent while stock sync is off).
  std::map<std::string, shop_view> views;
  /// Sequence numbers of the latest events applied, oldest first (at most
  /// `recent_limit`): the product's history at hand, without a log scan.
  std::vector<uint64_t> recent;
  static constexpr size_t recent_limit = 32;
};

// -- channel work ------------------------------------------------------------

/// A changed view handed to a shop: what to send for one product.
struct view_change {
  std::string product;
  /// Log position of the last event that went into this view.
  uint64_t seq = 0;
  shop_view desired;
  /// The outbox segment that holds this change durably (set on commit).
  uint64_t segment = 0;
};

/// @relates view_change
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, view_change& x) {
  return f(caf::meta::type_name("view_change"), x.product, x.seq, x.desired,
           x.segment);
}

/// Where one shop view entry stands on its channel.
enum class delivery_state : uint8_t { pending, in_flight, confirmed, failed };

/// Returns "pending", "in_flight", "confirmed" or "failed".
const char* to_string(delivery_state x);

/// The channel's last word on one shop, product and location.
struct delivery {
  delivery_state state = delivery_state::pending;
  bool has_confirmed = false;
  int64_t confirmed = 0;
  /// The value in flight or last sent.
  int64_t sent = 0;
  /// Idempotency key or feed id of the request that carried `sent`.
  std::string request;
  int64_t sent_ms = 0;
  /// Channel error as given; empty code = no error.
  std::string error_code;
  /// Whether the error will not go away by retrying the same value.
  bool permanent = false;
  std::string error_message;
  std::string error_at;
  /// Times the drift check found the channel holding another value than
  /// `confirmed`; the value it held the last time, and when (RFC 3339).
  uint64_t drifts = 0;
  int64_t drift_seen = 0;
  std::string drift_at;
};

/// Channel outcomes for one shop and product, per location ("" for Amazon).
using delivery_record = std::map<std::string, delivery>;

// -- encoding ----------------------------------------------------------------

/// Serializes records into their stored form.
void encode(const stock_event& x, std::string& out);
void encode(const product_record& x, std::string& out);
void encode(const std::vector<view_change>& x, std::string& out);
void encode(const delivery_record& x, std::string& out);

/// An outbox segment encoded one change at a time, so that whoever collects
/// changes keeps bytes rather than copies; `finish` gives the stored form,
/// the same as `encode` of the vector of changes added.
class segment_builder {
 public:
  void add(const view_change& x);

  /// Returns how many changes were added.
  size_t size() const { return count_; }

  std::string finish() const;

  /// The stored form in two parts, so that it can be written without
  /// joining them: `header()` then `body()`.
  std::string header() const;
  const std::string& body() const { return body_; }

 private:
  size_t count_ = 0;
  std::string body_;
};

/// Parses a stored record; returns false when `in` is not a valid encoding.
bool decode(std::string_view in, stock_event& x);
bool decode(std::string_view in, product_record& x);
bool decode(std::string_view in, std::vector<view_change>& x);
bool decode(std::string_view in, delivery_record& x);

/// Reads how many changes an encoded outbox segment holds, from its header
/// alone; returns false when `in` does not start like a segment.
bool decode_segment_size(std::string_view in, uint64_t& n);

} // namespace shelfsync

namespace shelfsync {

/// @relates warehouse_stock
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, warehouse_stock& x) {
  return f(caf::meta::type_name("warehouse_stock"), x.on_hand, x.reserved,
           x.version, x.versioned, x.last_seq);
}

/// @relates product_record
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_record& x) {
  return f(caf::meta::type_name("product_record"), x.applied_seq, x.stock,
           x.views, x.recent);
}

} // namespace shelfsync
