#include "actors/shopify_shop.hpp"

#include <algorithm>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "channels/shopify/client.hpp"
#include "core/clock.hpp"

/// The drift check of a Shopify shop: once per interval, a pass walks the
/// shop's delivery records in pages and reads back, through the same read
/// the rounds use (rule 5), the levels of the products shelfsync confirmed.
/// A level that differs from the confirmed value while nothing newer is
/// pending was changed behind shelfsync's back: it is logged, counted, noted
/// in the delivery record, and the product's view is pushed again.
///
/// Budget: a read goes out only when the bucket would keep (1 - share) of
/// its size after it, and reads are spaced so that on average they take no
/// more than the share of the restore rate. Pushes always come first: a
/// read is sent only when the round has nothing else to send.
namespace shelfsync {

const drift_check_config* shopify_shop_state::drift_config() const {
  auto* shop = find_shop();
  return shop == nullptr ? nullptr : &shop->shopify.drift_check;
}

void shopify_shop_state::arm_drift(std::chrono::milliseconds delay) {
  auto gen = ++drift.timer;
  self->delayed_send(self, std::max(delay, std::chrono::milliseconds{1}),
                     atom::drift_v, gen);
}

namespace {

using time_point = caf::actor_clock::time_point;

/// How long from `now` until `t` (rounded up), or zero when passed.
std::chrono::milliseconds until(time_point t, time_point now) {
  if (t <= now) return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - now) +
         std::chrono::milliseconds{1};
}

} // namespace

/// Fills the page of the next read from the delivery records after the
/// cursor: products with a confirmed location, nothing pending, and a known
/// item. Returns false once the pass has visited every record (or cannot).
bool shopify_shop_state::fill_page(size_t max_items) {
  auto& d = drift;
  // Visits a bounded number of records per call, so that a long run of
  // records without candidates does not hold the actor.
  for (int scans = 0; scans < 8 && d.page.size() < max_items; ++scans) {
    auto last = setup.db->scan_deliveries(
        setup.id, d.cursor, max_items - d.page.size(),
        [&](std::string_view code, delivery_record&& rec) {
          std::string product{code};
          auto driven = std::any_of(rec.begin(), rec.end(), [](auto& x) {
            return x.second.state == delivery_state::confirmed &&
                   x.second.has_confirmed;
          });
          if (!driven || box->pending(product)) return;
          auto known = items.find(product);
          std::string id;
          if (known != items.end()) {
            id = known->second;
          } else {
            auto found = setup.db->load_memo(setup.id, memo_key(product), id);
            if (!found || !*found) return;
          }
          d.page.emplace_back(std::move(product), std::move(id));
        });
    if (!last) {
      note_error("the drift check cannot read delivery records: " +
                 to_string(last.error()));
      return false;
    }
    if (*last == d.cursor) return false;
    d.cursor = std::move(*last);
  }
  return true;
}

/// Compares one product's levels with its delivery record; corrects drift.
void shopify_shop_state::compare(const std::string& product,
                                 const shopify_item& now,
                                 const std::string& at) {
  if (box->pending(product)) return; // a newer value is on its way
  delivery_record rec;
  auto found = setup.db->load_delivery(setup.id, product, rec);
  if (!found || !*found) return;
  ++metrics.drift_checked;
  std::vector<std::pair<std::string, int64_t>> drifted;
  for (auto& [location, d] : rec) {
    if (d.state != delivery_state::confirmed || !d.has_confirmed) continue;
    // A structured binding cannot be captured in C++17 (clang refuses it).
    auto& where = location;
    auto lv = std::find_if(now.levels.begin(), now.levels.end(), [&](auto& x) {
      return x.location == where;
    });
    auto seen = lv == now.levels.end() ? 0 : lv->available;
    if (lv == now.levels.end() || seen != d.confirmed) {
      drifted.emplace_back(location, seen);
      log_line(log_level::warning, component(),
               "drift: " + product + " at " + location + " shows " +
                   (lv == now.levels.end() ? std::string{"no level"}
                                           : std::to_string(seen)) +
                   " in Shopify, shelfsync confirmed " +
                   std::to_string(d.confirmed) + "; setting it again");
    }
  }
  if (drifted.empty()) return;
  ++metrics.drift_found;
  for (auto& [location, seen] : drifted)
    checked(box->drifted(product, location, seen, at));
  // The view to send again is the stored one, provided it agrees with what
  // was confirmed: a record not written yet (the directory writes behind)
  // must not take the channel back; the next pass looks again.
  product_record stored;
  auto loaded = setup.db->load_product(product, stored);
  if (!loaded || !*loaded) return;
  auto view = stored.views.find(setup.id);
  if (view == stored.views.end()) return;
  for (auto& [location, d] : rec)
    if (d.state == delivery_state::confirmed && d.has_confirmed) {
      auto v = view->second.find(location);
      if (v == view->second.end() || v->second != d.confirmed) return;
    }
  box->enqueue_forced(
      {view_change{product, stored.applied_seq, view->second, 0}});
  ++metrics.drift_corrected;
}

