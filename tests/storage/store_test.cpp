#include "storage/store.hpp"

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "core/error.hpp"
#include "tests/tmpfs_mount.hpp"

using namespace shelfsync;

namespace {

stock_event make_event(std::string id, std::string product, int64_t on_hand) {
  stock_event e;
  e.id = std::move(id);
  e.product = std::move(product);
  e.warehouse = "WH-A";
  e.fields = stock_event::has_on_hand;
  e.on_hand = on_hand;
  return e;
}

struct store_test : ::testing::Test {
  std::string dir;

  void SetUp() override {
    dir = (std::filesystem::temp_directory_path() /
           ("shelfsync-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name()))
              .string();
    std::filesystem::remove_all(dir);
  }

  void TearDown() override { std::filesystem::remove_all(dir); }

  std::unique_ptr<store> open() {
    auto s = store::open(dir, durability::wal);
    EXPECT_TRUE(s) << to_string(s.error());
    return std::move(*s);
  }
};

} // namespace

TEST_F(store_test, append_assigns_sequence_numbers_and_drops_duplicates) {
  auto s = open();
  auto r = s->append({make_event("a", "p1", 1), make_event("b", "p1", 2),
                      make_event("a", "p2", 3)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->accepted.size(), 2u);
  EXPECT_EQ(r->duplicates, 1u);
  EXPECT_EQ(r->last_seq, 2u);
  EXPECT_EQ(r->accepted[1].seq, 2u);
  auto again = s->append({make_event("b", "p1", 9), make_event("c", "p1", 4)});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->duplicates, 1u);
  ASSERT_EQ(again->accepted.size(), 1u);
  EXPECT_EQ(again->accepted[0].seq, 3u);
}

TEST_F(store_test, log_and_ids_survive_reopen) {
  {
    auto s = open();
    ASSERT_TRUE(
        s->append({make_event("a", "p1", 1), make_event("b", "p2", 2)}));
  }
  auto s = open();
  EXPECT_EQ(s->last_seq(), 2u);
  auto r = s->append({make_event("a", "p1", 1)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->duplicates, 1u);
  auto log = s->read_log(1, UINT64_MAX, 100);
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[1].product, "p2");
  EXPECT_EQ((*log)[1].on_hand, 2);
}

TEST_F(store_test, read_log_honours_range_and_limit) {
  auto s = open();
  std::vector<stock_event> batch;
  for (int i = 0; i < 10; ++i)
    batch.push_back(make_event("e" + std::to_string(i), "p", i));
  ASSERT_TRUE(s->append(batch));
  auto r = s->read_log(3, 7, 100);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ(r->front().seq, 3u);
  EXPECT_EQ(r->back().seq, 7u);
  EXPECT_EQ(s->read_log(1, 100, 4)->size(), 4u);
}

TEST_F(store_test, derived_state_commits_with_checkpoint) {
  auto s = open();
  product_record p;
  p.applied_seq = 5;
  p.stock["WH-A"].on_hand = 7;
  state_batch b;
  b.put_product("p1", p);
  b.put_outbox_segment("eu", 3, {view_change{"p1", 5, {{"loc", 7}}, 0}});
  b.set_next_segment(4);
  ASSERT_FALSE(s->commit(b, 5));
  EXPECT_EQ(*s->checkpoint(), 5u);
  EXPECT_EQ(*s->next_segment(), 4u);
  product_record loaded;
  ASSERT_TRUE(*s->load_product("p1", loaded));
  EXPECT_EQ(loaded.stock["WH-A"].on_hand, 7);
  EXPECT_FALSE(*s->load_product("p2", loaded));
  std::vector<view_change> outbox;
  ASSERT_FALSE(s->for_each_outbox("eu", [&](view_change&& x) {
    outbox.push_back(std::move(x));
  }));
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].desired["loc"], 7);
  EXPECT_EQ(outbox[0].segment, 3u);
  // Another shop's outbox is separate, also when one id prefixes another.
  size_t other = 0;
  ASSERT_FALSE(s->for_each_outbox("e", [&](view_change&&) {
    ++other;
  }));
  EXPECT_EQ(other, 0u);
  ASSERT_FALSE(s->erase_outbox_segment("eu", 3));
  outbox.clear();
  ASSERT_FALSE(s->for_each_outbox("eu", [&](view_change&& x) {
    outbox.push_back(std::move(x));
  }));
  EXPECT_TRUE(outbox.empty());
}

