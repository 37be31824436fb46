#include "actors/shopify_shop_detail.hpp"

#include <algorithm>
#include <unordered_map>

#include <caf/all.hpp>

#include "core/clock.hpp"
#include "actors/shopify_round.hpp"

/// The survey half of a Shopify round: taking products from the outbox,
/// finding their items by SKU or reading their levels, and planning the
/// mutations that make Shopify show the desired views.
namespace shelfsync::shopify_shop_detail {

namespace {

/// Turns the survey's findings into flights.
void on_survey(self_ptr self, shopify_survey_reply& r,
               const std::vector<std::string>& looked_up) {
  auto& st = self->state;
  st.busy = false;
  account(self, r.status);
  auto products = std::move(st.surveyed);
  st.surveyed.clear();
  if (kind_of(r.status) != shopify::outcome::ok) {
    // Nothing was changed: newer values may go out with the next attempt.
    note_error(self, r.status.message);
    auto at = rfc3339(wall_ms());
    for (auto& it : products) {
      if (kind_of(r.status) == shopify::outcome::permanent)
        for (auto& [location, value] : it.send)
          checked(self,
                  st.box->failed(it.product, location, value, r.status.code,
                                 r.status.message, at, false));
      finish(self, it.product, true);
    }
    arm(self, delay_after(self, r.status));
    return;
  }
  st.retry_delay.reset();
  std::unordered_map<std::string, const shopify_item*> read;
  for (auto& x : r.items)
    read[x.id] = &x;
  auto at = rfc3339(wall_ms());
  shopify_flight current;
  size_t setup_fields = 0;
  auto close = [&] {
    if (current.products.empty()) return;
    seal(self, current);
    st.flights.push_back(std::move(current));
    current = shopify_flight{};
    setup_fields = 0;
  };
  for (auto& it : products) {
    const shopify_item* now = nullptr;
    auto known = st.items.find(it.product);
    if (known != st.items.end()) {
      auto i = read.find(known->second);
      if (i != read.end() && !i->second->exists) {
        // Shopify no longer knows the item: look the SKU up again.
        st.items.erase(known);
        checked(self,
                st.setup.db->erase_memo(st.setup.id, memo_key(it.product)));
        finish(self, it.product, true);
        continue;
      }
      if (i != read.end()) now = i->second;
    } else {
      auto pos = std::find(looked_up.begin(), looked_up.end(), it.product);
      if (pos != looked_up.end()) {
        auto& m = r.found[static_cast<size_t>(pos - looked_up.begin())];
        auto status = static_cast<shopify::sku_status>(m.status);
        if (status == shopify::sku_status::found) {
          st.items[it.product] = m.item.id;
          checked(self, st.setup.db->put_memo(st.setup.id, memo_key(it.product),
                                              m.item.id));
          now = &m.item;
        } else {
          auto ambiguous = status == shopify::sku_status::ambiguous;
          auto code = ambiguous ? "AMBIGUOUS_SKU" : "SKU_NOT_FOUND";
          auto message =
              ambiguous ? m.error : "no inventory item has SKU " + it.product;
          note_error(self, message);
          for (auto& [location, value] : it.send) {
            ++st.metrics.failed;
            checked(self, st.box->failed(it.product, location, value, code,
                                         message, at, true));
          }
          finish(self, it.product, false);
          continue;
        }
      }
    }
    if (now == nullptr) {
      finish(self, it.product, true);
      continue;
    }
    auto plan = plan_product(it.desired, *now);
    if (plan.empty()) {
      for (auto& [location, value] : plan.holding) {
        ++st.metrics.confirmed;
        checked(self, st.box->confirmed(it.product, location, value));
      }
      finish(self, it.product, false);
      continue;
    }
    auto setup = (plan.track ? 1u : 0u) + plan.activate.size();
    if (current.push.rows.size() + plan.rows.size() >
            shopify::max_rows_per_push ||
        setup_fields + setup > max_setup_fields_per_push)
      close();
    if (plan.track) current.push.track.push_back(now->id);
    for (auto& location : plan.activate)
      current.push.activate.push_back({now->id, location, 0});
    for (size_t i = 0; i < plan.rows.size(); ++i) {
      current.push.rows.push_back(plan.rows[i]);
      current.row_owner.emplace_back(it.product, plan.mapped[i]);
    }
    for (auto& [location, value] : plan.holding)
      current.held.emplace_back(it.product, location, value);
    current.products.emplace_back(it.product, it.seq);
    setup_fields += setup;
  }
  close();
}

} // namespace

void start_round(self_ptr self) {
  auto& st = self->state;
  size_t rows = 0;
  shopify_survey req;
  // What the round's lookups, reads and push ask for, with `extra` more.
  auto cost = [&](size_t extra_lookups, size_t extra_reads) {
    return shopify::lookup_cost(req.lookup.size() + extra_lookups, st.reads) +
           shopify::read_levels_cost(req.read.size() + extra_reads, st.reads) +
           shopify::push_cost(0, 1);
  };
  bool full = false;
  while (!full && rows < shopify::max_rows_per_push && st.box->waiting() > 0) {
    auto taken = st.box->take(1);
    for (auto& it : taken) {
      auto known = st.items.find(it.product);
      if (known == st.items.end()) {
        std::string id;
        auto found =
            st.setup.db->load_memo(st.setup.id, memo_key(it.product), id);
        if (found && *found) known = st.items.emplace(it.product, id).first;
      }
      auto is_known = known != st.items.end();
      // A round never asks more than the bucket holds when full: first-time
      // lookups cost much more than reads, so such rounds are smaller.
      if (!st.surveyed.empty() &&
          cost(is_known ? 0 : 1, is_known ? 1 : 0) > st.bucket.maximum()) {
        st.box->finish(it.product, true);
        full = true;
        break;
      }
      if (is_known)
        req.read.push_back(known->second);
      else
        req.lookup.push_back(it.product);
      rows += std::max<size_t>(it.desired.size(), 1);
      st.surveyed.push_back(std::move(it));
    }
  }
  if (st.surveyed.empty()) return;
  // Pace the whole round at once: wait until the bucket holds what the
  // lookups, reads and the push will ask for (at most a full bucket), so
  // that no request of the round meets an empty bucket halfway. Meanwhile
  // the products wait in the outbox, where newer values replace them.
  auto need = std::min(cost(0, 0), st.bucket.maximum());
  auto now = clock::now();
  if (!st.bucket.can_afford(need, now)) {
    // Back to the front of the queue, in their order.
    for (auto i = st.surveyed.rbegin(); i != st.surveyed.rend(); ++i)
      st.box->finish(i->product, true);
    st.surveyed.clear();
    arm(self, std::chrono::duration_cast<std::chrono::milliseconds>(
                  st.bucket.wait_for(need, now)) +
                  std::chrono::milliseconds{1});
    return;
  }
  st.busy = true;
  ++st.metrics.surveys;
  auto looked_up = req.lookup;
  self->request(st.worker, caf::infinite, atom::survey_v, std::move(req))
      .then(
          [=](shopify_survey_reply& r) {
            on_survey(self, r, looked_up);
            pump(self);
          },
          [=](caf::error& err) {
            auto& st = self->state;
            for (auto& it : st.surveyed)
              finish(self, it.product, true);
            st.surveyed.clear();
            replace_worker(self, err);
          });
}

/// Sends whatever can go out now: the next push of the round, or a new

} // namespace shelfsync::shopify_shop_detail
