// Replay: a fresh state rebuilt from the log, compared with the live one.
#include "api/state_replay.hpp"

#include <filesystem>
#include <future>

#include <gtest/gtest.h>

#include "actors/engine.hpp"
#include "tests/support/config.hpp"

using namespace shelfsync;

namespace {

/// The two-shop config, with a buffer of 1 on Amazon.
config_ptr replay_config(const std::string& dir) {
  auto c = tests::two_shop_config(dir);
  c->shops[1].rules.buffer = 1;
  return c;
}

stock_event absolute(std::string id, std::string product, std::string wh,
                     int64_t on_hand, int64_t version = 0) {
  stock_event e;
  e.id = std::move(id);
  e.product = std::move(product);
  e.warehouse = std::move(wh);
  e.fields = stock_event::has_on_hand;
  e.on_hand = on_hand;
  if (version != 0) {
    e.fields |= stock_event::has_version;
    e.version = version;
  }
  return e;
}

stock_event delta(std::string id, std::string product, std::string wh,
                  int64_t d) {
  auto e = absolute(std::move(id), std::move(product), std::move(wh), 0);
  e.fields = stock_event::has_delta;
  e.delta = d;
  return e;
}

struct replay_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-replay-" + std::to_string(::getpid())))
                        .string();
  config_ptr conf = replay_config(dir);

  void SetUp() override { std::filesystem::remove_all(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }

  /// Runs the engine over `events` and stops it cleanly.
  void ingest(std::vector<stock_event> events) {
    auto eng = engine::start(conf, engine_options{false, {}});
    ASSERT_TRUE(eng) << to_string(eng.error());
    std::promise<bool> done;
    (*eng)->ingest(std::move(events), [&](caf::expected<ingest_result> r) {
      done.set_value(static_cast<bool>(r));
    });
    ASSERT_TRUE(done.get_future().get());
    ASSERT_TRUE((*eng)->sync());
  }

  replay_report replay(replay_options opts = {}) {
    auto db = store::open_read_only(dir);
    EXPECT_TRUE(db) << to_string(db.error());
    auto report = replay_log(**db, *conf, opts);
    EXPECT_TRUE(report) << to_string(report.error());
    return report ? *report : replay_report{};
  }

  /// Four products' worth of history, with a stale and a delta event.
  std::vector<stock_event> history() {
    return {
        absolute("1", "p1", "WH-A", 12, 5), absolute("2", "p2", "WH-B", 3),
        absolute("3", "p1", "WH-A", 99, 4), delta("4", "p1", "WH-B", 7),
        delta("5", "p3", "WH-A", -2),       absolute("6", "p1", "WH-A", 10, 6)};
  }
};

} // namespace

TEST_F(replay_test, a_cleanly_stopped_engine_replays_to_the_same_state) {
  ingest(history());
  auto r = replay();
  EXPECT_TRUE(r.differences.empty())
      << r.differences.front().product << " " << r.differences.front().what;
  EXPECT_EQ(r.replayed_events, 6u);
  EXPECT_EQ(r.compared, 3u);
  EXPECT_EQ(r.checkpoint, 6u);
  EXPECT_EQ(r.tail_events, 0u);
}

TEST_F(replay_test, a_tampered_record_is_reported_field_by_field) {
  ingest(history());
  {
    auto db = store::open(dir, durability::wal);
    ASSERT_TRUE(db);
    product_record rec;
    ASSERT_TRUE(*(*db)->load_product("p1", rec));
    rec.stock["WH-A"].on_hand = 17;
    rec.views["amazon-us"][""] = 23;
    state_batch batch;
    batch.put_product("p1", rec);
    batch.put_product_bytes("p2", "not a record");
    ASSERT_FALSE((*db)->commit(batch, 0));
  }
  auto r = replay();
  ASSERT_EQ(r.differences.size(), 3u);
  EXPECT_EQ(r.products_differing, 2u);
  auto& d = r.differences;
  EXPECT_EQ(d[0].product, "p1");
  EXPECT_EQ(d[0].what, "stock WH-A on_hand");
  EXPECT_EQ(d[0].live, "17");
  EXPECT_EQ(d[0].replayed, "10");
  EXPECT_EQ(d[1].what, "view amazon-us");
  EXPECT_EQ(d[1].live, "23");
  EXPECT_EQ(d[1].replayed, "16"); // 10 + 7, minus the buffer of 1
  EXPECT_EQ(d[2].product, "p2");
  EXPECT_EQ(d[2].what, "record");
  EXPECT_EQ(d[2].live, "undecodable");
}