TEST_F(store_test, read_events_by_sequence_number) {
  auto s = open();
  auto r = s->append({make_event("a", "p1", 1), make_event("b", "p10", 2),
                      make_event("c", "p1", 3)});
  ASSERT_TRUE(r);
  auto h = s->read_events({1, 3});
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].id, "a");
  EXPECT_EQ((*h)[1].id, "c");
  EXPECT_FALSE(s->read_events({9}));
}

TEST_F(store_test, scan_products_pages_through_records) {
  auto s = open();
  state_batch b;
  for (auto code : {"a", "b", "c", "d", "e"})
    b.put_product(code, product_record{});
  ASSERT_FALSE(s->commit(b, 0));
  std::vector<std::string> seen;
  auto visit = [&](std::string_view code, product_record&&) {
    seen.emplace_back(code);
  };
  auto last = s->scan_products("", 2, visit);
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, "b");
  last = s->scan_products(*last, 10, visit);
  ASSERT_TRUE(last);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

TEST_F(store_test, delivery_records_are_durable) {
  {
    auto s = open();
    delivery_record r;
    r["loc"].has_confirmed = true;
    r["loc"].confirmed = 4;
    ASSERT_FALSE(s->put_delivery("eu", "p1", r));
  }
  auto s = open();
  delivery_record r;
  ASSERT_TRUE(*s->load_delivery("eu", "p1", r));
  EXPECT_EQ(r["loc"].confirmed, 4);
  EXPECT_FALSE(*s->load_delivery("eu", "p2", r));
}

TEST_F(store_test, channel_memos_are_per_shop_and_scannable) {
  auto s = open();
  ASSERT_FALSE(s->put_memo("eu", "sku/003", "gid://shopify/InventoryItem/1"));
  ASSERT_FALSE(s->put_memo("eu", "sku/004", "gid://shopify/InventoryItem/2"));
  ASSERT_FALSE(s->put_memo("eu", "feed/9", "x"));
  ASSERT_FALSE(s->put_memo("eu2", "sku/003", "other"));
  std::string v;
  ASSERT_TRUE(*s->load_memo("eu", "sku/003", v));
  EXPECT_EQ(v, "gid://shopify/InventoryItem/1");
  std::vector<std::string> keys;
  ASSERT_FALSE(s->for_each_memo("eu", "sku/", [&](auto k, auto) {
    keys.emplace_back(k);
  }));
  EXPECT_EQ(keys, (std::vector<std::string>{"sku/003", "sku/004"}));
  ASSERT_FALSE(s->erase_memo("eu", "sku/003"));
  EXPECT_FALSE(*s->load_memo("eu", "sku/003", v));
}

// -- per-product index and retention
// -------------------------------------------

namespace {

std::vector<uint64_t> seqs_of(const std::vector<stock_event>& events) {
  std::vector<uint64_t> out;
  for (auto& e : events)
    out.push_back(e.seq);
  return out;
}

} // namespace

TEST_F(store_test, the_product_index_returns_exactly_one_products_events) {
  auto s = open();
  // "00" is a prefix of "003" and "0" of both: none may leak into another.
  ASSERT_TRUE(s->append({make_event("a", "003", 1), make_event("b", "00", 2),
                         make_event("c", "0", 3), make_event("d", "00", 4),
                         make_event("e", "003", 5), make_event("f", "00", 6)}));
  auto p00 = s->read_product_log("00");
  ASSERT_TRUE(p00);
  EXPECT_EQ(seqs_of(*p00), (std::vector<uint64_t>{2, 4, 6}));
  EXPECT_EQ((*p00)[1].on_hand, 4);
  EXPECT_EQ(seqs_of(*s->read_product_log("003")),
            (std::vector<uint64_t>{1, 5}));
  EXPECT_EQ(seqs_of(*s->read_product_log("0")), (std::vector<uint64_t>{3}));
  EXPECT_TRUE(s->read_product_log("0031")->empty());
}

