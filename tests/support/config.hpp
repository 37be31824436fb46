#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

/// Configs for tests and benches, built in code rather than read from a file.
namespace shelfsync::tests {

/// The Shopify locations of two_shop_config's shop "eu-store".
inline constexpr const char* location_a = "gid://shopify/Location/1001";
inline constexpr const char* location_b = "gid://shopify/Location/1002";

/// A shop `id` of `channel` that sees `warehouses` (with their Shopify
/// locations; empty for Amazon).
shop_config make_shop(std::string id, channel_kind channel,
                      std::vector<shop_warehouse> warehouses);

/// A config that keeps its data in `data_dir`, declares `warehouses`, and
/// connects `shops`. Mutable, for a test to adjust before it starts.
std::shared_ptr<config> make_config(std::string data_dir,
                                    const std::vector<std::string>& warehouses,
                                    std::vector<shop_config> shops);

/// The config most engine tests start from, keeping its data in `data_dir`:
/// warehouses WH-A and WH-B; the Shopify shop "eu-store" stocks WH-A at
/// location_a and WH-B at location_b; the Amazon shop "amazon-us" sums both.
std::shared_ptr<config> two_shop_config(std::string data_dir);

} // namespace shelfsync::tests
