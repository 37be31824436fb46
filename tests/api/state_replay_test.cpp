// Replay: a fresh state rebuilt from the log, compared with the live one.
#include "api/state_replay.hpp"

#include <filesystem>
#include <future>

#include <gtest/gtest.h>

#include "actors/engine.hpp"
#include "actors/retention.hpp"
#include "api/product_history.hpp"
#include "core/clock.hpp"
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
    auto eng = engine::start(conf, engine_options{false, {}, {}});
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

// -- retention
// ------------------------------------------------------------------

namespace {

std::vector<uint64_t> seqs_of(const std::vector<stock_event>& events) {
  std::vector<uint64_t> out;
  for (auto& e : events)
    out.push_back(e.seq);
  return out;
}

constexpr int64_t day_ms = 86400 * 1000;

} // namespace

TEST_F(replay_test, retention_keeps_what_a_restart_needs_and_replay_agrees) {
  ingest(history()); // seq 1..6; a clean stop makes checkpoint 6 durable
  log_retention_config policy;
  policy.days = 1;
  {
    auto db = store::open(dir, durability::wal);
    ASSERT_TRUE(db);
    // As after a crash: two events the derived state never got.
    ASSERT_TRUE((*db)->append(
        {delta("7", "p1", "WH-B", 1), absolute("8", "p4", "WH-A", 5)}));
    auto young = retain_log(**db, policy, wall_ms(), 100);
    ASSERT_TRUE(young);
    EXPECT_EQ(young->dropped, 0u);
    auto later = wall_ms() + 2 * day_ms;
    auto step = retain_log(**db, policy, later, 4);
    ASSERT_TRUE(step);
    EXPECT_EQ(step->dropped, 4u);
    EXPECT_TRUE(step->more);
    step = retain_log(**db, policy, later, 100);
    ASSERT_TRUE(step);
    EXPECT_EQ(step->dropped, 2u);
    EXPECT_EQ(step->snapshot_seq, 6u);
    EXPECT_FALSE(step->more);
    // 7 and 8 lie after the checkpoint: a restart replays them.
    EXPECT_EQ(seqs_of(*(*db)->read_log(1, UINT64_MAX, 100)),
              (std::vector<uint64_t>{7, 8}));
    EXPECT_EQ(retain_log(**db, policy, later, 100)->dropped, 0u);
  }
  auto r = replay();
  EXPECT_TRUE(r.differences.empty()) << r.differences.front().what;
  EXPECT_EQ(r.snapshot_seq, 6u);
  EXPECT_EQ(r.replayed_events, 2u);
  EXPECT_EQ(r.tail_events, 2u);
  EXPECT_EQ(r.compared, 4u);
  // A range of products per pass gives the same answer.
  replay_options narrow;
  narrow.products_per_pass = 1;
  r = replay(narrow);
  EXPECT_TRUE(r.differences.empty()) << r.differences.front().what;
  EXPECT_EQ(r.compared, 4u);
  EXPECT_EQ(r.passes, 3u); // p1, p2, p3 stored; p4 only in the tail
  {
    auto db = store::open_read_only(dir);
    ASSERT_TRUE(db);
    auto below = replay_log(**db, *conf, replay_options{3, 0});
    ASSERT_FALSE(below);
    EXPECT_NE(to_string(below.error()).find("dropped by retention"),
              std::string::npos);
    EXPECT_FALSE(replay_log(**db, *conf, replay_options{0, 5}));
    // `log --product` starts from the stock as of seq 6: WH-B held 7.
    auto h = read_history(**db, "p1");
    ASSERT_TRUE(h);
    ASSERT_EQ(h->size(), 1u);
    EXPECT_EQ((*h)[0].event.seq, 7u);
    EXPECT_EQ((*h)[0].after.on_hand, 8);
  }
  // The engine starts on it and goes on; a kept id is still a duplicate, a
  // dropped one is applied again (the documented contract).
  {
    auto eng = engine::start(conf, engine_options{false, {}, {}});
    ASSERT_TRUE(eng) << to_string(eng.error());
    std::promise<caf::expected<ingest_result>> done;
    (*eng)->ingest({absolute("9", "p1", "WH-A", 3), delta("8", "p4", "WH-A", 1),
                    delta("2", "p2", "WH-B", 1)},
                   [&](caf::expected<ingest_result> x) {
                     done.set_value(std::move(x));
                   });
    auto result = done.get_future().get();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->accepted, 2u);
    EXPECT_EQ(result->duplicates, 1u);
    ASSERT_TRUE((*eng)->sync());
  }
  r = replay();
  EXPECT_TRUE(r.differences.empty()) << r.differences.front().what;
  EXPECT_EQ(r.last_seq, 10u);
}

TEST_F(replay_test, retention_waits_until_the_checkpoint_is_durable) {
  log_retention_config policy;
  policy.days = 1;
  auto later = wall_ms() + 2 * day_ms;
  auto db = store::open(dir, durability::wal);
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->append({absolute("1", "p1", "WH-A", 1),
                             absolute("2", "p2", "WH-A", 2),
                             absolute("3", "p1", "WH-A", 3)}));
  state_batch batch;
  ASSERT_FALSE((*db)->commit(batch, 2));
  // The checkpoint is in the memtables only: a kill -9 now would restart
  // from 0 and need the whole log.
  auto step = retain_log(**db, policy, later, 100);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->dropped, 0u);
  ASSERT_FALSE((*db)->flush_and_wait());
  step = retain_log(**db, policy, later, 100);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->dropped, 2u);
  EXPECT_EQ(step->snapshot_seq, 2u);
  product_record p1;
  ASSERT_TRUE(*(*db)->load_snapshot("p1", p1));
  EXPECT_EQ(p1.stock["WH-A"].on_hand, 1);
  EXPECT_EQ(p1.applied_seq, 1u);
}

TEST_F(replay_test, a_byte_limit_drops_the_oldest_part_of_the_log) {
  std::vector<stock_event> events;
  for (int i = 0; i < 4000; ++i)
    events.push_back(absolute("id-" + std::to_string(i),
                              "p" + std::to_string(i % 40),
                              i % 2 == 0 ? "WH-A" : "WH-B", i));
  ingest(std::move(events));
  {
    auto db = store::open(dir, durability::wal);
    ASSERT_TRUE(db);
    auto total = (*db)->log_bytes(1, UINT64_MAX);
    ASSERT_TRUE(total);
    ASSERT_GT(*total, 0u);
    log_retention_config policy;
    policy.bytes = *total / 2;
    retention_step step;
    do {
      auto s = retain_log(**db, policy, wall_ms(), 500);
      ASSERT_TRUE(s);
      step = *s;
    } while (step.more);
    EXPECT_GT(step.snapshot_seq, 0u);
    EXPECT_LT(step.snapshot_seq, 4000u);
    EXPECT_LE(*(*db)->log_bytes(step.snapshot_seq + 1, UINT64_MAX),
              policy.bytes);
  }
  auto r = replay();
  EXPECT_TRUE(r.differences.empty()) << r.differences.front().what;
  EXPECT_EQ(r.compared, 40u);
}