TEST_F(store_test, a_store_from_before_the_index_scans_the_older_part) {
  {
    auto s = open();
    ASSERT_TRUE(s->append({make_event("a", "p1", 1), make_event("b", "p2", 2),
                           make_event("c", "p1", 3)}));
  }
  {
    // Make it look like a store an older shelfsync wrote: no index at all.
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options{}, dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db{raw};
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions{}, "Mindexed_from").ok());
    ASSERT_TRUE(db->DeleteRange(rocksdb::WriteOptions{},
                                db->DefaultColumnFamily(), "X", "Y")
                    .ok());
  }
  {
    // Read-only (as `shelfsync log` opens it): the scan finds them all.
    auto ro = store::open_read_only(dir);
    ASSERT_TRUE(ro);
    EXPECT_EQ(seqs_of(*(*ro)->read_product_log("p1")),
              (std::vector<uint64_t>{1, 3}));
  }
  // A server opening it indexes from the next event on.
  auto s = open();
  ASSERT_TRUE(s->append({make_event("d", "p1", 4), make_event("e", "p2", 5)}));
  uint64_t scanned_to = 0;
  auto p1 = s->read_product_log("p1", [&](uint64_t done, uint64_t) {
    scanned_to = done;
  });
  ASSERT_TRUE(p1);
  EXPECT_EQ(seqs_of(*p1), (std::vector<uint64_t>{1, 3, 4}));
  EXPECT_EQ(scanned_to, 3u); // the scan stops where the index starts
}

namespace {

/// Whether the store in `dir` (closed) holds `key`.
bool holds_key(const std::string& dir, const std::string& key) {
  rocksdb::DB* raw = nullptr;
  EXPECT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::Options{}, dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db{raw};
  std::string value;
  return db && db->Get(rocksdb::ReadOptions{}, key, &value).ok();
}

} // namespace

TEST_F(store_test, index_keys_come_with_the_commit_and_ids_are_held_till_then) {
  {
    auto s = open();
    ASSERT_TRUE(s->append({make_event("a", "p1", 1), make_event("b", "p2", 2),
                           make_event("c", "p1", 3)}));
    // Not indexed yet, and still a duplicate.
    auto r = s->append({make_event("a", "p1", 9)});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->duplicates, 1u);
    // The commit that moves the checkpoint to 2 indexes events 1 and 2.
    state_batch batch;
    ASSERT_FALSE(s->commit(batch, 2));
    r = s->append({make_event("a", "p1", 9), make_event("b", "p2", 9),
                   make_event("c", "p1", 9)});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->duplicates, 3u);
    EXPECT_EQ(seqs_of(*s->read_product_log("p1")),
              (std::vector<uint64_t>{1, 3}));
  }
  EXPECT_TRUE(holds_key(dir, "Ia"));
  EXPECT_TRUE(holds_key(dir, "Ib"));
  EXPECT_FALSE(holds_key(dir, "Ic"));
  std::string x2 = "Xp2";
  x2.push_back('\0');
  x2 += std::string(7, '\0') + '\2';
  EXPECT_TRUE(holds_key(dir, x2));
  {
    // The event after the checkpoint is read back from the log.
    auto ro = store::open_read_only(dir);
    ASSERT_TRUE(ro);
    EXPECT_EQ(seqs_of(*(*ro)->read_product_log("p1")),
              (std::vector<uint64_t>{1, 3}));
  }
  auto s = open();
  auto r = s->append({make_event("c", "p1", 9), make_event("d", "p1", 4)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->duplicates, 1u);
  ASSERT_EQ(r->accepted.size(), 1u);
  EXPECT_EQ(r->accepted[0].seq, 4u);
  EXPECT_EQ(seqs_of(*s->read_product_log("p1")),
            (std::vector<uint64_t>{1, 3, 4}));
}

TEST_F(store_test, the_durable_checkpoint_ignores_what_only_memtables_hold) {
  auto s = open();
  ASSERT_TRUE(s->append({make_event("a", "p1", 1), make_event("b", "p2", 2)}));
  state_batch batch;
  batch.put_product("p1", product_record{});
  ASSERT_FALSE(s->commit(batch, 2));
  EXPECT_EQ(*s->checkpoint(), 2u);
  // Committed without WAL and not written out: a kill -9 would lose it.
  EXPECT_EQ(*s->durable_checkpoint(), 0u);
  ASSERT_FALSE(s->flush_and_wait());
  EXPECT_EQ(*s->durable_checkpoint(), 2u);
}

