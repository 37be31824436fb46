// The product, directory and shop actors under CAF's deterministic
// scheduler: every message is delivered by the test, timers fire only when
// the test advances time.
#include <filesystem>
#include <optional>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include "actors/directory.hpp"
#include "actors/engine.hpp"
#include "actors/shop.hpp"
#include "tests/support/config.hpp"

using namespace shelfsync;

namespace {

/// The two-shop config (data in a store the test opens itself), with WH-B
/// enabled for Amazon as asked.
std::shared_ptr<config> make_config(bool wh_b_enabled_for_amazon) {
  auto c = tests::two_shop_config("");
  c->shops[1].warehouses[1].enabled = wh_b_enabled_for_amazon;
  return c;
}

stock_event on_hand(uint64_t seq, std::string product, std::string wh,
                    int64_t x) {
  stock_event e;
  e.seq = seq;
  e.id = "e" + std::to_string(seq);
  e.product = std::move(product);
  e.warehouse = std::move(wh);
  e.fields = stock_event::has_on_hand;
  e.on_hand = x;
  return e;
}

struct actors_test : ::testing::Test {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    return cfg;
  }

  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-actors-" + std::to_string(::getpid())))
                        .string();
  engine_system_config cfg;
  caf::actor_system sys{init(cfg)};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<store> db;
  config_ptr conf = make_config(false);
  shop_map shops;
  directory_actor dir_actor;
  const std::chrono::seconds idle{30};

  actors_test() {
    std::filesystem::remove_all(dir);
    db = std::shared_ptr<store>{std::move(*store::open(dir, durability::wal))};
    for (auto& s : conf->shops)
      shops.emplace(s.id, sys.spawn(shop, shop_setup{s.id, conf, db, {}, {}, {}}));
    dir_actor =
        sys.spawn(directory, directory_config{db, conf, shops, idle, 1});
    sched.run();
  }

  ~actors_test() override {
    caf::anon_send(dir_actor, atom::stop_v);
    for (auto& [id, s] : shops)
      caf::anon_send(s, atom::stop_v);
    sched.run();
    db.reset();
    std::filesystem::remove_all(dir);
  }

  /// Sends a request and runs the scheduler until its answer is in: the
  /// value, or the error it was answered with. A request left without any
  /// answer once the scheduler ran dry fails the test, and comes back as
  /// the error sec::request_timeout.
  template<class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& h, Ts... xs) {
    std::optional<caf::expected<T>> answer;
    // The handle is a spawn argument: CAF 0.17 dereferences a null argument
    // tuple for an actor spawned without arguments (UBSan reports it).
    sys.spawn(
        [&](caf::event_based_actor* self, Handle target) {
          self->request(target, caf::infinite, xs...)
              .then(
                  [&](T& x) {
                    answer = caf::expected<T>{std::move(x)};
                  },
                  [&](caf::error& err) {
                    answer = caf::expected<T>{std::move(err)};
                  });
        },
        h);
    sched.run();
    if (!answer) {
      ADD_FAILURE() << "the request got no answer";
      return caf::make_error(caf::sec::request_timeout);
    }
    return std::move(*answer);
  }

  /// Applies events and waits until the directory committed them.
  void apply(std::vector<stock_event> events) {
    caf::anon_send(dir_actor, atom::apply_v, std::move(events));
    sched.run();
    EXPECT_TRUE(ask<uint64_t>(dir_actor, atom::sync_v));
  }

  /// Replays events as after a restart and waits for the commit.
  void replay(std::vector<stock_event> events) {
    caf::anon_send(dir_actor, atom::replay_v, std::move(events));
    sched.run();
    EXPECT_TRUE(ask<uint64_t>(dir_actor, atom::sync_v));
  }

  uint64_t pending(const std::string& shop_id) {
    return ask<shop_status>(shops.at(shop_id), atom::status_v)->pending;
  }

  /// The newest committed outbox entry of `shop_id` for `product`.
  std::optional<view_change> outbox(const std::string& shop_id,
                                    const std::string& product) {
    std::optional<view_change> result;
    auto err = db->for_each_outbox(shop_id, [&](view_change&& x) {
      if (x.product == product && (!result || result->seq <= x.seq))
        result = std::move(x);
    });
    EXPECT_FALSE(err);
    return result;
  }
};

} // namespace

