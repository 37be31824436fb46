#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// One number a shop would be told differently under a new config.
struct preview_change {
  std::string product;
  /// The Shopify location; empty for Amazon (the SKU is the product code).
  std::string location;
  /// What the shop is told now (the stored desired value); none when the
  /// product has no number there yet (a location activated, a shop added).
  std::optional<int64_t> before;
  /// What it would be told: 0 at a location that leaves the view (shelfsync
  /// zeroes it, PRODUCT.md §2 rule 5).
  int64_t after = 0;
};

/// A Shopify location that would be zeroed or activated for some products.
struct preview_location {
  std::string location;
  /// Products that had (zeroed) or would get (activated) a number there.
  uint64_t products = 0;
  /// Why, from the new config: "warehouse WH-B is disabled", "no enabled
  /// warehouse is mapped to it", "warehouse WH-C is mapped to it".
  std::string reason;
};

/// What a new config would change for one shop.
struct shop_preview {
  std::string shop;
  /// "shopify" or "amazon"; empty for a shop that leaves the config.
  std::string channel;
  /// "changes", "no changes", "stock sync off" (nothing is sent any more,
  /// the shop keeps its numbers) or "removed" (the shop leaves the config).
  std::string status;
  /// Products with at least one number that would change.
  uint64_t products_changed = 0;
  /// Numbers (one per location, one per Amazon SKU) raised and lowered.
  uint64_t numbers_up = 0;
  uint64_t numbers_down = 0;
  /// Products without any number for this shop so far that would get one
  /// (a shop added, stock sync switched on): sent as a first value.
  uint64_t first_sent = 0;
  /// Products whose numbers would no longer be updated (stock sync off,
  /// shop removed).
  uint64_t no_longer_updated = 0;
  /// The largest changes, largest first (ties by product, then location).
  std::vector<preview_change> largest;
  std::vector<preview_location> zeroed;
  std::vector<preview_location> activated;
};

/// What `preview_config` found.
struct preview_report {
  /// Product records read.
  uint64_t products = 0;
  /// Log events after the stored derived state (a server that did not stop
  /// cleanly, or one running): not in the numbers compared.
  uint64_t events_not_in_state = 0;
  /// The shops of the new config in file order, then the shops that leave it.
  std::vector<shop_preview> shops;
};

/// Options of `preview_config`.
struct preview_options {
  /// How many of the largest changes each shop lists.
  size_t top = 10;
  /// Checked between chunks of products: set to give up (the result is then
  /// an error).
  const std::atomic<bool>* cancel = nullptr;
  /// Called with the products read so far.
  std::function<void(uint64_t)> progress;
};

/// Compares what every shop is told now (the desired views stored in the
/// product records) with what it would be told under `next`, computed with
/// the engine's own `compute_view` from each record's stock. Streams the
/// records in key order, a chunk at a time, keeping only counters and a
/// top-N heap per shop: memory does not grow with the number of products.
/// Reads only: nothing is sent and nothing is stored.
caf::expected<preview_report> preview_config(const store& db,
                                             const config& next,
                                             const preview_options& opts = {});

/// The report as the API answers it.
nlohmann::json preview_json(const preview_report& r);

/// The report as readable text, one block per shop.
std::string preview_text(const preview_report& r);

/// The config's variables that are not set, one warning each (the preview
/// still runs: the numbers do not depend on credentials).
std::vector<std::string> preview_warnings(const config& next);

} // namespace shelfsync
