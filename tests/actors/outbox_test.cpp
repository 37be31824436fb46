#include "actors/outbox.hpp"

#include <filesystem>

#include <gtest/gtest.h>

using namespace shelfsync;

namespace {

struct outbox_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-outbox-" + std::to_string(::getpid())))
                        .string();
  std::shared_ptr<store> db;

  outbox_test() {
    std::filesystem::remove_all(dir);
    db = std::shared_ptr<store>{std::move(*store::open(dir, durability::wal))};
  }

  ~outbox_test() override {
    db.reset();
    std::filesystem::remove_all(dir);
  }

  /// Commits `changes` as segment `id`, as the directory does.
  std::vector<view_change> commit(uint64_t id,
                                  std::vector<view_change> changes) {
    for (auto& c : changes)
      c.segment = id;
    state_batch b;
    b.put_outbox_segment("us", id, changes);
    EXPECT_FALSE(db->commit(b, 0));
    return changes;
  }

  size_t stored() {
    size_t n = 0;
    EXPECT_FALSE(db->for_each_outbox("us", [&](view_change&&) {
      ++n;
    }));
    return n;
  }
};

view_change change(std::string product, uint64_t seq, int64_t qty) {
  return view_change{std::move(product), seq, {{"", qty}}, 0};
}

} // namespace

TEST_F(outbox_test, delivered_segments_are_erased) {
  outbox box{"us", db};
  box.enqueue(commit(1, {change("a", 1, 5), change("b", 2, 6)}));
  auto items = box.take(10);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(box.in_flight(), 2u);
  ASSERT_FALSE(box.confirmed("a", "", 5));
  EXPECT_TRUE(box.finish("a", false));
  EXPECT_EQ(stored(), 2u); // "b" still owed: the segment stays
  ASSERT_FALSE(box.confirmed("b", "", 6));
  EXPECT_TRUE(box.finish("b", false));
  EXPECT_TRUE(box.empty());
  // The newest segment may not be committed yet (the directory writes
  // behind): it goes once a newer segment shows that it was.
  EXPECT_EQ(stored(), 2u);
  box.enqueue(commit(2, {change("c", 3, 1)}));
  EXPECT_EQ(stored(), 1u);
}

TEST_F(outbox_test, superseded_changes_release_their_segment) {
  outbox box{"us", db};
  box.enqueue(commit(1, {change("a", 1, 5)}));
  box.enqueue(commit(2, {change("a", 3, 4)}));
  EXPECT_EQ(stored(), 1u); // segment 1 is gone, 2 holds the newest
  // An older change arriving late never replaces a newer one.
  box.enqueue(commit(3, {change("a", 2, 9)}));
  auto items = box.take(10);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].send.at(""), 4);
  // Segment 3 is dead but newest: kept until a newer one shows.
  EXPECT_EQ(stored(), 2u);
}

TEST_F(outbox_test, newer_view_during_flight_goes_out_next) {
  outbox box{"us", db};
  box.enqueue(commit(1, {change("a", 1, 5)}));
  ASSERT_EQ(box.take(10).size(), 1u);
  box.enqueue(commit(2, {change("a", 2, 7)}));
  // In flight: not taken again until the flight ends.
  EXPECT_TRUE(box.take(10).empty());
  ASSERT_FALSE(box.confirmed("a", "", 5));
  EXPECT_FALSE(box.finish("a", false));
  auto again = box.take(10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].send.at(""), 7);
}

TEST_F(outbox_test, confirmed_values_are_not_sent_again) {
  outbox box{"us", db};
  box.enqueue(commit(1, {change("a", 1, 5)}));
  box.take(10);
  ASSERT_FALSE(box.confirmed("a", "", 5));
  box.finish("a", false);
  // The same value again (say after a replay) settles without a request.
  box.enqueue(commit(2, {change("a", 2, 5)}));
  EXPECT_TRUE(box.take(10).empty());
  EXPECT_EQ(stored(), 1u); // only the newest, dead segment remains
}

