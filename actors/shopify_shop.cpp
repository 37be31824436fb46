#include "actors/shopify_shop.hpp"

#include <caf/all.hpp>

namespace shelfsync {

// Until the Shopify channel is wired in, the shop keeps its outbox only.
shop_actor spawn_shopify_shop(caf::actor_system& sys, shop_setup setup) {
  return sys.spawn(shop, std::move(setup));
}

} // namespace shelfsync
