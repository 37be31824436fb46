#pragma once

#include <caf/actor_system.hpp>

#include "actors/shop.hpp"

namespace shelfsync {

/// Spawns the shop actor of a Amazon shop.
shop_actor spawn_amazon_shop(caf::actor_system& sys, shop_setup setup);

} // namespace shelfsync
