#include "actors/shopify_shop.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "actors/shopify_round.hpp"
#include "channels/shopify/client.hpp"
#include "core/clock.hpp"

/// The push half of a Shopify round: sending the round's mutations and
/// recording Shopify's answers in the outbox's delivery records.
namespace shelfsync {

bool shopify_shop_state::seal(shopify_flight& f) {
  f.push.key = push_key(setup.id, f.products, f.push);
  auto at = now_ms();
  caf::error err;
  for (size_t i = 0; i < f.push.rows.size() && !err; ++i)
    if (f.row_owner[i].second)
      err = box->sent(f.row_owner[i].first, f.push.rows[i].location,
                      f.push.rows[i].quantity, f.push.key, at);
  f.recorded = !err;
  if (err && !push_unrecorded) {
    // Said once per outage (send_push retries every second).
    push_unrecorded = true;
    note_error("pushes wait until what they send can be recorded: " +
               to_string(err));
  } else if (!err && push_unrecorded) {
    push_unrecorded = false;
    log_line(log_level::info, component(),
             "what pushes send is recorded again; they go out");
  }
  return f.recorded;
}

/// Confirms the values `f` found already held (its setup is applied).
void shopify_shop_state::confirm_held(const shopify_flight& f) {
  for (auto& [product, location, value] : f.held) {
    ++metrics.confirmed;
    checked(box->confirmed(product, location, value));
  }
}

/// Ends the front flight: its products leave the round.
void shopify_shop_state::land(bool retry) {
  for (auto& [product, seq] : flights.front().products)
    finish(product, retry);
  flights.pop_front();
}

void shopify_shop_state::on_push(shopify_push_reply& r) {
  busy = false;
  account(r.status);
  if (flights.empty()) return; // cannot happen: one call at a time
  auto& f = flights.front();
  auto at = rfc3339(now_ms());
  auto fail_all = [&](const std::string& code, const std::string& message) {
    for (size_t i = 0; i < f.push.rows.size(); ++i)
      if (f.row_owner[i].second) {
        ++metrics.failed;
        checked(box->failed(f.row_owner[i].first, f.push.rows[i].location,
                            f.push.rows[i].quantity, code, message, at, false));
      }
  };
  switch (kind_of(r.status)) {
  case shopify::outcome::throttled:
    // Nothing was applied: the same push goes out once the bucket allows.
    arm(delay_after(r.status));
    return;
  case shopify::outcome::retryable:
    note_error(r.status.message);
    ++metrics.retries;
    if (r.status.needs_new_key) {
      // Start over: read again and build a new push.
      land(true);
    }
    // Otherwise the same push, same key, goes out again: an attempt that
    // may have applied must not be overtaken by newer values.
    arm(delay_after(r.status));
    return;
  case shopify::outcome::permanent:
    note_error(r.status.message);
    fail_all(r.status.code, r.status.message);
    land(true);
    arm(delay_after(r.status));
    return;
  case shopify::outcome::ok:
    break;
  }
  retry_delay.reset();
  for (auto& e : r.tracking_errors)
    note_error("tracking of " + f.push.track.at(e.index) +
               " not switched on: " + e.message);
  for (auto& e : r.activation_errors)
    note_error("activation of " + f.push.activate.at(e.index).item + " at " +
               f.push.activate.at(e.index).location + " refused: " + e.message);
  if (r.applied) {
    last_success = at;
    for (size_t i = 0; i < f.push.rows.size(); ++i)
      if (f.row_owner[i].second) {
        ++metrics.confirmed;
        checked(box->confirmed(f.row_owner[i].first, f.push.rows[i].location,
                               f.push.rows[i].quantity));
      }
    confirm_held(f);
    land(false);
    return;
  }
  if (r.row_errors.empty()) {
    auto code =
        r.errors.empty() ? std::string{"NOT_APPLIED"} : r.errors.front().code;
    auto message = r.errors.empty() ? std::string{"Shopify applied nothing"}
                                    : r.errors.front().message;
    note_error("push " + f.push.key + " refused: " + message);
    if (code == "IDEMPOTENCY_CONCURRENT_REQUEST") {
      // The first attempt is still running on Shopify's side: ask again.
      arm(retry_delay.next());
      return;
    }
    fail_all(code, message);
    land(true);
    arm(retry_delay.next());
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
    note_error("Shopify refused " + product + " at " + row.location + ": " +
               e.message);
    if (mapped) {
      ++metrics.failed;
      checked(box->failed(product, row.location, row.quantity, e.code,
                          e.message, at, true));
    }
  }
  for (auto& product : stale) {
    items.erase(product);
    checked(setup.db->erase_memo(setup.id, memo_key(product)));
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
      finish(carried.first, true); // looked up again next round
    else
      rest.products.push_back(carried);
  for (auto& h : f.held)
    if (!is_stale(std::get<0>(h))) rest.held.push_back(h);
  // Tracking and activations were applied (they run before the rows).
  flights.pop_front();
  if (rest.push.rows.empty()) {
    confirm_held(rest);
    for (auto& [product, seq] : rest.products)
      finish(product, false);
    return;
  }
  seal(rest);
  flights.push_front(std::move(rest));
}

void shopify_shop_state::send_push() {
  auto& f = flights.front();
  if (!f.recorded && !seal(f)) {
    // Sent unrecorded, the push could leave Shopify holding values that a
    // restart (or the outbox, once it forgets the product) takes for never
    // sent: it waits, its products in flight, until the store takes writes.
    arm(std::chrono::seconds{1});
    return;
  }
  auto cost = shopify::push_cost(f.push.track.size() + f.push.activate.size(),
                                 f.push.rows.size());
  if (!bucket.can_afford(cost, now())) {
    arm(std::chrono::duration_cast<std::chrono::milliseconds>(
            bucket.wait_for(cost, now())) +
        std::chrono::milliseconds{1});
    return;
  }
  busy = true;
  ++metrics.pushes;
  metrics.rows += f.push.rows.size();
  self->request(worker, caf::infinite, atom::push_v, f.push)
      .then(
          [=](shopify_push_reply& r) {
            on_push(r);
            pump();
          },
          [=](caf::error& err) {
            // The worker went away mid-call: the push may have applied.
            replace_worker(err);
          });
}

} // namespace shelfsync
