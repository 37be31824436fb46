#include "actors/product.hpp"

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "core/shop_view.hpp"
#include "core/stock.hpp"

namespace shelfsync {

product_update product_state::apply(const config& conf,
                                    const std::vector<stock_event>& events,
                                    bool restate) {
  product_update out;
  out.product = cfg.code;
  for (auto& e : events)
    if (apply_event(record, e) != apply_outcome::replayed)
      record.recent.push_back(e.seq);
  if (record.recent.size() > product_record::recent_limit)
    record.recent.erase(record.recent.begin(),
                        record.recent.end() - product_record::recent_limit);
  recompute(conf, out, restate);
  return out;
}

product_update product_state::refresh(const config& conf) {
  product_update out;
  out.product = cfg.code;
  recompute(conf, out, false);
  return out;
}

void product_state::recompute(const config& conf, product_update& out,
                              bool restate) {
  out.changes.reserve(conf.shops.size());
  for (auto& shop : conf.shops) {
    auto i = record.views.find(shop.id);
    if (!shop.stock_sync) {
      // Stock sync off: keep no view, so that switching it back on sends.
      if (i != record.views.end()) record.views.erase(i);
      continue;
    }
    auto changed = true;
    if (i == record.views.end()) {
      i = record.views.emplace(shop.id, shop_view{}).first;
      update_view(shop, record, i->second);
    } else {
      changed = update_view(shop, record, i->second);
    }
    if (!changed && !restate) continue;
    out.changes.emplace_back(
        shop.id, view_change{cfg.code, record.applied_seq, i->second, 0});
  }
  // Views of shops that left the config go with them.
  for (auto i = record.views.begin(); i != record.views.end();)
    i = conf.find_shop(i->first) ? std::next(i) : record.views.erase(i);
  // One allocation for the encoded record, not one per doubling.
  out.record.reserve(encoded_size + 32);
  encode(record, out.record);
  encoded_size = out.record.size();
}

void product_state::report(batch_results& results, product_update&& update) {
  ++activity;
  if (results.add(std::move(update)))
    caf::anon_send(cfg.directory, atom::applied_v, results.batch());
}

product_actor::behavior_type
product(product_actor::stateful_pointer<product_state> self,
        product_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  if (auto found = st.cfg.db->load_product(st.cfg.code, st.record); !found) {
    // Without its record the product would resurrect stale stock: stop
    // rather than apply events to an empty state.
    log_line(log_level::error, "product " + st.cfg.code,
             "cannot load: " + to_string(found.error()));
    self->quit(found.error());
  } else {
    self->delayed_send(self, st.cfg.idle_after, atom::idle_check_v,
                       st.activity);
  }
  return {
      [=](atom::apply, const config_ptr& conf, const batch_results_ptr& results,
          const std::vector<stock_event>& events) {
        self->state.report(*results, self->state.apply(*conf, events));
      },
      [=](atom::replay, const config_ptr& conf,
          const batch_results_ptr& results,
          const std::vector<stock_event>& events) {
        self->state.report(*results, self->state.apply(*conf, events, true));
      },
      [=](atom::refresh, const config_ptr& conf,
          const batch_results_ptr& results) {
        self->state.report(*results, self->state.refresh(*conf));
      },
      [=](atom::get) {
        ++self->state.activity;
        return self->state.record;
      },
      [=](atom::idle_check, uint64_t seen) {
        auto& st = self->state;
        if (seen == st.activity)
          self->send(st.cfg.directory, atom::idle_v, st.cfg.code, st.activity);
        self->delayed_send(self, st.cfg.idle_after, atom::idle_check_v,
                           st.activity);
      },
      [=](atom::stop) {
        self->quit();
      },
  };
}

} // namespace shelfsync