TEST_F(store_test, dropping_the_log_moves_snapshot_ids_and_index_at_once) {
  auto s = open();
  ASSERT_TRUE(s->append({make_event("a", "p1", 1), make_event("b", "p2", 2),
                         make_event("c", "p1", 3), make_event("d", "p1", 4),
                         make_event("e", "p2", 5)}));
  auto old = s->read_log(1, 3, 100);
  ASSERT_TRUE(old);
  product_record p1;
  p1.applied_seq = 3;
  p1.stock["WH-A"].on_hand = 3;
  product_record p2;
  p2.applied_seq = 2;
  p2.stock["WH-A"].on_hand = 2;
  ASSERT_FALSE(s->drop_log({{"p1", p1}, {"p2", p2}}, 3, *old));
  EXPECT_EQ(*s->snapshot_seq(), 3u);
  EXPECT_EQ(seqs_of(*s->read_log(1, UINT64_MAX, 100)),
            (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(seqs_of(*s->read_product_log("p1")), (std::vector<uint64_t>{4}));
  EXPECT_EQ(seqs_of(*s->read_events({2, 4})), (std::vector<uint64_t>{4}));
  product_record snap;
  ASSERT_TRUE(*s->load_snapshot("p1", snap));
  EXPECT_EQ(snap.stock["WH-A"].on_hand, 3);
  // Doing it again changes nothing (a restart after a kill may retry).
  ASSERT_FALSE(s->drop_log({{"p1", product_record{}}}, 3, *old));
  ASSERT_TRUE(*s->load_snapshot("p1", snap));
  EXPECT_EQ(snap.stock["WH-A"].on_hand, 3);
  // A kept event's id is still a duplicate; a dropped one's is not.
  auto r = s->append({make_event("d", "p1", 9), make_event("a", "p1", 9)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->duplicates, 1u);
  ASSERT_EQ(r->accepted.size(), 1u);
  EXPECT_EQ(r->accepted[0].id, "a");
  EXPECT_EQ(r->accepted[0].seq, 6u);
}

TEST_F(store_test, sequence_numbers_go_on_after_the_whole_log_is_dropped) {
  {
    auto s = open();
    ASSERT_TRUE(
        s->append({make_event("a", "p1", 1), make_event("b", "p2", 2)}));
    auto all = s->read_log(1, 2, 100);
    ASSERT_FALSE(s->drop_log({}, 2, *all));
  }
  auto s = open();
  EXPECT_EQ(s->last_seq(), 2u);
  auto r = s->append({make_event("c", "p1", 3)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->last_seq, 3u);
}

// -- storage failures
// ----------------------------------------------------------

namespace {

/// The words of a storage error.
std::string text_of(const caf::error& err) { return to_string(err); }

/// A batch of `n` events with ids `prefix`0.., each big enough to fill a
/// small disk quickly.
std::vector<stock_event> big_batch(const std::string& prefix, int n) {
  std::vector<stock_event> out;
  for (int i = 0; i < n; ++i)
    out.push_back(make_event(prefix + std::to_string(i) + std::string(400, 'x'),
                             "p" + std::to_string(i % 50), i));
  return out;
}

} // namespace

TEST_F(store_test, an_injected_failure_fails_writes_and_says_why) {
  auto s = open();
  EXPECT_FALSE(s->write_health());
  s->inject_write_failure("injected: no writes now");
  auto r = s->append({make_event("a", "p1", 1)});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), ec::storage_failure);
  EXPECT_NE(text_of(s->write_health()).find("injected"), std::string::npos);
  s->inject_write_failure("");
  EXPECT_FALSE(s->write_health());
  ASSERT_TRUE(s->append({make_event("a", "p1", 1)}));
}

TEST_F(store_test,
       a_full_disk_fails_writes_keeps_reads_and_recovers_by_itself) {
  tests::tmpfs_mount disk{dir, 20};
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  auto s = open();
  ASSERT_TRUE(s->append({make_event("first", "p1", 1)}));
  disk.fill(2 << 20);
  // Appends until the disk is full: RocksDB's own log then used to abort
  // the process (an assertion in its file writer) on the next line it wrote.
  caf::error failure;
  uint64_t accepted = 1;
  for (int b = 0; b < 2000 && !failure; ++b) {
    auto r = s->append(big_batch("b" + std::to_string(b) + "-", 25));
    if (r)
      accepted += r->accepted.size();
    else
      failure = r.error();
  }
  ASSERT_TRUE(failure) << "the disk never filled up";
  EXPECT_EQ(failure, ec::storage_failure);
  EXPECT_NE(text_of(failure).find("full"), std::string::npos)
      << text_of(failure);
  EXPECT_NE(text_of(s->write_health()).find("full"), std::string::npos);
  // Later writes fail too, and say why, while reads go on.
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(s->append({make_event("late" + std::to_string(i), "p", 1)}));
    state_batch b;
    b.put_product("p1", product_record{});
    EXPECT_TRUE(s->commit(b, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds{120});
  }
  auto log = s->read_log(1, UINT64_MAX, 1000000);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->size(), accepted);
  // Space is back: writes resume without reopening the store.
  disk.free_space();
  caf::expected<append_result> again{caf::error{}};
  for (int i = 0; i < 50; ++i) {
    again = s->append({make_event("after", "p1", 9)});
    if (again) break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  ASSERT_TRUE(again) << text_of(again.error());
  EXPECT_EQ(again->last_seq, accepted + 1);
  EXPECT_FALSE(s->write_health());
  EXPECT_FALSE(s->close());
  // Nothing accepted was lost.
  s = open();
  EXPECT_EQ(s->last_seq(), accepted + 1);
  auto all = s->read_log(1, UINT64_MAX, 1000000);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), accepted + 1);
}

