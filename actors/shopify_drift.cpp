#include "actors/shopify_shop_detail.hpp"

#include <algorithm>
#include <unordered_map>

#include <caf/all.hpp>

#include "core/clock.hpp"
#include "actors/log.hpp"

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
namespace shelfsync::shopify_shop_detail {

namespace {

const drift_check_config* drift_config(self_ptr self) {
  auto* shop = my_shop(self);
  return shop == nullptr ? nullptr : &shop->shopify.drift_check;
}

void arm_drift(self_ptr self, std::chrono::milliseconds delay) {
  auto gen = ++self->state.drift.timer;
  self->delayed_send(self, std::max(delay, std::chrono::milliseconds{1}),
                     atom::drift_v, gen);
}

std::chrono::milliseconds until(clock::time_point t, clock::time_point now) {
  if (t <= now) return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - now) +
         std::chrono::milliseconds{1};
}

/// Fills the page of the next read from the delivery records after the
/// cursor: products with a confirmed location, nothing pending, and a known
/// item. Returns false once the pass has visited every record (or cannot).
bool fill_page(self_ptr self, size_t max_items) {
  auto& st = self->state;
  auto& d = st.drift;
  // Visits a bounded number of records per call, so that a long run of
  // records without candidates does not hold the actor.
  for (int scans = 0; scans < 8 && d.page.size() < max_items; ++scans) {
    auto last = st.setup.db->scan_deliveries(
        st.setup.id, d.cursor, max_items - d.page.size(),
        [&](std::string_view code, delivery_record&& rec) {
          std::string product{code};
          auto driven = std::any_of(rec.begin(), rec.end(), [](auto& x) {
            return x.second.state == delivery_state::confirmed &&
                   x.second.has_confirmed;
          });
          if (!driven || st.box->pending(product)) return;
          auto known = st.items.find(product);
          std::string id;
          if (known != st.items.end()) {
            id = known->second;
          } else {
            auto found =
                st.setup.db->load_memo(st.setup.id, memo_key(product), id);
            if (!found || !*found) return;
          }
          d.page.emplace_back(std::move(product), std::move(id));
        });
    if (!last) {
      note_error(self, "the drift check cannot read delivery records: " +
                           to_string(last.error()));
      return false;
    }
    if (*last == d.cursor) return false;
    d.cursor = std::move(*last);
  }
  return true;
}

/// Compares one product's levels with its delivery record; corrects drift.
void compare(self_ptr self, const std::string& product, const shopify_item& now,
             const std::string& at) {
  auto& st = self->state;
  if (st.box->pending(product)) return; // a newer value is on its way
  delivery_record rec;
  auto found = st.setup.db->load_delivery(st.setup.id, product, rec);
  if (!found || !*found) return;
  ++st.metrics.drift_checked;
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
      log_line(log_level::warning, component(self),
               "drift: " + product + " at " + location + " shows " +
                   (lv == now.levels.end() ? std::string{"no level"}
                                           : std::to_string(seen)) +
                   " in Shopify, shelfsync confirmed " +
                   std::to_string(d.confirmed) + "; setting it again");
    }
  }
  if (drifted.empty()) return;
  ++st.metrics.drift_found;
  for (auto& [location, seen] : drifted)
    checked(self, st.box->drifted(product, location, seen, at));
  // The view to send again is the stored one, provided it agrees with what
  // was confirmed: a record not written yet (the directory writes behind)
  // must not take the channel back; the next pass looks again.
  product_record stored;
  auto loaded = st.setup.db->load_product(product, stored);
  if (!loaded || !*loaded) return;
  auto view = stored.views.find(st.setup.id);
  if (view == stored.views.end()) return;
  for (auto& [location, d] : rec)
    if (d.state == delivery_state::confirmed && d.has_confirmed) {
      auto v = view->second.find(location);
      if (v == view->second.end() || v->second != d.confirmed) return;
    }
  st.box->enqueue_forced(
      {view_change{product, stored.applied_seq, view->second, 0}});
  ++st.metrics.drift_corrected;
}

