#pragma once

#include <caf/actor_system.hpp>

#include "actors/shop.hpp"

namespace shelfsync {

/// Spawns the shop actor of a Shopify shop.
shop_actor spawn_shopify_shop(caf::actor_system& sys, shop_setup setup);

} // namespace shelfsync
