// Resync of an Amazon shop: every SKU goes out again in timed feeds, values
// Amazon already confirmed included, fed in pages bounded by the watermark.
#include "tests/actors/amazon_fixture.hpp"
#include "tests/actors/resync_steps.hpp"

TEST_F(amazon_shop_test, a_resync_sends_every_sku_again_in_feeds) {
  opts.resync = {/*page=*/4, /*watermark=*/10, 20ms};
  start(make_config(false, /*interval=*/100ms));
  constexpr int n = 30;
  std::vector<stock_event> batch;
  for (int i = 0; i < n; ++i)
    batch.push_back(on_hand("R-" + std::to_string(i), "WH-A", i + 1));
  ingest(std::move(batch));
  ASSERT_TRUE(eventually(
      [&] {
        for (int i = 0; i < n; ++i)
          if (!confirmed("R-" + std::to_string(i), i + 1)) return false;
        return true;
      },
      30s));
  auto before = sim->feeds().size();
  auto answer = resync_steps::request(*eng, shop_id);
  ASSERT_TRUE(answer) << to_string(answer.error());
  ASSERT_TRUE(eventually(
      [&] {
        return resync_steps::done(resync_steps::progress(status()));
      },
      60s));
  // Every SKU, unchanged and confirmed, went out again with its value.
  std::map<std::string, int64_t> resent;
  auto feeds = sim->feeds();
  for (size_t f = before; f < feeds.size(); ++f)
    for (auto& [sku, qty] : content_of(feeds[f]).quantities)
      resent[sku] = qty;
  ASSERT_EQ(resent.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto sku = "R-" + std::to_string(i);
    EXPECT_EQ(resent[sku], i + 1) << sku;
    EXPECT_TRUE(confirmed(sku, i + 1)) << sku;
  }
  auto p = resync_steps::progress(status());
  EXPECT_EQ(p["scanned"], n);
  EXPECT_EQ(p["queued"], n);
  EXPECT_EQ(p["delivered"], n);
  // The watermark paced the pages: more than one feed carried them.
  EXPECT_GT(feeds.size() - before, 1u);
}
