#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shelfsync::amazon {

// -- input
// ----------------------------------------------------------------------

/// How JSON_LISTINGS_FEED documents are built for one seller.
struct feed_options {
  /// The merchant token that goes into `header.sellerId`.
  std::string seller_id;
  /// `productType` of every message unless an update names its own. Amazon
  /// accepts the root type "PRODUCT" for offer attributes such as quantity.
  std::string product_type = "PRODUCT";
  /// `header.issueLocale`, e.g. "en_US"; omitted when empty (Amazon then uses
  /// the first marketplace's language).
  std::string issue_locale;
  /// The selector of the fulfillment_availability entry: "DEFAULT" is
  /// merchant-fulfilled. Never send a DEFAULT quantity for an FBA SKU.
  std::string fulfillment_channel_code = "DEFAULT";
  /// At most this many messages per feed (the schema's maxItems).
  size_t max_messages = 25000;
  /// At most this many bytes per serialized feed (Amazon's 10 MiB advice).
  size_t max_bytes = 10 * 1024 * 1024;
};

/// One desired quantity for one SKU.
struct quantity_update {
  std::string sku;
  int64_t quantity = 0;
  /// Overrides feed_options::product_type for this SKU when not empty.
  std::string product_type;
};

// -- output
// ---------------------------------------------------------------------

/// What one message of a feed carries, so that its report can be mapped back.
struct feed_entry {
  std::string sku;
  int64_t quantity = 0;
};

/// One serialized JSON_LISTINGS_FEED document.
struct listings_feed {
  /// The document, ready for upload (UTF-8 JSON, no insignificant spaces).
  std::string body;
  /// The message with messageId `n` is `entries[n - 1]`.
  std::vector<feed_entry> entries;

  /// Returns the entry of `message_id`, or nullptr when the feed has none.
  const feed_entry* find(int64_t message_id) const;
};

/// An update that cannot be sent, and why.
struct rejected_update {
  std::string sku;
  int64_t quantity = 0;
  std::string reason;
};

/// The feeds built from one batch of updates.
struct feed_batch {
  /// As few feeds as the limits allow; every SKU appears in exactly one.
  std::vector<listings_feed> feeds;
  /// Updates that no feed can carry (empty SKU, negative quantity, ...).
  std::vector<rejected_update> rejected;
};

/// The MIME type used for createFeedDocument and the upload of every feed.
inline constexpr std::string_view feed_content_type =
    "application/json; charset=UTF-8";

// -- builder
// --------------------------------------------------------------------

/// Collects updates, keeping only the latest quantity per SKU (in the order
/// SKUs were first seen), then serializes them into PATCH messages that
/// `merge` `/attributes/fulfillment_availability`, split into as few feeds as
/// max_messages and max_bytes allow.
class feed_builder {
 public:
  explicit feed_builder(feed_options opts);

  /// Records the desired quantity of a SKU; a later call for the same SKU
  /// replaces the earlier value.
  void add(std::string_view sku, int64_t quantity,
           std::string_view product_type = {});

  /// Number of distinct SKUs recorded so far.
  size_t size() const { return updates_.size(); }

  /// Builds the feeds and empties the builder.
  feed_batch finish();

 private:
  void grow();

  feed_options opts_;
  std::vector<quantity_update> updates_;
  /// Open-addressing index over updates_: each slot holds the SKU's 32-bit
  /// hash in the high half and its position + 1 in the low half (0 = empty),
  /// so a probe rarely touches an update that is not the one sought.
  std::vector<uint64_t> slots_;
};

/// Builds the feeds for `updates` in one go (see feed_builder).
feed_batch build_listings_feeds(const std::vector<quantity_update>& updates,
                                const feed_options& opts);

/// Returns whether `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

} // namespace shelfsync::amazon