TEST_F(replay_test, a_missing_record_is_a_difference) {
  ingest(history());
  {
    auto db = store::open(dir, durability::wal);
    ASSERT_TRUE(db);
    product_record rec;
    rec.applied_seq = 9;
    state_batch batch;
    batch.put_product("ghost", rec);
    ASSERT_FALSE((*db)->commit(batch, 0));
  }
  auto r = replay();
  ASSERT_EQ(r.differences.size(), 1u);
  EXPECT_EQ(r.differences[0].product, "ghost");
  EXPECT_EQ(r.differences[0].live, "present, applied_seq 9");
  EXPECT_EQ(r.differences[0].replayed, "absent");
}

TEST_F(replay_test, the_live_state_is_taken_after_recovery_of_the_log_tail) {
  ingest({absolute("1", "p1", "WH-A", 4)});
  {
    // As after a crash: the log holds events the derived state never got.
    auto db = store::open(dir, durability::wal);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->append(
        {delta("2", "p1", "WH-A", 3), absolute("3", "p9", "WH-B", 8)}));
  }
  auto r = replay();
  EXPECT_TRUE(r.differences.empty()) << r.differences.front().what;
  EXPECT_EQ(r.checkpoint, 1u);
  EXPECT_EQ(r.tail_events, 2u);
  EXPECT_EQ(r.compared, 2u);
  auto db = store::open_read_only(dir);
  ASSERT_TRUE(db);
  product_record rec;
  ASSERT_TRUE(*load_recovered(**db, *conf, "p1", rec));
  EXPECT_EQ(rec.stock["WH-A"].on_hand, 7);
  EXPECT_EQ(rec.views["amazon-us"][""], 6);
  ASSERT_TRUE(*load_recovered(**db, *conf, "p9", rec));
  EXPECT_FALSE(*load_recovered(**db, *conf, "never", rec));
}

TEST_F(replay_test, from_and_to_narrow_the_report) {
  ingest(history());
  // --from 5: products touched by seq 5 or later (p3, p1).
  auto r = replay(replay_options{5, 0});
  EXPECT_EQ(r.compared, 2u);
  EXPECT_TRUE(r.differences.empty());
  // --to 5: p1 changed at 6 is left out; p2 and p3 are final at 5.
  r = replay(replay_options{0, 5});
  EXPECT_EQ(r.replayed_events, 5u);
  EXPECT_EQ(r.compared, 2u);
  EXPECT_EQ(r.changed_after_to, 1u);
  EXPECT_TRUE(r.differences.empty());
  auto db = store::open_read_only(dir);
  ASSERT_TRUE(db);
  EXPECT_FALSE(replay_log(**db, *conf, replay_options{0, 7}));
}

TEST_F(replay_test, a_store_in_use_is_refused_and_replay_never_writes) {
  ingest(history());
  {
    auto writer = store::open(dir, durability::wal);
    ASSERT_TRUE(writer);
    auto reader = store::open_read_only(dir);
    ASSERT_FALSE(reader);
    EXPECT_NE(to_string(reader.error()).find("in use"), std::string::npos)
        << to_string(reader.error());
  }
  auto reader = store::open_read_only(dir);
  ASSERT_TRUE(reader);
  state_batch batch;
  batch.put_product("p1", product_record{});
  EXPECT_TRUE((*reader)->commit(batch, 0)); // an error: read-only
  EXPECT_FALSE(store::open_read_only(dir + "/nothing-here"));
}