void shopify_shop_state::on_drift_read(shopify_survey_reply& r) {
  busy = false;
  account(r.status);
  if (kind_of(r.status) != shopify::outcome::ok) {
    // The page stays; it is read again after the delay.
    note_error("drift check: " + r.status.message);
    drift.not_before =
        std::max(drift.not_before, now() + delay_after(r.status));
    return;
  }
  std::unordered_map<std::string, const shopify_item*> read;
  for (auto& x : r.items)
    read[x.id] = &x;
  auto at = rfc3339(now_ms());
  for (auto& [product, id] : drift.page) {
    auto i = read.find(id);
    if (i != read.end() && i->second->exists) compare(product, *i->second, at);
  }
  drift.page.clear();
}

void shopify_shop_state::schedule_drift() {
  auto& d = drift;
  auto* cfg = drift_config();
  if (cfg == nullptr || !cfg->enabled) {
    ++d.timer; // any armed timer is stale now
    d.walking = false;
    d.page.clear();
    d.cursor.clear();
    return;
  }
  if (d.walking) return;
  auto next = d.pass_started + cfg->interval;
  if (d.pass_started == time_point{}) next = now() + cfg->interval;
  arm_drift(until(next, now()));
}

void shopify_shop_state::on_drift_timer(uint64_t gen) {
  auto& d = drift;
  auto* cfg = drift_config();
  if (gen != d.timer || cfg == nullptr || !cfg->enabled) return;
  if (!d.walking) {
    d.walking = true;
    d.cursor.clear();
    d.page.clear();
    d.pass_started = now();
  }
  pump();
}

bool shopify_shop_state::drift_read() {
  auto& d = drift;
  auto* cfg = drift_config();
  if (!d.walking || cfg == nullptr || !cfg->enabled) return false;
  auto share = static_cast<double>(cfg->budget_percent) / 100.0;
  auto allowance = share * bucket.maximum();
  // As many products as one read may carry within the share.
  size_t max_items = std::max<uint32_t>(cfg->page_size, 1);
  while (max_items > 1 &&
         shopify::read_levels_cost(max_items, reads) > allowance)
    --max_items;
  if (d.page.empty()) {
    auto more = fill_page(max_items);
    if (d.page.empty()) {
      if (more) {
        arm_drift(std::chrono::milliseconds{1}); // walk on soon
      } else {
        d.walking = false;
        ++metrics.drift_passes;
        schedule_drift();
      }
      return false;
    }
  }
  auto cost = shopify::read_levels_cost(d.page.size(), reads);
  auto reserve = bucket.maximum() - allowance;
  auto now = this->now();
  if (now < d.not_before || !bucket.can_afford(cost + reserve, now)) {
    auto wait = std::max(until(d.not_before, now),
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             bucket.wait_for(cost + reserve, now)));
    arm_drift(wait + std::chrono::milliseconds{1});
    return false;
  }
  d.not_before = now + std::chrono::milliseconds{static_cast<int64_t>(
                           1000.0 * cost / (share * bucket.restore_rate()))};
  busy = true;
  ++metrics.drift_reads;
  metrics.drift_points += cost;
  shopify_survey req;
  for (auto& [product, id] : d.page)
    req.read.push_back(id);
  self->request(worker, caf::infinite, atom::survey_v, std::move(req))
      .then(
          [=](shopify_survey_reply& r) {
            on_drift_read(r);
            pump();
          },
          [=](caf::error& err) {
            replace_worker(err);
          });
  return true;
}

} // namespace shelfsync
