// Resync of a Shopify shop (POST /v1/shops/{id}/resync), against the real
// simulator: every product reaches Shopify again, in pages bounded by the
// outbox watermark, across a restart, and never older than what was sent.
#include <algorithm>

#include "tests/actors/resync_steps.hpp"
#include "tests/actors/shopify_fixture.hpp"

namespace {

class shopify_resync_test : public shopify_shop_test {
 protected:
  caf::expected<std::string> resync(const std::string& shop = "eu") {
    return resync_steps::request(*eng, shop);
  }

  nlohmann::json progress() { return resync_steps::progress(status()); }

  bool resync_done() { return resync_steps::done(progress()); }

  /// Every answer of the simulator held back `delay`.
  void slow_answers(std::chrono::milliseconds delay) {
    shopify::sim_faults f;
    f.delay = delay;
    sim.set_faults("eu", f);
  }
};

} // namespace

TEST_F(shopify_resync_test, reaches_every_product_beyond_the_watermark) {
  opts.resync = {/*page=*/7, /*watermark=*/10, 20ms};
  constexpr int n = 60;
  deliver_catalog(n);
  auto edited = edit_behind(n, 6);
  ASSERT_EQ(level(code(0), loc_a), 500);
  auto answer = resync();
  ASSERT_TRUE(answer) << to_string(answer.error());
  EXPECT_EQ(nlohmann::json::parse(*answer)["state"], "running");
  size_t most_pending = 0;
  ASSERT_TRUE(eventually(
      [&] {
        most_pending = std::max<size_t>(most_pending, status().pending);
        return resync_done();
      },
      60s));
  // Every product holds its value again, the edited ones included.
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(level(code(i), loc_a), i + 1) << code(i);
  for (int i : edited)
    EXPECT_TRUE(confirmed(code(i), loc_a, i + 1)) << code(i);
  auto p = progress();
  EXPECT_EQ(p["scanned"], n);
  EXPECT_EQ(p["queued"], n);
  EXPECT_EQ(p["delivered"], n);
  EXPECT_FALSE(p["finished_at"].is_null());
  // The outbox never held much more than the watermark: pages wait for it.
  EXPECT_LE(most_pending, 10u + 7u);
}

TEST_F(shopify_resync_test, a_second_request_while_running_is_a_conflict) {
  opts.resync = {/*page=*/2, /*watermark=*/2, 20ms};
  deliver_catalog(10);
  slow_answers(100ms);
  ASSERT_TRUE(resync());
  auto again = resync();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), ec::conflict);
  auto unknown = resync("nowhere");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), ec::not_found);
  slow_answers(0ms);
  ASSERT_TRUE(eventually(
      [&] {
        return resync_done();
      },
      30s));
  // Once done, a new resync may start.
  EXPECT_TRUE(resync());
}

TEST_F(shopify_resync_test, continues_after_a_restart) {
  opts.resync = {/*page=*/4, /*watermark=*/4, 20ms};
  constexpr int n = 40;
  deliver_catalog(n);
  edit_behind(n, 1);
  // Slow answers, so that the engine stops with the resync half done.
  slow_answers(60ms);
  ASSERT_TRUE(resync());
  ASSERT_TRUE(eventually(
      [&] {
        auto p = progress();
        return p.is_object() && p["delivered"].get<int>() >= 8;
      },
      30s));
  eng.reset();
  int left = 0;
  for (int i = 0; i < n; ++i)
    left += level(code(i), loc_a) == 500 ? 1 : 0;
  ASSERT_GT(left, 0) << "the resync finished before the restart";
  slow_answers(0ms);
  start(); // no new request: the resync continues from its memo
  ASSERT_TRUE(eventually(
      [&] {
        return resync_done();
      },
      60s));
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(level(code(i), loc_a), i + 1) << code(i);
  auto p = progress();
  EXPECT_EQ(p["scanned"], n);
  EXPECT_EQ(p["queued"], n);
}

TEST_F(shopify_resync_test, never_sends_an_older_value_than_a_newer_event) {
  opts.resync = {/*page=*/50, /*watermark=*/100, 20ms};
  deliver_catalog(3);
  // A newer value is delivered and leaves the outbox before the directory
  // writes the product's record (it writes behind, every 2 s): the stored
  // record still says 1.
  ingest({set("newer", code(0), "WH-A", 42)});
  ASSERT_TRUE(eventually([&] {
    return level(code(0), loc_a) == 42;
  }));
  ASSERT_TRUE(resync());
  // And one more change while the resync runs.
  ingest({set("newest", code(1), "WH-A", 77)});
  ASSERT_TRUE(eventually(
      [&] {
        return resync_done();
      },
      30s));
  EXPECT_EQ(level(code(0), loc_a), 42);
  EXPECT_EQ(level(code(1), loc_a), 77);
  // The channel never went back: after 42 and 77, no older value was set.
  for (auto [i, newest] : {std::pair{0, 42}, std::pair{1, 77}}) {
    auto& history = item(code(i))->stocked_at(loc_a)->history;
    auto at = std::find(history.begin(), history.end(), newest);
    ASSERT_NE(at, history.end());
    for (auto later = at; later != history.end(); ++later)
      EXPECT_EQ(*later, newest) << code(i);
  }
}