TEST_F(outbox_test, permanent_failures_wait_for_a_new_value) {
  outbox box{"us", db};
  box.enqueue(commit(1, {change("a", 1, 5)}));
  box.take(10);
  ASSERT_FALSE(
      box.failed("a", "", 5, "8541", "bad sku", "2026-11-27T00:00:00Z", true));
  box.finish("a", false);
  EXPECT_EQ(box.deliveries("a").at("").error_code, "8541");
  box.enqueue(commit(2, {change("a", 2, 5)}));
  EXPECT_TRUE(box.take(10).empty());
  box.enqueue(commit(3, {change("a", 3, 6)}));
  EXPECT_EQ(box.take(10).size(), 1u);
}

TEST_F(outbox_test, a_restart_reloads_what_is_still_owed) {
  {
    outbox box{"us", db};
    box.enqueue(commit(1, {change("a", 1, 5), change("b", 2, 6)}));
    box.take(1);
    ASSERT_FALSE(box.confirmed("a", "", 5));
    box.finish("a", false);
  }
  outbox box{"us", db};
  ASSERT_FALSE(box.load());
  auto items = box.take(10);
  // "a" was confirmed: it settles without a request; "b" is still owed.
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].product, "b");
}

TEST_F(outbox_test, a_request_never_answered_is_sent_again_after_a_restart) {
  {
    outbox box{"us", db};
    box.enqueue(commit(1, {change("a", 1, 5)}));
    box.take(10);
    ASSERT_FALSE(box.confirmed("a", "", 5));
    box.finish("a", false);
    box.enqueue(commit(2, {change("a", 2, 9)}));
    box.take(10);
    // 9 leaves; the process stops before the channel answers.
    ASSERT_FALSE(box.sent("a", "", 9, "request-2", 0));
  }
  outbox box{"us", db};
  ASSERT_FALSE(box.load());
  // Back to 5 (after a replay, say): the channel may hold 9 by now.
  box.enqueue(commit(3, {change("a", 3, 5)}));
  auto items = box.take(10);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].send.at(""), 5);
}

// -- a store that refuses writes (a full disk)
// ---------------------------------

TEST_F(outbox_test, what_cannot_be_recorded_as_sent_is_not_recorded_at_all) {
  outbox box{"us", db};
  box.enqueue(commit(1, {change("a", 1, 5)}));
  box.take(10);
  ASSERT_FALSE(box.sent("a", "", 5, "request-1", 0));
  ASSERT_FALSE(box.confirmed("a", "", 5));
  box.finish("a", false);
  box.enqueue(commit(2, {change("a", 2, 9)}));
  ASSERT_EQ(box.take(10).size(), 1u);
  db->inject_write_failure("injected: the disk is full");
  // The caller must not send 9: the record stays as it was, in memory too.
  EXPECT_TRUE(box.sent("a", "", 9, "request-2", 0));
  auto& d = box.deliveries("a").at("");
  EXPECT_EQ(d.state, delivery_state::confirmed);
  EXPECT_EQ(d.confirmed, 5);
  EXPECT_EQ(d.request, "request-1");
  EXPECT_EQ(box.unsaved(), 0u);
  // Once the store takes writes, 9 goes out as usual.
  db->inject_write_failure("");
  EXPECT_FALSE(box.finish("a", true));
  auto items = box.take(10);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].send.at(""), 9);
}

TEST_F(outbox_test, a_confirm_the_store_refuses_stays_in_memory_until_stored) {
  {
    outbox box{"us", db};
    box.enqueue(commit(1, {change("a", 1, 5)}));
    box.take(10);
    ASSERT_FALSE(box.sent("a", "", 5, "request-1", 0));
    ASSERT_FALSE(box.confirmed("a", "", 5));
    box.finish("a", false);
    box.enqueue(commit(2, {change("a", 2, 9)}));
    ASSERT_EQ(box.take(10).size(), 1u);
    ASSERT_FALSE(box.sent("a", "", 9, "request-2", 0));
    // The channel confirms 9 while the disk is full.
    db->inject_write_failure("injected: the disk is full");
    EXPECT_TRUE(box.confirmed("a", "", 9));
    EXPECT_TRUE(box.finish("a", false));
    EXPECT_EQ(box.unsaved(), 1u);
    EXPECT_TRUE(box.empty()); // nothing owed to the channel
    // The record in memory decides: 9 again needs no request, 5 does.
    std::vector<view_change> same{change("a", 3, 9)};
    same[0].segment = 3; // not committed: the store refuses
    box.enqueue(std::move(same));
    EXPECT_TRUE(box.take(10).empty());
    std::vector<view_change> back{change("a", 4, 5)};
    back[0].segment = 3;
    box.enqueue(std::move(back));
    auto items = box.take(10);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].send.at(""), 5);
    box.finish("a", true);
    EXPECT_TRUE(box.save_unsaved());
    // The store takes writes again: the record goes to disk.
    db->inject_write_failure("");
    EXPECT_FALSE(box.save_unsaved());
    EXPECT_EQ(box.unsaved(), 0u);
  }
  delivery_record rec;
  ASSERT_TRUE(*db->load_delivery("us", "a", rec));
  EXPECT_EQ(rec.at("").state, delivery_state::confirmed);
  EXPECT_EQ(rec.at("").confirmed, 9);
}

