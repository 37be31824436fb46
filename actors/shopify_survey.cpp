#include "actors/shopify_shop.hpp"

#include <algorithm>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/shopify_round.hpp"
#include "channels/shopify/client.hpp"
#include "core/clock.hpp"

/// The survey half of a Shopify round: taking products from the outbox,
/// finding their items by SKU or reading their levels, and planning the
/// mutations that make Shopify show the desired views.
namespace shelfsync {

/// Turns the survey's findings into flights.
void shopify_shop_state::on_survey(shopify_survey_reply& r,
                                   const std::vector<std::string>& looked_up) {
  busy = false;
  account(r.status);
  auto products = std::move(surveyed);
  surveyed.clear();
  if (kind_of(r.status) != shopify::outcome::ok) {
    // Nothing was changed: newer values may go out with the next attempt.
    note_error(r.status.message);
    auto at = rfc3339(now_ms());
    for (auto& it : products) {
      if (kind_of(r.status) == shopify::outcome::permanent)
        for (auto& [location, value] : it.send)
          checked(box->failed(it.product, location, value, r.status.code,
                              r.status.message, at, false));
      finish(it.product, true);
    }
    arm(delay_after(r.status));
    return;
  }
  retry_delay.reset();
  std::unordered_map<std::string, const shopify_item*> read;
  for (auto& x : r.items)
    read[x.id] = &x;
  auto at = rfc3339(now_ms());
  shopify_flight current;
  size_t setup_fields = 0;
  auto close = [&] {
    if (current.products.empty()) return;
    seal(current);
    flights.push_back(std::move(current));
    current = shopify_flight{};
    setup_fields = 0;
  };
  for (auto& it : products) {
    const shopify_item* now = nullptr;
    auto known = items.find(it.product);
    if (known != items.end()) {
      auto i = read.find(known->second);
      if (i != read.end() && !i->second->exists) {
        // Shopify no longer knows the item: look the SKU up again.
        items.erase(known);
        checked(setup.db->erase_memo(setup.id, memo_key(it.product)));
        finish(it.product, true);
        continue;
      }
      if (i != read.end()) now = i->second;
    } else {
      auto pos = std::find(looked_up.begin(), looked_up.end(), it.product);
      if (pos != looked_up.end()) {
        auto& m = r.found[static_cast<size_t>(pos - looked_up.begin())];
        auto status = static_cast<shopify::sku_status>(m.status);
        if (status == shopify::sku_status::found) {
          items[it.product] = m.item.id;
          checked(
              setup.db->put_memo(setup.id, memo_key(it.product), m.item.id));
          now = &m.item;
        } else {
          auto ambiguous = status == shopify::sku_status::ambiguous;
          auto code = ambiguous ? "AMBIGUOUS_SKU" : "SKU_NOT_FOUND";
          auto message =
              ambiguous ? m.error : "no inventory item has SKU " + it.product;
          note_error(message);
          for (auto& [location, value] : it.send) {
            ++metrics.failed;
            checked(box->failed(it.product, location, value, code, message, at,
                                true));
          }
          finish(it.product, false);
          continue;
        }
      }
    }
    if (now == nullptr) {
      finish(it.product, true);
      continue;
    }
    auto plan = plan_product(it.desired, *now);
    if (plan.empty()) {
      for (auto& [location, value] : plan.holding) {
        ++metrics.confirmed;
        checked(box->confirmed(it.product, location, value));
      }
      finish(it.product, false);
      continue;
    }
    auto setup = (plan.track ? 1u : 0u) + plan.activate.size();
    if (current.push.rows.size() + plan.rows.size() >
            shopify::max_rows_per_push ||
        setup_fields + setup >
            shopify::max_setup_fields(bucket.max_request_cost()))
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

void shopify_shop_state::start_round() {
  // Records the store refused before go to disk once it takes writes.
  static_cast<void>(box->save_unsaved());
  size_t rows = 0;
  shopify_survey req;
  // What the round's lookups, reads and push ask for, with `extra` more.
  auto cost = [&](size_t extra_lookups, size_t extra_reads) {
    return shopify::lookup_cost(req.lookup.size() + extra_lookups, reads) +
           shopify::read_levels_cost(req.read.size() + extra_reads, reads) +
           shopify::push_cost(0, 1);
  };
  bool full = false;
  while (!full && rows < shopify::max_rows_per_push && box->waiting() > 0) {
    auto taken = box->take(1);
    for (auto& it : taken) {
      auto known = items.find(it.product);
      if (known == items.end()) {
        std::string id;
        auto found = setup.db->load_memo(setup.id, memo_key(it.product), id);
        if (found && *found) known = items.emplace(it.product, id).first;
      }
      auto is_known = known != items.end();
      // A round never asks more than the bucket holds when full: first-time
      // lookups cost much more than reads, so such rounds are smaller.
      if (!surveyed.empty() &&
          cost(is_known ? 0 : 1, is_known ? 1 : 0) > bucket.maximum()) {
        box->finish(it.product, true);
        full = true;
        break;
      }
      if (is_known)
        req.read.push_back(known->second);
      else
        req.lookup.push_back(it.product);
      rows += std::max<size_t>(it.desired.size(), 1);
      surveyed.push_back(std::move(it));
    }
  }
  if (surveyed.empty()) return;
  // Pace the whole round at once: wait until the bucket holds what the
  // lookups, reads and the push will ask for (at most a full bucket), so
  // that no request of the round meets an empty bucket halfway. Meanwhile
  // the products wait in the outbox, where newer values replace them.
  auto need = std::min(cost(0, 0), bucket.maximum());
  auto now = this->now();
  if (!bucket.can_afford(need, now)) {
    // Back to the front of the queue, in their order.
    for (auto i = surveyed.rbegin(); i != surveyed.rend(); ++i)
      box->finish(i->product, true);
    surveyed.clear();
    arm(std::chrono::duration_cast<std::chrono::milliseconds>(
            bucket.wait_for(need, now)) +
        std::chrono::milliseconds{1});
    return;
  }
  busy = true;
  ++metrics.surveys;
  auto looked_up = req.lookup;
  self->request(worker, caf::infinite, atom::survey_v, std::move(req))
      .then(
          [=](shopify_survey_reply& r) {
            on_survey(r, looked_up);
            pump();
          },
          [=](caf::error& err) {
            for (auto& it : surveyed)
              finish(it.product, true);
            surveyed.clear();
            replace_worker(err);
          });
}

} // namespace shelfsync
