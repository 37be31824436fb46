#include "actors/shop.hpp"

#include <caf/all.hpp>

#include "actors/log.hpp"

namespace shelfsync {

shop_status basic_status(const shop_config& shop, const outbox& box) {
  shop_status result;
  result.shop = shop.id;
  result.channel = shop.channel == channel_kind::shopify ? "shopify" : "amazon";
  result.stock_sync = shop.stock_sync;
  result.pending = box.waiting() + box.in_flight() + box.spilled();
  result.in_flight = box.in_flight();
  return result;
}

shop_actor::behavior_type shop(shop_actor::stateful_pointer<shop_state> self,
                               shop_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.box = std::make_unique<outbox>(st.setup.id, st.setup.db);
  if (auto err = st.box->load())
    log_line(log_level::error, "shop " + st.setup.id,
             "cannot load the outbox: " + to_string(err));
  return {
      [=](atom::pending, std::vector<view_change>& changes) {
        self->state.box->enqueue(std::move(changes));
      },
      [=](atom::reload, config_ptr& conf) {
        if (conf->find_shop(self->state.setup.id))
          self->state.setup.conf = std::move(conf);
      },
      [=](atom::status) {
        auto& st = self->state;
        return basic_status(*st.setup.conf->find_shop(st.setup.id), *st.box);
      },
      [=](atom::stop) {
        self->quit();
      },
  };
}

} // namespace shelfsync