TEST_F(outbox_test, a_segment_the_store_cannot_erase_holds_up_later_ones) {
  {
    outbox box{"us", db};
    box.enqueue(commit(1, {change("a", 1, 5)}));
    ASSERT_EQ(box.take(10).size(), 1u);
    // 7 arrives while 5 is in flight: segment 1 is dead, but the disk is
    // full and it stays.
    auto later = commit(2, {change("a", 2, 7)});
    db->inject_write_failure("injected: the disk is full");
    box.enqueue(std::move(later));
    db->inject_write_failure("");
    ASSERT_FALSE(box.confirmed("a", "", 5));
    box.finish("a", false);
    auto items = box.take(10);
    ASSERT_EQ(items.size(), 1u);
    ASSERT_FALSE(box.sent("a", "", 7, "request-2", 0));
    ASSERT_FALSE(box.confirmed("a", "", 7));
    box.finish("a", false);
    // Segment 2 is dead too, and erased once segment 3 shows; segment 1,
    // which the store refused to erase, goes first or 2 stays as well.
    box.enqueue(commit(3, {change("b", 3, 1)}));
  }
  // After a restart, 5 must not look owed while the channel holds 7.
  outbox box{"us", db};
  ASSERT_FALSE(box.load());
  for (auto& it : box.take(10))
    EXPECT_NE(it.product, "a") << "an older view came back: " << it.send.at("");
}

namespace {

/// Takes, confirms and finishes everything the outbox hands out, in order,
/// until nothing more comes; returns "product=value" per delivery.
std::vector<std::string> drain(outbox& box) {
  std::vector<std::string> out;
  for (auto items = box.take(1); !items.empty(); items = box.take(1))
    for (auto& it : items) {
      auto value = it.send.at("");
      out.push_back(it.product + "=" + std::to_string(value));
      EXPECT_FALSE(box.confirmed(it.product, "", value));
      box.finish(it.product, false);
    }
  return out;
}

} // namespace

TEST_F(outbox_test, past_capacity_changes_stay_on_disk_and_come_back_in_order) {
  outbox box{"us", db, 2};
  box.enqueue(commit(1, {change("a", 1, 5), change("b", 2, 6),
                         change("c", 3, 7), change("d", 4, 8)}));
  // Two in memory, two left in their segment.
  EXPECT_EQ(box.waiting(), 2u);
  EXPECT_EQ(box.spilled(), 2u);
  EXPECT_FALSE(box.empty());
  box.enqueue(commit(2, {change("a", 5, 9)}));
  EXPECT_EQ(box.spilled(), 3u); // "a" is in memory, but order comes first
  EXPECT_EQ(drain(box),
            (std::vector<std::string>{"a=5", "b=6", "c=7", "d=8", "a=9"}));
  EXPECT_TRUE(box.empty());
  EXPECT_EQ(box.spilled(), 0u);
}

TEST_F(outbox_test,
       changes_left_in_an_uncommitted_segment_wait_for_its_commit) {
  outbox box{"us", db, 1};
  box.enqueue(commit(1, {change("a", 1, 5)}));
  // Segment 2 reaches the shop before the directory commits it.
  std::vector<view_change> early{change("b", 2, 6), change("c", 3, 7)};
  for (auto& c : early)
    c.segment = 2;
  box.enqueue(std::vector<view_change>{early});
  EXPECT_EQ(drain(box), (std::vector<std::string>{"a=5"}));
  EXPECT_EQ(box.spilled(), 2u);
  EXPECT_FALSE(box.empty());
  // The commit, then the directory's empty note that it happened.
  commit(2, early);
  box.enqueue({});
  EXPECT_EQ(drain(box), (std::vector<std::string>{"b=6", "c=7"}));
  EXPECT_TRUE(box.empty());
}

