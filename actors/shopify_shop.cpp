#include "actors/shopify_shop.hpp"

#include "actors/clock.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/log.hpp"
#include "actors/shopify_round.hpp"

namespace shelfsync {

// -- metrics -----------------------------------------------------------------

void shopify_metrics::add_latency(double ms) {
  constexpr size_t ring = 1024;
  if (latencies.size() < ring) {
    latencies.push_back(ms);
    return;
  }
  latencies[next_latency] = ms;
  next_latency = (next_latency + 1) % ring;
}

double shopify_metrics::latency(double q) const {
  if (latencies.empty()) return 0;
  auto sorted = latencies;
  std::sort(sorted.begin(), sorted.end());
  auto i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

namespace {

using self_ptr = shopify_shop_actor::stateful_pointer<shopify_shop_state>;
using clock = std::chrono::steady_clock;

/// Where a product's inventory item id is remembered in the channel memos.
std::string memo_key(const std::string& product) { return "sku/" + product; }

shopify::outcome kind_of(const shopify_call& c) {
  return static_cast<shopify::outcome>(c.kind);
}

const shop_config* my_shop(self_ptr self) {
  auto& st = self->state;
  return st.setup.conf->find_shop(st.setup.id);
}

std::string component(self_ptr self) {
  return "shopify " + self->state.setup.id;
}

/// Logs a check of a storage write; the write is retried by the next round.
void checked(self_ptr self, const caf::error& err) {
  if (err)
    log_line(log_level::error, component(self),
             "cannot record a delivery: " + to_string(err));
}

void note_error(self_ptr self, const std::string& message) {
  self->state.last_error = rfc3339(wall_ms()) + " " + message;
  log_line(log_level::warning, component(self), message);
}

/// Ends a product's flight in the outbox.
void finish(self_ptr self, const std::string& product, bool retry) {
  self->state.box->finish(product, retry);
}

// -- timers ------------------------------------------------------------------

void arm(self_ptr self, std::chrono::milliseconds delay) {
  auto& st = self->state;
  auto gen = ++st.timer_gen;
  st.timer_armed = true;
  self->delayed_send(self, std::max(delay, std::chrono::milliseconds{1}),
                     atom::tick_v, gen);
}

// -- the worker --------------------------------------------------------------

/// (Re)makes the worker when the shop's connection settings changed.
void configure_client(self_ptr self) {
  auto& st = self->state;
  auto* shop = my_shop(self);
  if (shop == nullptr) return;
  auto& sc = shop->shopify;
  shopify::client_config cfg;
  cfg.shop_url = sc.shop_url;
  std::string why;
  auto token = read_secret(sc.access_token_env);
  auto version = shopify::api_version::parse(sc.api_version);
  if (!token)
    why = "the environment variable " + sc.access_token_env +
          " holding the Shopify access token is not set";
  else if (!version)
    why = "unsupported Shopify API version " + sc.api_version;
  if (why.empty()) {
    cfg.access_token = *token;
    cfg.version = *version;
    // Reserve as many levels per item as this shop maps locations, plus one
    // for a stray location (rule 5): Shopify asks for the reserved levels to
    // be in the bucket before a read runs, and charges only those returned.
    // Items stocked at more locations are paged.
    size_t mapped = 0;
    for (auto& w : shop->warehouses)
      mapped += w.enabled && !w.location.empty() ? 1 : 0;
    cfg.reads.levels_first = st.reads.levels_first =
        static_cast<int>(std::clamp<size_t>(mapped + 1, 2, 25));
    cfg.http.connect_timeout = std::chrono::seconds{5};
    cfg.http.request_timeout = std::chrono::seconds{10};
    cfg.max_pacing_wait = std::chrono::seconds{1};
    why = shopify::client::check(cfg);
  }
  if (!why.empty()) {
    if (st.blocked != why) note_error(self, why);
    st.blocked = why;
    if (st.worker) self->send_exit(st.worker, caf::exit_reason::user_shutdown);
    st.worker = nullptr;
    st.client_identity.clear();
    return;
  }
  st.blocked.clear();
  auto identity = cfg.shop_url + "\n" + cfg.version.to_string() + "\n" +
                  std::to_string(std::hash<std::string>{}(cfg.access_token)) +
                  "\n" + std::to_string(cfg.reads.levels_first);
  if (st.worker && identity == st.client_identity) return;
  if (st.worker) self->send_exit(st.worker, caf::exit_reason::user_shutdown);
  st.client_identity = identity;
  st.worker = self->spawn<caf::detached>(shopify_worker, std::move(cfg));
}

/// Accounts a finished call and mirrors the bucket it reports.
void account(self_ptr self, const shopify_call& c) {
  auto& st = self->state;
  auto& m = st.metrics;
  m.requests += static_cast<uint64_t>(c.requests);
  m.add_latency(static_cast<double>(c.latency_us) / 1000.0);
  if (c.budget.maximum > 0)
    st.bucket.observe(
        {c.budget.maximum, c.budget.available, c.budget.restore_rate},
        clock::now());
  switch (kind_of(c)) {
  case shopify::outcome::ok:
    break;
  case shopify::outcome::throttled:
    ++m.throttled;
    break;
  default:
    ++m.errors;
  }
}

/// The delay before trying again after a failed call.
std::chrono::milliseconds delay_after(self_ptr self, const shopify_call& c) {
  std::optional<std::chrono::milliseconds> floor;
  if (c.retry_after_ms >= 0)
    floor = std::chrono::milliseconds{c.retry_after_ms};
  if (kind_of(c) == shopify::outcome::throttled)
    return floor.value_or(std::chrono::seconds{1});
  return self->state.retry_delay.next(floor);
}

void pump(self_ptr self);

// -- pushes ------------------------------------------------------------------

/// Gives the front flight a key from its content and records it as sent.
void seal(self_ptr self, shopify_flight& f) {
  auto& st = self->state;
  f.push.key = push_key(st.setup.id, f.products, f.push);
  auto at = wall_ms();
  for (size_t i = 0; i < f.push.rows.size(); ++i)
    if (f.row_owner[i].second)
      checked(self, st.box->sent(f.row_owner[i].first, f.push.rows[i].location,
                                 f.push.rows[i].quantity, f.push.key, at));
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
  // Tracking and activations were applied (they run before the rows).
  st.flights.pop_front();
  if (rest.push.rows.empty()) {
    for (auto& [product, seq] : rest.products)
      finish(self, product, false);
    return;
  }
  seal(self, rest);
  st.flights.push_front(std::move(rest));
}

void send_push(self_ptr self) {
  auto& st = self->state;
  auto& f = st.flights.front();
  double cost = 13.0 + 11.0 * static_cast<double>(f.push.track.size() +
                                                  f.push.activate.size());
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
            self->state.busy = false;
            note_error(self, "the Shopify worker failed: " + to_string(err));
            self->state.worker = nullptr;
            self->state.client_identity.clear();
            configure_client(self);
            arm(self, self->state.retry_delay.next());
          });
}

// -- surveys -----------------------------------------------------------------

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
    for (auto& [location, value] : plan.holding) {
      ++st.metrics.confirmed;
      checked(self, st.box->confirmed(it.product, location, value));
    }
    if (plan.empty()) {
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
    current.products.emplace_back(it.product, it.seq);
    setup_fields += setup;
  }
  close();
}

