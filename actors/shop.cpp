#include "actors/shop.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/log.hpp"
#include "core/clock.hpp"

namespace shelfsync {

void shop_base::open(
    shop_setup s, const caf::actor_clock& clock,
    const std::function<void()>& resume,
    const std::function<void(const caf::error&, const char*)>& report) {
  clock_ = &clock;
  opened_ = clock.now();
  opened_ms_ = wall_ms();
  setup = std::move(s);
  box = std::make_unique<outbox>(setup.id, setup.db);
  if (resume) resume();
  if (auto err = box->load()) report(err, "cannot load the outbox");
  resync = std::make_unique<resync_run>(setup.id, setup.db, setup.resync);
  if (auto err = resync->load()) report(err, "cannot load the resync");
}

const shop_config* shop_base::find_shop() const {
  return setup.conf->find_shop(setup.id);
}

caf::actor_clock::time_point shop_base::now() const { return clock_->now(); }

int64_t shop_base::now_ms() const {
  using namespace std::chrono;
  return opened_ms_ + duration_cast<milliseconds>(now() - opened_).count();
}

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
  self->state.open(std::move(setup), self->clock(), nullptr,
                   [self](const caf::error& err, const char* what) {
                     log_line(log_level::error, "shop " + self->state.setup.id,
                              std::string{what} + ": " + to_string(err));
                   });
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
