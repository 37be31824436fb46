#include "actors/amazon_shop.hpp"

#include <caf/all.hpp>

namespace shelfsync {

// Until the Amazon channel is wired in, the shop keeps its outbox only.
shop_actor spawn_amazon_shop(caf::actor_system& sys, shop_setup setup) {
  return sys.spawn(shop, std::move(setup));
}

} // namespace shelfsync
