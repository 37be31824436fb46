// The deterministic fixture of the Shopify shop's logic: the directory and a
// Shopify shop actor under CAF's test coordinator, talking to a scripted
// worker (a test actor with the worker's typed interface) instead of the
// real client. Nothing sleeps: messages run when the test runs the
// scheduler, and timers fire only when it advances the clock. The loopback
// tests (shopify_shop_test.cpp) prove the real client against the simulator.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include "actors/directory.hpp"
#include "actors/engine.hpp"
#include "actors/shopify_shop.hpp"
#include "channels/shopify/client.hpp"

namespace scripted_shopify {

using namespace shelfsync;
using namespace std::chrono_literals;

inline constexpr const char* loc_a = "gid://shopify/Location/1001";
inline constexpr const char* loc_b = "gid://shopify/Location/1002";
inline constexpr const char* token_env = "SHELFSYNC_SCRIPTED_SHOPIFY_TOKEN";

/// What the scripted worker holds and answers: a tiny Shopify (items by
/// SKU, their levels), the calls it received, and scripted failures that
/// the next calls answer with instead.
struct script {
  /// Items by SKU; an item's id is "gid://shopify/InventoryItem/<sku>".
  std::map<std::string, shopify_item> items;
  /// The calls received, in order.
  std::vector<shopify_survey> surveys;
  /// When each survey arrived, by the actor clock.
  std::vector<caf::actor_clock::time_point> survey_at;
  std::vector<shopify_push> pushes;
  /// Statuses the next surveys and pushes answer with (nothing applied),
  /// oldest first.
  std::deque<shopify_call> survey_failures;
  std::deque<shopify_call> push_failures;
  /// SKUs whose quantity rows Shopify refuses (a push carrying one writes
  /// no quantity), with the userError code.
  std::map<std::string, std::string> refused;
  /// The bucket each answer reports.
  shopify_budget budget{2000, 2000, 100};
  /// Runs as each push arrives, before it is answered (say, to make the
  /// store refuse writes while the push is on its way).
  std::function<void()> on_push;

  /// Adds a tracked item stocked at `levels`.
  void add(const std::string& sku,
           std::vector<shopify_level> levels = {{loc_a, 0}}) {
    shopify_item it;
    it.id = "gid://shopify/InventoryItem/" + sku;
    it.exists = true;
    it.tracked = true;
    it.levels = std::move(levels);
    items[sku] = std::move(it);
  }

  /// The next push answers `kind` (retry_after_ms: -1 for none).
  void fail_push(shopify::outcome kind, int64_t retry_after_ms = -1,
                 std::string code = "SCRIPTED") {
    push_failures.push_back(failure(kind, retry_after_ms, std::move(code)));
  }

  /// The next survey answers `kind` (retry_after_ms: -1 for none).
  void fail_survey(shopify::outcome kind, int64_t retry_after_ms = -1,
                   std::string code = "SCRIPTED") {
    survey_failures.push_back(failure(kind, retry_after_ms, std::move(code)));
  }

  shopify_call failure(shopify::outcome kind, int64_t retry_after_ms,
                       std::string code) {
    shopify_call c;
    c.kind = static_cast<uint8_t>(kind);
    c.code = std::move(code);
    c.message = "scripted " + c.code;
    c.http_status = kind == shopify::outcome::throttled ? 429 : 503;
    c.retry_after_ms = retry_after_ms;
    c.requests = 1;
    c.budget = budget;
    return c;
  }

  /// The level of `sku` at `loc`, or -1.
  int64_t level(const std::string& sku, const std::string& loc) const {
    auto i = items.find(sku);
    if (i == items.end()) return -1;
    for (auto& lv : i->second.levels)
      if (lv.location == loc) return lv.available;
    return -1;
  }

  /// The item whose id is `id`, or null.
  shopify_item* by_id(const std::string& id) {
    for (auto& [sku, it] : items)
      if (it.id == id) return &it;
    return nullptr;
  }

