#include "actors/shopify_shop.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/log.hpp"
#include "actors/shopify_worker.hpp"
#include "channels/shopify/client.hpp"
#include "core/clock.hpp"

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

// -- common ------------------------------------------------------------------

std::string shopify_shop_state::memo_key(const std::string& product) {
  return "sku/" + product;
}

shopify::outcome shopify_shop_state::kind_of(const shopify_call& c) {
  return static_cast<shopify::outcome>(c.kind);
}

std::string shopify_shop_state::component() const {
  return "shopify " + setup.id;
}

/// Logs a check of a storage write; the write is retried by the next round.
void shopify_shop_state::checked(const caf::error& err) {
  if (err)
    log_line(log_level::error, component(),
             "cannot record a delivery: " + to_string(err));
}

void shopify_shop_state::note_error(const std::string& message) {
  last_error = rfc3339(now_ms()) + " " + message;
  log_line(log_level::warning, component(), message);
}

/// Ends a product's flight in the outbox.
void shopify_shop_state::finish(const std::string& product, bool retry) {
  box->finish(product, retry);
}

// -- timers ------------------------------------------------------------------

void shopify_shop_state::arm(std::chrono::milliseconds delay) {
  auto gen = ++timer_gen;
  timer_armed = true;
  self->delayed_send(self, std::max(delay, std::chrono::milliseconds{1}),
                     atom::pace_v, gen);
}

// -- the worker --------------------------------------------------------------

/// (Re)makes the worker when the shop's connection settings changed.
void shopify_shop_state::configure_client() {
  auto* shop = find_shop();
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
  if (!token) credentials_refused = why;
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
    cfg.reads.levels_first = reads.levels_first =
        static_cast<int>(std::clamp<size_t>(mapped + 1, 2, 25));
    cfg.http.connect_timeout = std::chrono::seconds{5};
    cfg.http.request_timeout = std::chrono::seconds{10};
    cfg.max_pacing_wait = std::chrono::seconds{1};
    why = shopify::client::check(cfg);
  }
  if (!why.empty()) {
    if (blocked != why) note_error(why);
    blocked = why;
    if (worker) self->send_exit(worker, caf::exit_reason::user_shutdown);
    worker = nullptr;
    client_identity.clear();
    return;
  }
  blocked.clear();
  auto identity = cfg.shop_url + "\n" + cfg.version.to_string() + "\n" +
                  std::to_string(std::hash<std::string>{}(cfg.access_token)) +
                  "\n" + std::to_string(cfg.reads.levels_first);
  if (worker && identity == client_identity) return;
  // A new token (or shop) is tried afresh; the next call says if refused.
  credentials_refused.clear();
  if (worker) self->send_exit(worker, caf::exit_reason::user_shutdown);
  client_identity = identity;
  if (setup.shopify_worker)
    worker = setup.shopify_worker(self->system(), cfg);
  else
    worker = self->spawn<caf::detached>(shopify_worker, std::move(cfg));
}