void on_drift_read(self_ptr self, shopify_survey_reply& r) {
  auto& st = self->state;
  st.busy = false;
  account(self, r.status);
  if (kind_of(r.status) != shopify::outcome::ok) {
    // The page stays; it is read again after the delay.
    note_error(self, "drift check: " + r.status.message);
    st.drift.not_before = std::max(st.drift.not_before,
                                   clock::now() + delay_after(self, r.status));
    return;
  }
  std::unordered_map<std::string, const shopify_item*> read;
  for (auto& x : r.items)
    read[x.id] = &x;
  auto at = rfc3339(wall_ms());
  for (auto& [product, id] : st.drift.page) {
    auto i = read.find(id);
    if (i != read.end() && i->second->exists)
      compare(self, product, *i->second, at);
  }
  st.drift.page.clear();
}

} // namespace

void schedule_drift(self_ptr self) {
  auto& d = self->state.drift;
  auto* cfg = drift_config(self);
  if (cfg == nullptr || !cfg->enabled) {
    ++d.timer; // any armed timer is stale now
    d.walking = false;
    d.page.clear();
    d.cursor.clear();
    return;
  }
  if (d.walking) return;
  auto next = d.pass_started + std::chrono::seconds{cfg->interval_seconds};
  if (d.pass_started == clock::time_point{})
    next = clock::now() + std::chrono::seconds{cfg->interval_seconds};
  arm_drift(self, until(next, clock::now()));
}

void on_drift_timer(self_ptr self, uint64_t gen) {
  auto& d = self->state.drift;
  auto* cfg = drift_config(self);
  if (gen != d.timer || cfg == nullptr || !cfg->enabled) return;
  if (!d.walking) {
    d.walking = true;
    d.cursor.clear();
    d.page.clear();
    d.pass_started = clock::now();
  }
  pump(self);
}

bool drift_read(self_ptr self) {
  auto& st = self->state;
  auto& d = st.drift;
  auto* cfg = drift_config(self);
  if (!d.walking || cfg == nullptr || !cfg->enabled) return false;
  auto share = static_cast<double>(cfg->budget_percent) / 100.0;
  auto allowance = share * st.bucket.maximum();
  // As many products as one read may carry within the share.
  size_t max_items = std::max<uint32_t>(cfg->page_size, 1);
  while (max_items > 1 &&
         shopify::read_levels_cost(max_items, st.reads) > allowance)
    --max_items;
  if (d.page.empty()) {
    auto more = fill_page(self, max_items);
    if (d.page.empty()) {
      if (more) {
        arm_drift(self, std::chrono::milliseconds{1}); // walk on soon
      } else {
        d.walking = false;
        ++st.metrics.drift_passes;
        schedule_drift(self);
      }
      return false;
    }
  }
  auto cost = shopify::read_levels_cost(d.page.size(), st.reads);
  auto reserve = st.bucket.maximum() - allowance;
  auto now = clock::now();
  if (now < d.not_before || !st.bucket.can_afford(cost + reserve, now)) {
    auto wait = std::max(until(d.not_before, now),
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             st.bucket.wait_for(cost + reserve, now)));
    arm_drift(self, wait + std::chrono::milliseconds{1});
    return false;
  }
  d.not_before = now + std::chrono::milliseconds{static_cast<int64_t>(
                           1000.0 * cost / (share * st.bucket.restore_rate()))};
  st.busy = true;
  ++st.metrics.drift_reads;
  st.metrics.drift_points += cost;
  shopify_survey req;
  for (auto& [product, id] : d.page)
    req.read.push_back(id);
  self->request(st.worker, caf::infinite, atom::survey_v, std::move(req))
      .then(
          [=](shopify_survey_reply& r) {
            on_drift_read(self, r);
            pump(self);
          },
          [=](caf::error& err) {
            replace_worker(self, err);
          });
  return true;
}

} // namespace shelfsync::shopify_shop_detail
