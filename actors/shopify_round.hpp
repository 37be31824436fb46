#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "actors/shopify_messages.hpp"
#include "storage/records.hpp"

/// The pure part of a Shopify round: what to send for a product given what
/// Shopify holds now, packing products into mutations, and idempotency keys.
namespace shelfsync {

/// What one product needs so that Shopify shows its desired view.
struct shopify_plan {
  /// Switch tracking on (rule 3).
  bool track = false;
  /// Desired locations where the item is not stocked (rule 4).
  std::vector<std::string> activate;
  /// Quantities to set: desired locations whose value differs, then 0 for
  /// every unmapped location holding a non-zero quantity (rule 5).
  std::vector<shopify_row> rows;
  /// Per row: whether its location is a desired one.
  std::vector<bool> mapped;
  /// Desired locations that already hold the desired value.
  std::vector<std::pair<std::string, int64_t>> holding;

  /// Returns whether nothing needs to be sent.
  bool empty() const { return !track && rows.empty(); }
};

/// Plans one product: `desired` is its whole view, `now` what Shopify holds.
shopify_plan plan_product(const shop_view& desired, const shopify_item& now);

/// An idempotency key derived from what a mutation carries: the shop, the
/// outbox entries (product, seq) and the document's content. The same
/// entries sent with the same content get the same key, whichever attempt.
std::string
push_key(const std::string& shop,
         const std::vector<std::pair<std::string, uint64_t>>& carried,
         const shopify_push& p);

} // namespace shelfsync
