#include "actors/shopify_shop.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "actors/log.hpp"
#include "actors/shopify_shop_detail.hpp"

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

namespace shopify_shop_detail {

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
                     atom::pace_v, gen);
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

void replace_worker(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  st.busy = false;
  note_error(self, "the Shopify worker failed: " + to_string(err));
  st.worker = nullptr;
  st.client_identity.clear();
  configure_client(self);
  arm(self, st.retry_delay.next());
}

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
  // The drift check reads only when the round has nothing else to send.
  if (!st.busy && !st.timer_armed && st.flights.empty()) drift_read(self);
}

namespace {

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
                    {"drift_passes", m.drift_passes},
                    {"drift_reads", m.drift_reads},
                    {"drift_points", m.drift_points},
                    {"drift_checked", m.drift_checked},
                    {"drift_found", m.drift_found},
                    {"drift_corrected", m.drift_corrected},
                    {"bucket_available", st.bucket.available(now)},
                    {"latency_ms_p50", m.latency(0.5)},
                    {"latency_ms_p99", m.latency(0.99)}};
  if (auto* shop = my_shop(self)) {
    auto& dc = shop->shopify.drift_check;
    out["drift_check"] = {{"enabled", dc.enabled},
                          {"interval_seconds", dc.interval_seconds},
                          {"budget_percent", dc.budget_percent},
                          {"walking", st.drift.walking}};
  }
  if (!st.blocked.empty()) out["blocked"] = st.blocked;
  return out.dump();
}

} // namespace

} // namespace shopify_shop_detail

// -- behaviour ---------------------------------------------------------------

using namespace shopify_shop_detail;

shopify_shop_actor::behavior_type
shopify_shop(shopify_shop_actor::stateful_pointer<shopify_shop_state> self,
             shop_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.box = std::make_unique<outbox>(st.setup.id, st.setup.db);
  if (auto err = st.box->load())
    log_line(log_level::error, component(self),
             "cannot load the outbox: " + to_string(err));
  st.resync =
      std::make_unique<resync_run>(st.setup.id, st.setup.db, st.setup.resync);
  if (auto err = st.resync->load())
    log_line(log_level::error, component(self),
             "cannot load the resync: " + to_string(err));
  configure_client(self);
  schedule_drift(self);
  pump(self);
  auto send_now = [self] {
    pump(self);
  };
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
        schedule_drift(self);
        pump(self);
      },
      [=](atom::status) {
        auto& st = self->state;
        auto out = basic_status(*my_shop(self), *st.box);
        out.last_success = st.last_success;
        out.last_error = st.last_error;
        out.details = details(self);
        add_resync(out, *st.resync);
        return out;
      },
      [=](atom::resync) {
        return start_resync(self, send_now);
      },
      [=](atom::tend, uint64_t gen) {
        on_resync_tick(self, gen, send_now);
      },
      [=](atom::stop) {
        auto& st = self->state;
        if (st.worker)
          self->send_exit(st.worker, caf::exit_reason::user_shutdown);
        self->quit();
      },
      [=](atom::drift, uint64_t gen) {
        on_drift_timer(self, gen);
      },
      [=](atom::pace, uint64_t gen) {
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