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