TEST_F(outbox_test, a_restart_loads_up_to_capacity_and_reads_the_rest_later) {
  commit(1, {change("a", 1, 5), change("b", 2, 6), change("c", 3, 7)});
  commit(2, {change("b", 4, 1), change("d", 5, 2)});
  outbox box{"us", db, 2};
  ASSERT_FALSE(box.load());
  EXPECT_EQ(box.waiting(), 2u);
  EXPECT_EQ(box.spilled(), 3u);
  // Read back while "b" still waited, its newer value replaced the older.
  EXPECT_EQ(drain(box), (std::vector<std::string>{"a=5", "b=1", "c=7", "d=2"}));
  EXPECT_TRUE(box.empty());
  // Every segment was delivered: a restart now finds nothing owed, apart
  // from the newest segment, kept until a newer one shows (see above).
  outbox again{"us", db, 2};
  ASSERT_FALSE(again.load());
  EXPECT_TRUE(drain(again).empty());
}

TEST_F(outbox_test, a_restart_counts_later_segments_without_reading_them) {
  commit(1, {change("a", 1, 5), change("b", 2, 6), change("c", 3, 7)});
  commit(2, {change("d", 4, 1), change("a", 5, 2)});
  commit(3, {change("e", 6, 3)});
  outbox box{"us", db, 1};
  ASSERT_FALSE(box.load());
  EXPECT_EQ(box.waiting(), 1u);
  EXPECT_EQ(box.spilled(), 5u);
  EXPECT_EQ(drain(box), (std::vector<std::string>{"a=5", "b=6", "c=7", "d=1",
                                                  "a=2", "e=3"}));
  EXPECT_TRUE(box.empty());
  EXPECT_EQ(box.spilled(), 0u);
}

// -- resync ------------------------------------------------------------------

TEST_F(outbox_test, a_resync_pushes_values_the_channel_confirmed) {
  outbox box{"us", db};
  box.enqueue(commit(1, {change("a", 1, 5)}));
  ASSERT_EQ(box.take(10).size(), 1u);
  ASSERT_FALSE(box.confirmed("a", "", 5));
  EXPECT_TRUE(box.finish("a", false));
  // The same value again is no change (rule 10)...
  box.enqueue(commit(2, {change("a", 1, 5)}));
  EXPECT_TRUE(box.take(10).empty());
  // ...but a resync sends it.
  box.enqueue_forced({change("a", 1, 5)});
  EXPECT_TRUE(box.owes_forced("a"));
  auto items = box.take(10);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].send, (shop_view{{"", 5}}));
  EXPECT_TRUE(box.owes_forced("a"));
  EXPECT_TRUE(box.finish("a", false));
  EXPECT_FALSE(box.owes_forced("a"));
  EXPECT_TRUE(box.empty());
}

TEST_F(outbox_test, a_resync_never_replaces_a_pending_view) {
  outbox box{"us", db};
  box.enqueue(commit(1, {change("a", 7, 9)}));
  // A resync view, older or newer by seq, only marks the pending product.
  box.enqueue_forced({change("a", 3, 4), change("b", 2, 1)});
  auto items = box.take(10);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].product, "a");
  EXPECT_EQ(items[0].seq, 7u);
  EXPECT_EQ(items[0].send, (shop_view{{"", 9}}));
  EXPECT_EQ(items[1].send, (shop_view{{"", 1}}));
  // A resync arriving while "a" is in flight leaves its flight alone.
  box.enqueue_forced({change("a", 8, 2)});
  EXPECT_EQ(box.in_flight(), 2u);
  EXPECT_EQ(box.waiting(), 0u);
  EXPECT_TRUE(box.finish("a", false));
  EXPECT_TRUE(box.finish("b", false));
  EXPECT_TRUE(box.empty());
}