TEST_F(store_test, a_start_on_a_full_disk_opens_read_only_and_says_why) {
  tests::tmpfs_mount disk{dir, 20};
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  {
    auto s = open();
    ASSERT_TRUE(s->append(big_batch("x", 100)));
    ASSERT_FALSE(s->close());
  }
  // The next start must write (a new WAL, the recovered memtable): no space.
  {
    auto s = open();
    ASSERT_TRUE(s->append(big_batch("y", 100)));
    disk.fill();
    // Killed without a flush: what the WAL holds must be recovered.
  }
  disk.fill();
  auto opened = store::open(dir, durability::wal);
  ASSERT_TRUE(opened) << text_of(opened.error());
  auto& s = *opened;
  auto health = text_of(s->write_health());
  EXPECT_NE(health.find("read-only"), std::string::npos) << health;
  EXPECT_NE(health.find("full"), std::string::npos) << health;
  EXPECT_EQ(s->last_seq(), 200u);
  auto log = s->read_log(1, UINT64_MAX, 1000);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->size(), 200u);
  EXPECT_FALSE(s->append({make_event("z", "p", 1)}));
  // Once there is space, it takes writes without a restart.
  disk.free_space();
  caf::expected<append_result> again{caf::error{}};
  for (int i = 0; i < 50; ++i) {
    again = s->append({make_event("z", "p", 1)});
    if (again) break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  ASSERT_TRUE(again) << text_of(again.error());
  EXPECT_EQ(again->last_seq, 201u);
  EXPECT_FALSE(s->write_health());
  EXPECT_FALSE(s->close());
}

TEST_F(store_test, close_reports_derived_state_it_could_not_write_out) {
  tests::tmpfs_mount disk{dir, 20};
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  auto s = open();
  // Derived state skips the WAL: it sits in the memtable until written out.
  state_batch b;
  product_record p;
  p.stock["WH-A"].on_hand = 1;
  for (int i = 0; i < 5000; ++i)
    b.put_product("p" + std::to_string(i) + std::string(200, 'x'), p);
  ASSERT_FALSE(s->commit(b, 5000));
  disk.fill();
  auto err = s->close();
  ASSERT_TRUE(err) << "a flush on a full disk cannot have succeeded";
  EXPECT_NE(text_of(err).find("replays"), std::string::npos) << text_of(err);
}

TEST_F(store_test, read_only_open_names_a_read_only_file_system) {
  tests::tmpfs_mount disk{dir, 20};
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  {
    auto s = open();
    ASSERT_TRUE(s->append({make_event("a", "p1", 1)}));
  }
  if (!disk.set_read_only(true)) GTEST_SKIP() << "cannot remount read-only";
  auto s = store::open_read_only(dir);
  auto back = disk.set_read_only(false);
  ASSERT_FALSE(s) << "opened without its lock";
  auto text = text_of(s.error());
  EXPECT_NE(text.find("read-only file system"), std::string::npos) << text;
  EXPECT_EQ(text.find("in use"), std::string::npos) << text;
  EXPECT_TRUE(back);
}