TEST_F(actors_test, events_become_views_in_each_shops_outbox) {
  apply({on_hand(1, "003", "WH-A", 12), on_hand(2, "003", "WH-B", 4),
         on_hand(3, "004", "WH-B", 9)});
  auto eu = outbox("eu-store", "003");
  ASSERT_TRUE(eu);
  EXPECT_EQ(eu->desired.at(tests::location_a), 12);
  EXPECT_EQ(eu->desired.at(tests::location_b), 4);
  EXPECT_EQ(eu->seq, 2u);
  // Amazon sums enabled warehouses only (WH-B is disabled there).
  EXPECT_EQ(outbox("amazon-us", "003")->desired.at(""), 12);
  EXPECT_EQ(outbox("amazon-us", "004")->desired.at(""), 0);
  EXPECT_EQ(pending("eu-store"), 2u);
  EXPECT_EQ(pending("amazon-us"), 2u);
  EXPECT_EQ(*db->checkpoint(), 3u);
  auto rec = ask<product_record>(dir_actor, atom::get_v, std::string{"003"});
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->stock.at("WH-B").on_hand, 4);
}

TEST_F(actors_test, unchanged_views_are_not_handed_on) {
  apply({on_hand(1, "003", "WH-A", 12)});
  // A change in WH-B moves the Shopify view but not the Amazon one.
  apply({on_hand(2, "003", "WH-B", 5)});
  EXPECT_EQ(outbox("amazon-us", "003")->seq, 1u);
  EXPECT_EQ(outbox("eu-store", "003")->seq, 2u);
  // The same absolute value again changes nothing at all.
  apply({on_hand(3, "003", "WH-B", 5)});
  EXPECT_EQ(outbox("eu-store", "003")->seq, 2u);
  EXPECT_EQ(*db->checkpoint(), 3u);
}

TEST_F(actors_test, a_replay_restates_unchanged_views_at_the_latest_seq) {
  // Two replay chunks. Between them Amazon's view went 12 -> 7 -> 12: a feed
  // carrying 7 (seq 2) may have been in flight at the crash. The view at
  // seq 3 must reach the outbox although it equals the one at seq 1, or the
  // shop would take seq 1 for older than the flight and keep 7.
  replay({on_hand(1, "003", "WH-A", 12)});
  replay({on_hand(2, "003", "WH-A", 7), on_hand(3, "003", "WH-A", 12)});
  auto us = outbox("amazon-us", "003");
  ASSERT_TRUE(us);
  EXPECT_EQ(us->seq, 3u);
  EXPECT_EQ(us->desired.at(""), 12);
  EXPECT_EQ(outbox("eu-store", "003")->seq, 3u);
  // Live events hand on changed views only.
  apply({on_hand(4, "003", "WH-B", 5)});
  EXPECT_EQ(outbox("amazon-us", "003")->seq, 3u);
  EXPECT_EQ(outbox("eu-store", "003")->seq, 4u);
}

TEST_F(actors_test, replayed_events_are_not_applied_twice) {
  stock_event d = on_hand(1, "003", "WH-A", 0);
  d.fields = stock_event::has_delta;
  d.delta = 5;
  apply({d});
  apply({d});
  auto rec = ask<product_record>(dir_actor, atom::get_v, std::string{"003"});
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->stock.at("WH-A").on_hand, 5);
}