  /// The status of the next call: a scripted failure from `failures`, or ok.
  shopify_call next_status(std::deque<shopify_call>& failures) {
    if (!failures.empty()) {
      auto c = std::move(failures.front());
      failures.pop_front();
      return c;
    }
    shopify_call ok;
    ok.kind = static_cast<uint8_t>(shopify::outcome::ok);
    ok.requests = 1;
    ok.budget = budget;
    return ok;
  }
};

/// The scripted worker: answers as `s` says, at once.
inline shopify_worker_actor::behavior_type
scripted_worker(shopify_worker_actor::pointer self, std::shared_ptr<script> s) {
  return {
      [=](atom::survey, shopify_survey& q) {
        s->surveys.push_back(q);
        s->survey_at.push_back(self->clock().now());
        shopify_survey_reply r;
        r.status = s->next_status(s->survey_failures);
        if (r.status.kind != static_cast<uint8_t>(shopify::outcome::ok))
          return r;
        for (auto& sku : q.lookup) {
          shopify_sku found;
          found.sku = sku;
          auto i = s->items.find(sku);
          found.status = static_cast<uint8_t>(
              i == s->items.end() ? shopify::sku_status::not_found
                                  : shopify::sku_status::found);
          if (i != s->items.end()) found.item = i->second;
          r.found.push_back(std::move(found));
        }
        for (auto& id : q.read) {
          auto* it = s->by_id(id);
          shopify_item x;
          x.id = id;
          if (it != nullptr) x = *it;
          r.items.push_back(std::move(x));
        }
        return r;
      },
      [=](atom::push, shopify_push& p) {
        s->pushes.push_back(p);
        if (s->on_push) s->on_push();
        shopify_push_reply r;
        r.status = s->next_status(s->push_failures);
        if (r.status.kind != static_cast<uint8_t>(shopify::outcome::ok))
          return r;
        for (size_t i = 0; i < p.rows.size(); ++i)
          for (auto& [sku, code] : s->refused)
            if (p.rows[i].item == s->items[sku].id)
              r.row_errors.push_back({i, code, "scripted refusal"});
        for (auto& id : p.track)
          if (auto* it = s->by_id(id)) it->tracked = true;
        for (auto& a : p.activate)
          if (auto* it = s->by_id(a.item))
            it->levels.push_back({a.location, 0});
        if (!r.row_errors.empty()) return r;
        for (auto& row : p.rows)
          if (auto* it = s->by_id(row.item))
            for (auto& lv : it->levels)
              if (lv.location == row.location) lv.available = row.quantity;
        r.applied = true;
        return r;
      },
  };
}

inline std::atomic<int> dirs{0};

/// The directory and shop "eu" (WH-A → loc_a, WH-B → loc_b) under the test
/// coordinator, with a scripted worker.
class scripted_shopify_test : public ::testing::Test {
 protected:
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    return cfg;
  }

  scripted_shopify_test() {
    ::setenv(token_env, "shpat_scripted", 1);
    std::filesystem::remove_all(dir);
    db = std::shared_ptr<store>{std::move(*store::open(dir, durability::wal))};
  }

  ~scripted_shopify_test() override {
    if (shop_actor_) caf::anon_send(shop_actor_, atom::stop_v);
    if (dir_actor) caf::anon_send(dir_actor, atom::stop_v);
    sched.run();
    db.reset();
    std::filesystem::remove_all(dir);
  }

  /// Shop "eu"; `drift_seconds` > 0 turns the drift check on.
  config_ptr make_config(bool stock_sync = true, uint32_t drift_seconds = 0,
                         uint32_t drift_percent = 10,
                         uint32_t drift_page = 50) {
    auto c = std::make_shared<config>();
    c->node.data_dir = dir;
    c->warehouses = {{"WH-A"}, {"WH-B"}};
    shop_config eu;
    eu.id = "eu";
    eu.channel = channel_kind::shopify;
    eu.stock_sync = stock_sync;
    eu.shopify.shop_url = "http://127.0.0.1:9/eu";
    eu.shopify.access_token_env = token_env;
    eu.warehouses = {{"WH-A", true, loc_a}, {"WH-B", true, loc_b}};
    eu.shopify.drift_check.enabled = drift_seconds > 0;
    eu.shopify.drift_check.interval = std::chrono::seconds{drift_seconds};
    eu.shopify.drift_check.budget_percent = drift_percent;
    eu.shopify.drift_check.page_size = drift_page;
    c->shops = {eu};
    return c;
  }