namespace {

/// The products `scan_flagged_deliveries` lists for `shop` in `state`.
std::vector<std::string> flagged(const store& s, const std::string& shop,
                                 delivery_state state, size_t max = 100) {
  std::vector<std::string> out;
  auto more = s.scan_flagged_deliveries(
      shop, state, "", max, [&](std::string_view code, delivery_record&&) {
        out.emplace_back(code);
      });
  EXPECT_TRUE(more);
  return out;
}

delivery in_state(delivery_state state) {
  delivery d;
  d.state = state;
  return d;
}

} // namespace

TEST_F(store_test, delivery_records_carry_their_index_entries) {
  auto s = open();
  auto failed = in_state(delivery_state::failed);
  auto flying = in_state(delivery_state::in_flight);
  auto done = in_state(delivery_state::confirmed);
  ASSERT_FALSE(s->put_delivery("eu", "b", {{"L1", failed}, {"L2", flying}}));
  ASSERT_FALSE(s->put_delivery("eu", "a", {{"L1", failed}}));
  ASSERT_FALSE(s->put_delivery("us", "c", {{"", failed}}));
  EXPECT_EQ(flagged(*s, "eu", delivery_state::failed),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(flagged(*s, "eu", delivery_state::in_flight),
            (std::vector<std::string>{"b"}));
  EXPECT_EQ(flagged(*s, "us", delivery_state::failed),
            (std::vector<std::string>{"c"}));
  EXPECT_TRUE(flagged(*s, "eu", delivery_state::pending).empty());
  // Paging: `max` entries and whether more follow, then on after a cursor.
  std::vector<std::string> seen;
  auto visit = [&](std::string_view code, delivery_record&&) {
    seen.emplace_back(code);
  };
  auto more =
      s->scan_flagged_deliveries("eu", delivery_state::failed, "", 1, visit);
  ASSERT_TRUE(more);
  EXPECT_TRUE(*more);
  more =
      s->scan_flagged_deliveries("eu", delivery_state::failed, "a", 1, visit);
  ASSERT_TRUE(more);
  EXPECT_FALSE(*more);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  // A new state moves the record in the index.
  ASSERT_FALSE(s->put_delivery("eu", "b", {{"L1", done}, {"L2", failed}}));
  ASSERT_FALSE(s->put_delivery("eu", "a", {{"L1", done}}));
  EXPECT_EQ(flagged(*s, "eu", delivery_state::failed),
            (std::vector<std::string>{"b"}));
  EXPECT_TRUE(flagged(*s, "eu", delivery_state::in_flight).empty());
}

TEST_F(store_test, a_store_from_before_the_delivery_index_gets_it_at_start) {
  {
    auto s = open();
    ASSERT_FALSE(
        s->put_delivery("eu", "a", {{"L1", in_state(delivery_state::failed)}}));
    ASSERT_FALSE(s->put_delivery(
        "eu", "b", {{"L1", in_state(delivery_state::in_flight)}}));
  }
  {
    // Make it look like a store an older shelfsync wrote.
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options{}, dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db{raw};
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions{}, "Mflagged_built").ok());
    ASSERT_TRUE(db->DeleteRange(rocksdb::WriteOptions{},
                                db->DefaultColumnFamily(), "F", "G")
                    .ok());
  }
  auto s = open();
  EXPECT_EQ(flagged(*s, "eu", delivery_state::failed),
            (std::vector<std::string>{"a"}));
  EXPECT_EQ(flagged(*s, "eu", delivery_state::in_flight),
            (std::vector<std::string>{"b"}));
}

