#include "storage/store.hpp"

#include <filesystem>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

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
  auto s = open();
  EXPECT_EQ(segment_counts(*s, "eu"), (counts{{3, 2}}));
  EXPECT_EQ(segment_counts(*s, "us"), (counts{{3, 1}}));
}
