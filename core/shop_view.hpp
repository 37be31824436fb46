#pragma once

#include <optional>

#include "config/config.hpp"
#include "storage/records.hpp"

namespace shelfsync {

/// Applies a shop's stock rules to one quantity, in the contract's order:
/// subtract `buffer` (never below 0), take `percent` (rounded down), cap at
/// `max`.
int64_t apply_rules(const stock_rules& rules, int64_t available);

/// Computes what `shop` should show for a product with stock `rec`: for
/// Shopify the available quantity of each enabled and mapped warehouse at
/// its location; for Amazon the sum over the enabled warehouses under the
/// empty key; rules applied to each quantity. No view while stock sync is
/// off.
std::optional<shop_view> compute_view(const shop_config& shop,
                                      const product_record& rec);

/// Sets `view` to what `compute_view` gives for `shop` with stock sync on,
/// and returns whether that changed it. A view that keeps its locations (the
/// usual case) is updated in place, without allocating.
bool update_view(const shop_config& shop, const product_record& rec,
                 shop_view& view);

} // namespace shelfsync
