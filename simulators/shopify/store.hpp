#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// The inventory state of one simulated shop.
namespace shelfsync::shopify::sim {

/// A Shopify location.
struct location {
  /// `gid://shopify/Location/<n>`.
  std::string id;
  std::string name;
  uint64_t legacy_id = 0;
  bool active = true;
};

/// An inventory level: the item × location pair. The item is "stocked" at
/// the location while the level is active.
struct level {
  uint64_t level_id = 0;
  std::string location_id;
  bool active = true;
  int64_t available = 0;
  int64_t on_hand = 0;
  /// Every value `available` took, the first being the value at creation.
  std::vector<int64_t> history;
  /// How many mutations wrote this level (an unchanged value counts too).
  uint64_t writes = 0;
  std::string created_at;
  std::string updated_at;
};

/// An inventory item (one per product variant).
struct item {
  /// `gid://shopify/InventoryItem/<n>`.
  std::string id;
  uint64_t legacy_id = 0;
  std::string sku;
  bool tracked = true;
  /// Parent bundles cannot be adjusted through the API.
  bool non_mutable = false;
  std::vector<level> levels;
  std::string created_at;
  std::string updated_at;

  /// The level at `location_id`, active or not, or null.
  level* find_level(std::string_view location_id);
  const level* find_level(std::string_view location_id) const;
  /// The active level at `location_id`, or null.
  const level* stocked_at(std::string_view location_id) const;
};

/// Locations and items of one shop, and the counters for new ids.
class store {
 public:
  /// Adds a location; `id` empty assigns the next free one.
  location& add_location(std::string name, std::string id = {});
  /// Adds an item; `id` empty assigns the next free one.
  item& add_item(std::string sku, bool tracked, std::string id = {});

  /// Creates or reactivates the level of `it` at `location_id`.
  /// Reactivation keeps the old quantities, as Shopify does.
  level& activate(item& it, const std::string& location_id);

  /// Sets `available` (on_hand follows by the same delta); records history.
  void set_available(item& it, level& lv, int64_t value);
  /// Sets `on_hand` (available follows by the same delta); records history.
  void set_on_hand(item& it, level& lv, int64_t value);

  location* find_location(std::string_view id);
  item* find_item(std::string_view id);
  const std::deque<location>& locations() const { return locations_; }
  const std::deque<item>& items() const { return items_; }
  std::deque<item>& items() { return items_; }

  /// Items matching a Shopify search string, in id order. `sku:X` matches
  /// like Shopify's search does, loosely: case-insensitive prefix. `id:N`
  /// matches the legacy id. Other terms are ignored.
  std::vector<const item*> search(std::string_view query) const;

  /// How many other items carry the same SKU.
  int duplicate_sku_count(const item& it) const;

  /// A fresh InventoryAdjustmentGroup id.
  std::string next_group_id();

 private:
  std::deque<location> locations_;
  std::deque<item> items_;
  uint64_t next_location_ = 1001;
  uint64_t next_item_ = 40001;
  uint64_t next_level_ = 90001;
  uint64_t next_group_ = 500001;
};

/// The current UTC time as RFC 3339, e.g. "2026-06-25T01:33:55Z".
std::string now_rfc3339();

/// The number at the end of a GID, or 0.
uint64_t gid_number(std::string_view gid);

} // namespace shelfsync::shopify::sim