/// Accounts a finished call and mirrors the bucket it reports.
void shopify_shop_state::account(const shopify_call& c) {
  auto& m = metrics;
  m.requests += static_cast<uint64_t>(c.requests);
  m.add_latency(static_cast<double>(c.latency_us) / 1000.0);
  m.request_seconds.observe(static_cast<double>(c.latency_us) / 1e6);
  if (c.budget.maximum > 0)
    bucket.observe(
        {c.budget.maximum, c.budget.available, c.budget.restore_rate}, now());
  if (c.http_status == 401 || c.http_status == 403)
    credentials_refused = c.message;
  else if (kind_of(c) == shopify::outcome::ok)
    credentials_refused.clear();
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
std::chrono::milliseconds
shopify_shop_state::delay_after(const shopify_call& c) {
  std::optional<std::chrono::milliseconds> floor;
  if (c.retry_after_ms >= 0)
    floor = std::chrono::milliseconds{c.retry_after_ms};
  if (kind_of(c) == shopify::outcome::throttled)
    return floor.value_or(std::chrono::seconds{1});
  return retry_delay.next(floor);
}

void shopify_shop_state::replace_worker(const caf::error& err) {
  busy = false;
  note_error("the Shopify worker failed: " + to_string(err));
  worker = nullptr;
  client_identity.clear();
  configure_client();
  arm(retry_delay.next());
}

void shopify_shop_state::pump() {
  auto* shop = find_shop();
  if (busy || timer_armed || shop == nullptr || !shop->stock_sync || !worker) {
    return;
  }
  if (!flights.empty())
    send_push();
  else
    start_round();
  // The drift check reads only when the round has nothing else to send.
  if (!busy && !timer_armed && flights.empty()) drift_read();
}

// -- handlers ----------------------------------------------------------------

void shopify_shop_state::start(pointer ptr, shop_setup s) {
  self = ptr;
  open(std::move(s), self->clock(), nullptr,
       [this](const caf::error& err, const char* what) {
         log_line(log_level::error, component(),
                  std::string{what} + ": " + to_string(err));
       });
  configure_client();
  schedule_drift();
  // Nothing goes out before the first views arrive: at an engine start the
  // directory hands over the views its replay could not commit (a start on
  // a full disk), which are newer than the segments loaded here; a round
  // taken before that would push an older view first.
}

void shopify_shop_state::on_pending(std::vector<view_change>&& changes) {
  box->enqueue(std::move(changes));
  pump();
}

void shopify_shop_state::on_reload(config_ptr conf) {
  if (!conf->find_shop(setup.id)) return; // the engine stops this shop
  setup.conf = std::move(conf);
  configure_client();
  schedule_drift();
  pump();
}

void shopify_shop_state::on_pace(uint64_t gen) {
  if (gen != timer_gen) return;
  timer_armed = false;
  pump();
}

void shopify_shop_state::stop() {
  if (worker) self->send_exit(worker, caf::exit_reason::user_shutdown);
  self->quit();
}

shop_status shopify_shop_state::status() const {
  auto out = basic_status(*find_shop(), *box);
  out.last_success = last_success;
  out.last_error = last_error;
  out.credentials_refused = credentials_refused;
  out.details = details();
  add_resync(out, *resync);
  return out;
}

std::string shopify_shop_state::details() const {
  auto& m = metrics;
  auto now = this->now();
  nlohmann::json out;
  out["budget"] = {{"maximum", bucket.maximum()},
                   {"available", bucket.available(now)},
                   {"restore_rate", bucket.restore_rate()}};
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
                    {"bucket_available", bucket.available(now)},
                    {"latency_ms_p50", m.latency(0.5)},
                    {"latency_ms_p99", m.latency(0.99)}};
  // Durations for GET /metrics; "metrics" holds numbers only.
  out["histograms"] = {{"request_seconds", m.request_seconds}};
  if (auto* shop = find_shop()) {
    auto& dc = shop->shopify.drift_check;
    out["drift_check"] = {
        {"enabled", dc.enabled},
        {"interval_seconds",
         std::chrono::duration_cast<std::chrono::seconds>(dc.interval).count()},
        {"budget_percent", dc.budget_percent},
        {"walking", drift.walking}};
  }
  if (!blocked.empty()) out["blocked"] = blocked;
  return out.dump();
}

// -- behaviour ---------------------------------------------------------------

shopify_shop_actor::behavior_type
shopify_shop(shopify_shop_actor::stateful_pointer<shopify_shop_state> self,
             shop_setup setup) {
  self->state.start(self, std::move(setup));
  auto send_now = [self] {
    self->state.pump();
  };
  return {
      [=](atom::pending, std::vector<view_change>& changes) {
        self->state.on_pending(std::move(changes));
      },
      [=](atom::reload, config_ptr& conf) {
        self->state.on_reload(std::move(conf));
      },
      [=](atom::status) {
        return self->state.status();
      },
      [=](atom::resync) {
        return start_resync(self, send_now);
      },
      [=](atom::tend, uint64_t gen) {
        on_resync_tick(self, gen, send_now);
      },
      [=](atom::stop) {
        self->state.stop();
      },
      [=](atom::drift, uint64_t gen) {
        self->state.on_drift_timer(gen);
      },
      [=](atom::pace, uint64_t gen) {
        self->state.on_pace(gen);
      },
  };
}

shop_actor spawn_shopify_shop(caf::actor_system& sys, shop_setup setup) {
  return caf::actor_cast<shop_actor>(sys.spawn(shopify_shop, std::move(setup)));
}

} // namespace shelfsync