  /// Spawns the shop and the directory and runs their start-up.
  void start(config_ptr c = nullptr) {
    conf = c ? c : make_config();
    auto sc = s;
    shop_setup setup{
        "eu",
        conf,
        db,
        {},
        {},
        [sc](caf::actor_system& sys, const shopify::client_config&) {
          return sys.spawn(scripted_worker, sc);
        }};
    shop_actor_ = sys.spawn(shopify_shop, std::move(setup));
    shop_map shops{{"eu", caf::actor_cast<shop_actor>(shop_actor_)}};
    directory_config dcfg{db, conf, shops, 30s, 1};
    dir_actor = sys.spawn(directory, std::move(dcfg));
    sched.run();
  }

  /// An event setting `product`'s on-hand in `wh` (apply() numbers it).
  static stock_event set(const std::string& product, const std::string& wh,
                         int64_t on_hand) {
    stock_event e;
    e.product = product;
    e.warehouse = wh;
    e.fields = stock_event::has_on_hand;
    e.on_hand = on_hand;
    return e;
  }

  /// Hands events to the directory (as the event log does) and runs every
  /// message that follows, without advancing the clock.
  void apply(std::vector<stock_event> events) {
    for (auto& e : events) {
      e.seq = ++seq;
      e.id = "e" + std::to_string(e.seq);
    }
    caf::anon_send(dir_actor, atom::apply_v, std::move(events));
    sched.run();
  }

  /// Advances the clock by `d`, running every message on the way, in steps
  /// of `step` so that timers set on the way fire in order.
  void advance(std::chrono::milliseconds d,
               std::chrono::milliseconds step = 100ms) {
    sched.run();
    for (auto t = std::chrono::milliseconds{0}; t < d; t += step) {
      sched.advance_time(step);
      sched.run();
    }
  }

  /// The delivery record of `product`.
  delivery_record deliveries(const std::string& product) {
    delivery_record rec;
    auto found = db->load_delivery("eu", product, rec);
    if (!found || !*found) rec.clear();
    return rec;
  }

  bool confirmed(const std::string& product, const std::string& loc,
                 int64_t value) {
    auto rec = deliveries(product);
    auto i = rec.find(loc);
    return i != rec.end() && i->second.state == delivery_state::confirmed &&
           i->second.confirmed == value;
  }

  /// The shop's status, asked through a message.
  shop_status status() {
    std::optional<shop_status> result;
    sys.spawn(
        [&](caf::event_based_actor* self, shop_actor target) {
          self->request(target, caf::infinite, atom::status_v)
              .then([&](shop_status& x) {
                result = std::move(x);
              });
        },
        caf::actor_cast<shop_actor>(shop_actor_));
    sched.run();
    return result.value_or(shop_status{});
  }

  /// Sends a new configuration to the directory and the shop, as the engine
  /// does.
  void reload(config_ptr c) {
    conf = c;
    shop_map shops{{"eu", caf::actor_cast<shop_actor>(shop_actor_)}};
    caf::anon_send(dir_actor, atom::reload_v, c, shops);
    caf::anon_send(shops["eu"], atom::reload_v, c);
    sched.run();
  }

  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-scripted-" + std::to_string(::getpid()) + "-" +
                      std::to_string(dirs++)))
                        .string();
  engine_system_config cfg;
  caf::actor_system sys{init(cfg)};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<store> db;
  std::shared_ptr<script> s = std::make_shared<script>();
  config_ptr conf;
  shopify_shop_actor shop_actor_;
  directory_actor dir_actor;
  uint64_t seq = 0;
};

} // namespace scripted_shopify
