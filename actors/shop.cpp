#include "actors/shop.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

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

void add_resync(shop_status& status, const resync_run& run) {
  auto progress = run.progress();
  if (progress.is_null()) return;
  auto details = nlohmann::json::parse(status.details, nullptr, false);
  if (!details.is_object()) details = nlohmann::json::object();
  details["resync"] = std::move(progress);
  status.details = details.dump();
}

shop_actor::behavior_type shop(shop_actor::stateful_pointer<shop_state> self,
                               shop_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.box = std::make_unique<outbox>(st.setup.id, st.setup.db);
  if (auto err = st.box->load())
    log_line(log_level::error, "shop " + st.setup.id,
             "cannot load the outbox: " + to_string(err));
  st.resync =
      std::make_unique<resync_run>(st.setup.id, st.setup.db, st.setup.resync);
  if (auto err = st.resync->load())
    log_line(log_level::error, "shop " + st.setup.id,
             "cannot load the resync: " + to_string(err));
  auto nothing = [] {};
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
        auto out =
            basic_status(*st.setup.conf->find_shop(st.setup.id), *st.box);
        add_resync(out, *st.resync);
        return out;
      },
      [=](atom::resync) {
        return start_resync(self, nothing);
      },
      [=](atom::tend, uint64_t gen) {
        on_resync_tick(self, gen, nothing);
      },
      [=](atom::stop) {
        self->quit();
      },
  };
}

} // namespace shelfsync