/// Starts a round: takes what fits in one mutation from the outbox and asks
/// the worker where those items stand.
void start_round(self_ptr self) {
  auto& st = self->state;
  size_t rows = 0;
  shopify_survey req;
  // What the round's lookups, reads and push ask for, with `extra` more.
  auto cost = [&](size_t extra_lookups, size_t extra_reads) {
    return shopify::lookup_cost(req.lookup.size() + extra_lookups, st.reads) +
           shopify::read_levels_cost(req.read.size() + extra_reads, st.reads) +
           13.0;
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
            st.busy = false;
            note_error(self, "the Shopify worker failed: " + to_string(err));
            for (auto& it : st.surveyed)
              finish(self, it.product, true);
            st.surveyed.clear();
            st.worker = nullptr;
            st.client_identity.clear();
            configure_client(self);
            arm(self, st.retry_delay.next());
          });
}

/// Sends whatever can go out now: the next push of the round, or a new
/// round. Called after every message that may have made work possible.
void pump(self_ptr self) {
  auto& st = self->state;
  auto* shop = my_shop(self);
  if (st.busy || st.timer_armed || shop == nullptr || !shop->stock_sync ||
      !st.worker) {
    return;
  }
  if (!st.flights.empty())
    send_push(self);
  else
    start_round(self);
}

std::string details(self_ptr self) {
  auto& st = self->state;
  auto& m = st.metrics;
  auto now = clock::now();
  nlohmann::json out;
  out["budget"] = {{"maximum", st.bucket.maximum()},
                   {"available", st.bucket.available(now)},
                   {"restore_rate", st.bucket.restore_rate()}};
  out["metrics"] = {{"requests", m.requests},
                    {"surveys", m.surveys},
                    {"pushes", m.pushes},
                    {"rows", m.rows},
                    {"confirmed", m.confirmed},
                    {"failed", m.failed},
                    {"throttled", m.throttled},
                    {"errors", m.errors},
                    {"retries", m.retries},
                    {"bucket_available", st.bucket.available(now)},
                    {"latency_ms_p50", m.latency(0.5)},
                    {"latency_ms_p99", m.latency(0.99)}};
  if (!st.blocked.empty()) out["blocked"] = st.blocked;
  return out.dump();
}

} // namespace

// -- behaviour ---------------------------------------------------------------

shopify_shop_actor::behavior_type
shopify_shop(shopify_shop_actor::stateful_pointer<shopify_shop_state> self,
             shop_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.box = std::make_unique<outbox>(st.setup.id, st.setup.db);
  if (auto err = st.box->load())
    log_line(log_level::error, component(self),
             "cannot load the outbox: " + to_string(err));
  configure_client(self);
  pump(self);
  return {
      [=](atom::pending, std::vector<view_change>& changes) {
        auto& st = self->state;
        st.box->enqueue(std::move(changes));
        pump(self);
      },
      [=](atom::reload, config_ptr& conf) {
        if (!conf->find_shop(self->state.setup.id)) return;
        self->state.setup.conf = std::move(conf);
        configure_client(self);
        pump(self);
      },
      [=](atom::status) {
        auto& st = self->state;
        auto out = basic_status(*my_shop(self), *st.box);
        out.last_success = st.last_success;
        out.last_error = st.last_error;
        out.details = details(self);
        return out;
      },
      [=](atom::stop) {
        auto& st = self->state;
        if (st.worker)
          self->send_exit(st.worker, caf::exit_reason::user_shutdown);
        self->quit();
      },
      [=](atom::tick, uint64_t gen) {
        auto& st = self->state;
        if (gen != st.timer_gen) return;
        st.timer_armed = false;
        pump(self);
      },
  };
}

shop_actor spawn_shopify_shop(caf::actor_system& sys, shop_setup setup) {
  return caf::actor_cast<shop_actor>(sys.spawn(shopify_shop, std::move(setup)));
}

} // namespace shelfsync
