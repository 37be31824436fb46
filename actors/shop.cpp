#include "actors/shop.hpp"

#include <caf/all.hpp>

#include "actors/log.hpp"

namespace shelfsync {

void shop_state::enqueue(std::vector<view_change>&& changes) {
  for (auto& c : changes) {
    auto i = outbox.find(c.product);
    if (i == outbox.end())
      outbox.emplace(c.product, std::move(c));
    else if (i->second.seq <= c.seq)
      i->second = std::move(c);
  }
}

shop_status shop_state::status() const {
  auto& s = shop();
  shop_status result;
  result.shop = id;
  result.channel = s.channel == channel_kind::shopify ? "shopify" : "amazon";
  result.stock_sync = s.stock_sync;
  result.pending = outbox.size();
  return result;
}

shop_actor::behavior_type shop(shop_actor::stateful_pointer<shop_state> self,
                               std::string id, config_ptr conf,
                               std::shared_ptr<store> db) {
  auto& st = self->state;
  st.id = std::move(id);
  st.conf = std::move(conf);
  st.db = std::move(db);
  auto err = st.db->for_each_outbox(st.id, [&](view_change&& x) {
    st.outbox.emplace(x.product, std::move(x));
  });
  if (err)
    log_line(log_level::error, "shop " + st.id,
             "cannot load the outbox: " + to_string(err));
  return {
      [=](atom::pending, std::vector<view_change>& changes) {
        self->state.enqueue(std::move(changes));
      },
      [=](atom::reload, config_ptr& conf) {
        if (conf->find_shop(self->state.id)) self->state.conf = std::move(conf);
      },
      [=](atom::status) {
        return self->state.status();
      },
      [=](atom::stop) {
        self->quit();
      },
  };
}

} // namespace shelfsync
