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

} // namespace shelfsync
