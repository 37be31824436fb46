#pragma once

#include <cstddef>
#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "storage/store.hpp"

/// The paged lists of the API: a shop's deliveries in one state, and the
/// products by code prefix. Each page is read from an index with a seek to
/// its cursor, never a scan from the start, and holds at most `max_limit`
/// entries, so a page costs the same with millions of products.
namespace shelfsync::listings {

/// Entries per page unless `limit` says otherwise, and the most it may say.
constexpr size_t default_limit = 50;
constexpr size_t max_limit = 1000;

/// Outbox changes a page of pending deliveries looks at, at most: past it
/// the page ends early (with a `next_cursor`), so that a page's work stays
/// bounded where many changes were superseded or delivered meanwhile.
constexpr size_t pending_scan_budget = 20'000;

/// One page of the products of `shop` whose deliveries are in `state`
/// (failed, in_flight or pending), after `cursor` (empty = first page):
/// `{"shop", "state", "entries": [...], "next_cursor"}`, where next_cursor
/// is null on the last page. Each entry is a product with the locations (the
/// SKU on Amazon) in that state: value, since when, the request that
/// carried it and the channel's last error.
///
/// Failed and in-flight deliveries come from the index of delivery records
/// kept in the store (product order; the cursor is the last product of the
/// page). Pending ones come from the shop's outbox segments in the order they
/// were committed (the cursor is `segment.position`); a change counts while
/// it is the product's current view and a location of it is not delivered.
/// A cursor that is not one of this list is `ec::invalid_input` saying why.
caf::expected<nlohmann::json>
deliveries(const store& db, const shop_config& shop, delivery_state state,
           const std::string& cursor, size_t limit);

/// One page of the products whose code starts with `prefix` (empty = all),
/// in code order after `cursor` (the last code of the previous page):
/// `{"prefix", "entries": [{"product", "warehouses", "views"}],
/// "next_cursor"}`.
caf::expected<nlohmann::json> products(const store& db,
                                       const std::string& prefix,
                                       const std::string& cursor, size_t limit);

} // namespace shelfsync::listings
