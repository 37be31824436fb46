#include "actors/shopify_shop_detail.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "core/clock.hpp"
#include "actors/shopify_round.hpp"

/// The push half of a Shopify round: sending the round's mutations and
/// recording Shopify's answers in the outbox's delivery records.
namespace shelfsync::shopify_shop_detail {

void seal(self_ptr self, shopify_flight& f) {
  auto& st = self->state;
  f.push.key = push_key(st.setup.id, f.products, f.push);
  auto at = wall_ms();
  for (size_t i = 0; i < f.push.rows.size(); ++i)
    if (f.row_owner[i].second)
      checked(self, st.box->sent(f.row_owner[i].first, f.push.rows[i].location,
                                 f.push.rows[i].quantity, f.push.key, at));
}

namespace {

/// Confirms the values `f` found already held (its setup is applied).
void confirm_held(self_ptr self, const shopify_flight& f) {
  auto& st = self->state;
  for (auto& [product, location, value] : f.held) {
    ++st.metrics.confirmed;
    checked(self, st.box->confirmed(product, location, value));
  }
}

/// Ends the front flight: its products leave the round.
void land(self_ptr self, bool retry) {
  auto& st = self->state;
  for (auto& [product, seq] : st.flights.front().products)
    finish(self, product, retry);
  st.flights.pop_front();
}

void on_push(self_ptr self, shopify_push_reply& r) {
  auto& st = self->state;
  st.busy = false;
  account(self, r.status);
  if (st.flights.empty()) return; // cannot happen: one call at a time
  auto& f = st.flights.front();
  auto at = rfc3339(wall_ms());
  auto fail_all = [&](const std::string& code, const std::string& message) {
    for (size_t i = 0; i < f.push.rows.size(); ++i)
      if (f.row_owner[i].second) {
        ++st.metrics.failed;
        checked(self, st.box->failed(
                          f.row_owner[i].first, f.push.rows[i].location,
                          f.push.rows[i].quantity, code, message, at, false));
      }
  };
  switch (kind_of(r.status)) {
  case shopify::outcome::throttled:
    // Nothing was applied: the same push goes out once the bucket allows.
    arm(self, delay_after(self, r.status));
    return;
  case shopify::outcome::retryable:
    note_error(self, r.status.message);
    ++st.metrics.retries;
    if (r.status.needs_new_key) {
      // Start over: read again and build a new push.
      land(self, true);
    }
    // Otherwise the same push, same key, goes out again: an attempt that
    // may have applied must not be overtaken by newer values.
    arm(self, delay_after(self, r.status));
    return;
  case shopify::outcome::permanent:
    note_error(self, r.status.message);
    fail_all(r.status.code, r.status.message);
    land(self, true);
    arm(self, delay_after(self, r.status));
    return;
  case shopify::outcome::ok:
    break;
  }
  st.retry_delay.reset();
  for (auto& e : r.tracking_errors)
    note_error(self, "tracking of " + f.push.track.at(e.index) +
                         " not switched on: " + e.message);
  for (auto& e : r.activation_errors)
    note_error(self, "activation of " + f.push.activate.at(e.index).item +
                         " at " + f.push.activate.at(e.index).location +
                         " refused: " + e.message);
  if (r.applied) {
    st.last_success = at;
    for (size_t i = 0; i < f.push.rows.size(); ++i)
      if (f.row_owner[i].second) {
        ++st.metrics.confirmed;
        checked(self,
                st.box->confirmed(f.row_owner[i].first, f.push.rows[i].location,
                                  f.push.rows[i].quantity));
      }
    confirm_held(self, f);
    land(self, false);
    return;
  }
  if (r.row_errors.empty()) {
    auto code =
        r.errors.empty() ? std::string{"NOT_APPLIED"} : r.errors.front().code;
    auto message = r.errors.empty() ? std::string{"Shopify applied nothing"}
                                    : r.errors.front().message;
    note_error(self, "push " + f.push.key + " refused: " + message);
    if (code == "IDEMPOTENCY_CONCURRENT_REQUEST") {
      // The first attempt is still running on Shopify's side: ask again.
      arm(self, self->state.retry_delay.next());
      return;
    }
    fail_all(code, message);
    land(self, true);
    arm(self, self->state.retry_delay.next());
    return;
  }
  // Refused rows: nothing was written. Record them, drop them (and every
  // row of a product whose mapping is stale), and send the rest anew.
  std::vector<bool> drop(f.push.rows.size(), false);
  std::vector<std::string> stale;
  for (auto& e : r.row_errors) {
    if (e.index >= f.push.rows.size()) continue;
    auto& [product, mapped] = f.row_owner[e.index];
    auto& row = f.push.rows[e.index];
    drop[e.index] = true;
    if (e.code == "INVALID_INVENTORY_ITEM") {
      stale.push_back(product);
      continue;
    }
    note_error(self, "Shopify refused " + product + " at " + row.location +
                         ": " + e.message);
    if (mapped) {
      ++st.metrics.failed;
      checked(self, st.box->failed(product, row.location, row.quantity, e.code,
                                   e.message, at, true));
    }
  }
  for (auto& product : stale) {
    st.items.erase(product);
    checked(self, st.setup.db->erase_memo(st.setup.id, memo_key(product)));
    for (size_t i = 0; i < f.push.rows.size(); ++i)
      if (f.row_owner[i].first == product) drop[i] = true;
  }
  shopify_flight rest;
  for (size_t i = 0; i < f.push.rows.size(); ++i)
    if (!drop[i]) {
      rest.push.rows.push_back(f.push.rows[i]);
      rest.row_owner.push_back(f.row_owner[i]);
    }
  auto is_stale = [&](const std::string& product) {
    return std::find(stale.begin(), stale.end(), product) != stale.end();
  };
  for (auto& carried : f.products)
    if (is_stale(carried.first))
      finish(self, carried.first, true); // looked up again next round
    else
      rest.products.push_back(carried);
  for (auto& h : f.held)
    if (!is_stale(std::get<0>(h))) rest.held.push_back(h);
  // Tracking and activations were applied (they run before the rows).
  st.flights.pop_front();
  if (rest.push.rows.empty()) {
    confirm_held(self, rest);
    for (auto& [product, seq] : rest.products)
      finish(self, product, false);
    return;
  }
  seal(self, rest);
  st.flights.push_front(std::move(rest));
}

} // namespace

void send_push(self_ptr self) {
  auto& st = self->state;
  auto& f = st.flights.front();
  auto cost = shopify::push_cost(f.push.track.size() + f.push.activate.size(),
                                f.push.rows.size());
  if (!st.bucket.can_afford(cost, clock::now())) {
    arm(self, std::chrono::duration_cast<std::chrono::milliseconds>(
                  st.bucket.wait_for(cost, clock::now())) +
                  std::chrono::milliseconds{1});
    return;
  }
  st.busy = true;
  ++st.metrics.pushes;
  st.metrics.rows += f.push.rows.size();
  self->request(st.worker, caf::infinite, atom::push_v, f.push)
      .then(
          [=](shopify_push_reply& r) {
            on_push(self, r);
            pump(self);
          },
          [=](caf::error& err) {
            // The worker went away mid-call: the push may have applied.
            replace_worker(self, err);
          });
}

} // namespace shelfsync::shopify_shop_detail