TEST_F(actors_test, idle_products_stop_and_their_state_survives) {
  apply({on_hand(1, "003", "WH-A", 12)});
  EXPECT_EQ(*ask<uint64_t>(dir_actor, atom::count_v), 1u);
  sched.advance_time(idle);
  sched.run();
  sched.advance_time(idle);
  sched.run();
  EXPECT_EQ(*ask<uint64_t>(dir_actor, atom::count_v), 0u);
  auto rec = ask<product_record>(dir_actor, atom::get_v, std::string{"003"});
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->stock.at("WH-A").on_hand, 12);
  // The next event spawns it again from its stored record.
  stock_event d = on_hand(2, "003", "WH-A", 0);
  d.fields = stock_event::has_delta;
  d.delta = -2;
  apply({d});
  EXPECT_EQ(outbox("amazon-us", "003")->desired.at(""), 10);
}

TEST_F(actors_test, idle_products_wait_for_the_next_commit_to_stop) {
  // Products go idle long before the next commit is due: none of them may
  // stop before its record is on disk, and none forces a commit of its own.
  directory_config slow{db, conf, shops, std::chrono::seconds{1}, 1};
  slow.commit_interval = std::chrono::seconds{10};
  auto d = sys.spawn(directory, slow);
  caf::anon_send(d, atom::apply_v,
                 std::vector<stock_event>{on_hand(1, "a", "WH-A", 3),
                                          on_hand(2, "b", "WH-A", 4)});
  sched.run();
  sched.advance_time(std::chrono::seconds{1});
  sched.run();
  product_record rec;
  EXPECT_EQ(*ask<uint64_t>(d, atom::count_v), 2u);
  EXPECT_FALSE(*db->load_product("a", rec)); // not committed yet
  sched.advance_time(std::chrono::seconds{9});
  sched.run();
  EXPECT_EQ(*ask<uint64_t>(d, atom::count_v), 0u);
  ASSERT_TRUE(*db->load_product("b", rec));
  EXPECT_EQ(rec.stock.at("WH-A").on_hand, 4);
  caf::anon_send(d, atom::stop_v);
  sched.run();
}

TEST_F(actors_test, busy_products_do_not_stop) {
  apply({on_hand(1, "003", "WH-A", 12)});
  sched.advance_time(idle);
  sched.run();
  apply({on_hand(2, "003", "WH-A", 11)});
  sched.advance_time(idle);
  sched.run();
  EXPECT_EQ(*ask<uint64_t>(dir_actor, atom::count_v), 1u);
}

TEST_F(actors_test, unknown_products_are_not_found) {
  auto rec = ask<product_record>(dir_actor, atom::get_v, std::string{"nope"});
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error(), ec::not_found);
}

TEST_F(actors_test, reload_recomputes_live_and_stored_products) {
  apply({on_hand(1, "live", "WH-B", 3), on_hand(2, "stored", "WH-B", 4)});
  // Let "stored" go idle while "live" stays busy.
  sched.advance_time(idle);
  sched.run();
  apply({on_hand(3, "live", "WH-A", 1)});
  sched.advance_time(idle);
  sched.run();
  EXPECT_EQ(*ask<uint64_t>(dir_actor, atom::count_v), 1u);
  EXPECT_EQ(outbox("amazon-us", "stored")->desired.at(""), 0);
  config_ptr next = make_config(true);
  caf::anon_send(dir_actor, atom::reload_v, next, shops);
  sched.run();
  EXPECT_TRUE(ask<uint64_t>(dir_actor, atom::sync_v));
  EXPECT_EQ(outbox("amazon-us", "stored")->desired.at(""), 4);
  EXPECT_EQ(outbox("amazon-us", "live")->desired.at(""), 4);
}

TEST_F(actors_test, stock_sync_off_produces_no_view) {
  auto off = make_config(false);
  off->shops[1].stock_sync = false;
  caf::anon_send(dir_actor, atom::reload_v, config_ptr{off}, shops);
  sched.run();
  apply({on_hand(1, "003", "WH-A", 12)});
  EXPECT_TRUE(outbox("eu-store", "003"));
  EXPECT_FALSE(outbox("amazon-us", "003"));
}