TEST_F(store_test, products_by_prefix_seek_to_the_prefix_and_the_cursor) {
  auto s = open();
  state_batch batch;
  for (auto* code : {"a", "b-1", "b-2", "b-3", "bz", "c"})
    batch.put_product(code, product_record{});
  ASSERT_FALSE(s->commit(batch, 0));
  auto list = [&](const std::string& prefix, const std::string& after,
                  size_t max, bool more) {
    std::vector<std::string> out;
    auto r = s->scan_products_with_prefix(
        prefix, after, max, [&](std::string_view code, product_record&&) {
          out.emplace_back(code);
        });
    EXPECT_TRUE(r);
    EXPECT_EQ(*r, more) << prefix << " after " << after;
    return out;
  };
  EXPECT_EQ(list("b-", "", 2, true), (std::vector<std::string>{"b-1", "b-2"}));
  EXPECT_EQ(list("b-", "b-2", 2, false), (std::vector<std::string>{"b-3"}));
  // A cursor before the prefix's range starts at the range.
  EXPECT_EQ(list("b-", "a", 10, false),
            (std::vector<std::string>{"b-1", "b-2", "b-3"}));
  EXPECT_EQ(list("", "bz", 10, false), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(list("d", "", 10, false).empty());
}

// -- outbox segment counts ----------------------------------------------------

namespace {

/// Segment counts of `shop` from segment `from` on, as (id, count) pairs.
std::vector<std::pair<uint64_t, uint64_t>>
segment_counts(const store& s, std::string_view shop, uint64_t from = 0) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  EXPECT_FALSE(
      s.for_each_segment_count(shop, from, [&](uint64_t id, uint64_t n) {
        out.emplace_back(id, n);
        return true;
      }));
  return out;
}

using counts = std::vector<std::pair<uint64_t, uint64_t>>;

} // namespace

TEST_F(store_test, outbox_segments_are_counted_without_reading_them) {
  auto s = open();
  state_batch b;
  b.put_outbox_segment("eu", 3,
                       {view_change{"p1", 5, {{"loc", 7}}, 0},
                        view_change{"p2", 6, {{"loc", 1}}, 0}});
  segment_builder one;
  one.add(view_change{"p3", 7, {{"loc", 2}}, 0});
  b.put_outbox_segment("eu", 4, one);
  b.put_outbox_segment("e", 5, {view_change{"p1", 5, {{"", 7}}, 0}});
  ASSERT_FALSE(s->commit(b, 7));
  EXPECT_EQ(segment_counts(*s, "eu"), (counts{{3, 2}, {4, 1}}));
  EXPECT_EQ(segment_counts(*s, "eu", 4), (counts{{4, 1}}));
  EXPECT_EQ(segment_counts(*s, "e"), (counts{{5, 1}}));
  // A segment erased takes its count with it, durably.
  ASSERT_FALSE(s->erase_outbox_segment("eu", 3));
  s.reset();
  s = open();
  EXPECT_EQ(segment_counts(*s, "eu"), (counts{{4, 1}}));
}

TEST_F(store_test, segments_written_before_counts_existed_get_counted_once) {
  {
    auto s = open();
    state_batch b;
    b.put_outbox_segment("eu", 3,
                         {view_change{"p1", 5, {{"loc", 7}}, 0},
                          view_change{"p2", 6, {{"loc", 1}}, 0}});
    b.put_outbox_segment("us", 3, {view_change{"p1", 5, {{"", 7}}, 0}});
    ASSERT_FALSE(s->commit(b, 7));
  }
  {
    // Make it a store of the earlier format: no count keys, no marker.
    rocksdb::DB* raw = nullptr;
    rocksdb::Options opts;
    ASSERT_TRUE(rocksdb::DB::Open(opts, dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db{raw};
    ASSERT_TRUE(db->Delete({}, "Msegment_counts").ok());
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator({})};
    std::vector<std::string> count_keys;
    for (it->Seek("N"); it->Valid() && it->key().starts_with("N"); it->Next())
      count_keys.push_back(it->key().ToString());
    ASSERT_EQ(count_keys.size(), 2u);
    for (auto& k : count_keys)
      ASSERT_TRUE(db->Delete({}, k).ok());
  }
  {
    // A store that cannot write counts from the segments' headers.
    auto ro = store::open_read_only(dir);
    ASSERT_TRUE(ro) << to_string(ro.error());
    EXPECT_EQ(segment_counts(**ro, "eu"), (counts{{3, 2}}));
    EXPECT_EQ(segment_counts(**ro, "us"), (counts{{3, 1}}));
  }
  auto s = open();
  EXPECT_EQ(segment_counts(*s, "eu"), (counts{{3, 2}}));
  EXPECT_EQ(segment_counts(*s, "us"), (counts{{3, 1}}));
}
