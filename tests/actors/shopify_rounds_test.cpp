// The Shopify shop's logic on CAF's deterministic scheduler with a scripted
// worker: rounds, coalescing, pacing after a throttle, retries, refusals,
// stock sync on and off, the drift check's schedule. Time is virtual: a
// test advances the clock instead of sleeping.
#include "tests/actors/scripted_shopify.hpp"

#include <nlohmann/json.hpp>

using namespace scripted_shopify;

namespace {

using shelfsync::shopify::outcome;

} // namespace

TEST_F(scripted_shopify_test, a_change_goes_out_as_one_survey_and_one_push) {
  s->add("P-1", {{loc_a, 0}, {loc_b, 0}});
  start();
  apply({set("P-1", "WH-A", 7), set("P-1", "WH-B", 3)});
  ASSERT_EQ(s->surveys.size(), 1u);
  EXPECT_EQ(s->surveys[0].lookup, std::vector<std::string>{"P-1"});
  ASSERT_EQ(s->pushes.size(), 1u);
  EXPECT_EQ(s->pushes[0].rows.size(), 2u);
  EXPECT_EQ(s->level("P-1", loc_a), 7);
  EXPECT_EQ(s->level("P-1", loc_b), 3);
  EXPECT_TRUE(confirmed("P-1", loc_a, 7));
  EXPECT_TRUE(confirmed("P-1", loc_b, 3));
}

TEST_F(scripted_shopify_test, the_mapping_is_looked_up_once_then_read) {
  s->add("P-1");
  start();
  apply({set("P-1", "WH-A", 7)});
  apply({set("P-1", "WH-A", 8)});
  ASSERT_EQ(s->surveys.size(), 2u);
  EXPECT_TRUE(s->surveys[1].lookup.empty());
  EXPECT_EQ(s->surveys[1].read,
            std::vector<std::string>{"gid://shopify/InventoryItem/P-1"});
  EXPECT_TRUE(confirmed("P-1", loc_a, 8));
}

TEST_F(scripted_shopify_test, an_unchanged_value_sends_no_push) {
  s->add("P-1", {{loc_a, 7}, {loc_b, 0}});
  start();
  apply({set("P-1", "WH-A", 7)});
  EXPECT_EQ(s->surveys.size(), 1u);
  EXPECT_TRUE(s->pushes.empty());
  EXPECT_TRUE(confirmed("P-1", loc_a, 7));
  advance(10s);
  EXPECT_EQ(s->surveys.size(), 1u);
}

TEST_F(scripted_shopify_test, a_throttled_push_waits_retry_after_then_resends) {
  s->add("P-1");
  s->fail_push(outcome::throttled, 5000);
  start();
  apply({set("P-1", "WH-A", 7)});
  ASSERT_EQ(s->pushes.size(), 1u);
  advance(4800ms);
  EXPECT_EQ(s->pushes.size(), 1u) << "sent again before Retry-After";
  advance(400ms);
  ASSERT_EQ(s->pushes.size(), 2u);
  EXPECT_EQ(s->pushes[1].key, s->pushes[0].key);
  EXPECT_TRUE(confirmed("P-1", loc_a, 7));
  auto details = nlohmann::json::parse(status().details);
  EXPECT_EQ(details["metrics"]["throttled"].get<int>(), 1);
}

TEST_F(scripted_shopify_test, changes_while_throttled_coalesce_to_the_latest) {
  s->add("P-1");
  s->fail_push(outcome::throttled, 2000);
  start();
  apply({set("P-1", "WH-A", 1)});
  // The push of 1 waits; newer values arrive meanwhile.
  for (int v = 2; v <= 5; ++v)
    apply({set("P-1", "WH-A", v)});
  advance(3s);
  // The push that may have applied goes out again as it was, then one push
  // carries the latest value; none of 2..4 is ever sent.
  ASSERT_EQ(s->pushes.size(), 3u);
  EXPECT_EQ(s->pushes[1].rows.at(0).quantity, 1);
  EXPECT_EQ(s->pushes[2].rows.at(0).quantity, 5);
  EXPECT_EQ(s->level("P-1", loc_a), 5);
  EXPECT_TRUE(confirmed("P-1", loc_a, 5));
}

TEST_F(scripted_shopify_test, server_errors_are_retried_with_the_same_key) {
  s->add("P-1");
  for (int i = 0; i < 3; ++i)
    s->fail_push(outcome::retryable, -1, "HTTP_503");
  start();
  apply({set("P-1", "WH-A", 4)});
  EXPECT_EQ(s->pushes.size(), 1u);
  EXPECT_FALSE(confirmed("P-1", loc_a, 4));
  // The backoff grows from 0.5 s; a minute is plenty for three retries.
  advance(60s);
  ASSERT_EQ(s->pushes.size(), 4u);
  for (auto& p : s->pushes)
    EXPECT_EQ(p.key, s->pushes[0].key);
  EXPECT_TRUE(confirmed("P-1", loc_a, 4));
  auto st = status();
  EXPECT_FALSE(st.last_success.empty());
  EXPECT_NE(st.last_error.find("HTTP_503"), std::string::npos);
}

TEST_F(scripted_shopify_test, a_failed_survey_is_retried_after_a_backoff) {
  s->add("P-1");
  s->fail_survey(outcome::retryable, -1, "HTTP_502");
  start();
  apply({set("P-1", "WH-A", 4)});
  EXPECT_EQ(s->surveys.size(), 1u);
  EXPECT_TRUE(s->pushes.empty());
  // The first backoff is 250 to 500 ms (jittered).
  advance(200ms);
  EXPECT_EQ(s->surveys.size(), 1u) << "retried before the backoff";
  advance(10s);
  EXPECT_EQ(s->surveys.size(), 2u);
  EXPECT_TRUE(confirmed("P-1", loc_a, 4));
}

TEST_F(scripted_shopify_test, an_unknown_sku_fails_for_good_without_retrying) {
  start();
  apply({set("NOPE", "WH-A", 4)});
  EXPECT_EQ(s->surveys.size(), 1u);
  auto rec = deliveries("NOPE");
  ASSERT_EQ(rec.count(loc_a), 1u);
  EXPECT_EQ(rec.at(loc_a).state, delivery_state::failed);
  EXPECT_EQ(rec.at(loc_a).error_code, "SKU_NOT_FOUND");
  EXPECT_TRUE(rec.at(loc_a).permanent);
  advance(120s, 1s);
  EXPECT_EQ(s->surveys.size(), 1u);
  EXPECT_TRUE(s->pushes.empty());
}

TEST_F(scripted_shopify_test, refused_rows_fail_for_good_and_the_rest_goes) {
  s->add("N-1");
  s->add("P-1");
  s->refused["N-1"] = "NON_MUTABLE_INVENTORY_ITEM";
  start();
  apply({set("N-1", "WH-A", 5), set("P-1", "WH-A", 6)});
  // The push carrying both is refused; the rest goes again without N-1.
  ASSERT_EQ(s->pushes.size(), 2u);
  EXPECT_FALSE(s->pushes[1].rows.empty());
  for (auto& row : s->pushes[1].rows)
    EXPECT_NE(row.item, s->items["N-1"].id);
  EXPECT_TRUE(confirmed("P-1", loc_a, 6));
  EXPECT_EQ(s->level("N-1", loc_a), 0);
  auto rec = deliveries("N-1");
  ASSERT_EQ(rec.count(loc_a), 1u);
  EXPECT_EQ(rec.at(loc_a).state, delivery_state::failed);
  EXPECT_EQ(rec.at(loc_a).error_code, "NON_MUTABLE_INVENTORY_ITEM");
  EXPECT_TRUE(rec.at(loc_a).permanent);
  EXPECT_EQ(status().pending, 0u);
  advance(120s, 1s);
  EXPECT_EQ(s->pushes.size(), 2u) << "a refused value was sent again";
}

TEST_F(scripted_shopify_test, stock_sync_off_sends_nothing_until_on) {
  s->add("P-1", {{loc_a, 0}, {loc_b, 0}});
  start();
  apply({set("P-1", "WH-A", 1)});
  ASSERT_TRUE(confirmed("P-1", loc_a, 1));
  reload(make_config(false));
  auto calls = s->surveys.size() + s->pushes.size();
  apply({set("P-1", "WH-A", 2), set("P-1", "WH-B", 3)});
  advance(10s);
  EXPECT_EQ(s->surveys.size() + s->pushes.size(), calls);
  EXPECT_EQ(s->level("P-1", loc_a), 1);
  EXPECT_FALSE(status().stock_sync);
  reload(make_config(true));
  EXPECT_EQ(s->level("P-1", loc_a), 2);
  EXPECT_EQ(s->level("P-1", loc_b), 3);
  EXPECT_TRUE(confirmed("P-1", loc_b, 3));
}

TEST_F(scripted_shopify_test, the_drift_check_runs_once_per_interval) {
  s->add("P-1");
  s->add("P-2");
  start(make_config(true, 60));
  apply({set("P-1", "WH-A", 7), set("P-2", "WH-A", 9)});
  ASSERT_EQ(s->pushes.size(), 1u);
  // The directory writes the product records behind, within 2 s.
  advance(3s);
  auto reads = s->surveys.size();
  // Changed behind shelfsync's back.
  s->items["P-2"].levels[0].available = 500;
  advance(50s, 1s);
  EXPECT_EQ(s->surveys.size(), reads) << "a pass before the interval";
  advance(10s, 1s);
  // One pass reads both products, finds P-2 drifted and sets it again.
  EXPECT_GT(s->surveys.size(), reads);
  EXPECT_EQ(s->level("P-2", loc_a), 9);
  auto details = nlohmann::json::parse(status().details);
  EXPECT_EQ(details["metrics"]["drift_found"].get<int>(), 1);
  EXPECT_EQ(details["metrics"]["drift_corrected"].get<int>(), 1);
  EXPECT_EQ(details["metrics"]["drift_passes"].get<int>(), 1);
  // The next pass comes an interval after the first one started.
  auto after_first = s->surveys.size();
  advance(55s, 1s);
  EXPECT_EQ(s->surveys.size(), after_first);
  advance(10s, 1s);
  EXPECT_GT(s->surveys.size(), after_first);
}

TEST_F(scripted_shopify_test, drift_reads_are_spaced_within_their_share) {
  // 30 products, pages of 5: a read asks 5 x (3 + 2 x 3) = 45 points (three
  // levels reserved per item: two mapped locations plus a stray one). A
  // share of 25% of a restore rate of 100/s allows one every 1.8 s.
  std::vector<stock_event> events;
  for (int i = 0; i < 30; ++i) {
    auto sku = "P-" + std::to_string(100 + i);
    s->add(sku);
    events.push_back(set(sku, "WH-A", i + 1));
  }
  start(make_config(true, 60, 25, 5));
  apply(std::move(events));
  advance(3s);
  auto delivered = s->surveys.size();
  advance(80s);
  ASSERT_EQ(s->surveys.size(), delivered + 6) << "one pass, six pages";
  for (auto i = delivered + 1; i < s->surveys.size(); ++i) {
    EXPECT_EQ(s->surveys[i].read.size(), 5u);
    EXPECT_GE(s->survey_at[i] - s->survey_at[i - 1], 1800ms) << i;
  }
  auto details = nlohmann::json::parse(status().details);
  EXPECT_EQ(details["metrics"]["drift_reads"].get<int>(), 6);
  EXPECT_EQ(details["metrics"]["drift_found"].get<int>(), 0);
  EXPECT_EQ(details["metrics"]["drift_passes"].get<int>(), 1);
}

TEST_F(scripted_shopify_test, no_drift_reads_when_the_check_is_off) {
  s->add("P-1");
  start();
  apply({set("P-1", "WH-A", 7)});
  auto delivered = s->surveys.size();
  advance(2h, 1min);
  EXPECT_EQ(s->surveys.size(), delivered);
  auto details = nlohmann::json::parse(status().details);
  EXPECT_EQ(details["metrics"]["drift_reads"].get<int>(), 0);
  EXPECT_EQ(details["drift_check"]["enabled"], false);
}

// -- a store that refuses writes (a full disk)
// ---------------------------------

TEST_F(scripted_shopify_test,
       no_push_leaves_while_what_it_sends_cannot_be_recorded) {
  // Seed 3236209754 of the fault suite's storage mode: a push left although
  // the store refused to record it as sent, its confirm was refused too and
  // the outbox forgot the product; back at the old value, the stored record
  // said "confirmed" and Shopify kept the newer one for good.
  s->add("P-1", {{loc_a, 0}, {loc_b, 0}});
  start();
  apply({set("P-1", "WH-A", 3)});
  ASSERT_TRUE(confirmed("P-1", loc_a, 3));
  ASSERT_EQ(s->pushes.size(), 1u);
  db->inject_write_failure("injected: the disk is full");
  apply({set("P-1", "WH-A", 8)});
  advance(10s);
  EXPECT_EQ(s->pushes.size(), 1u) << "a push left unrecorded";
  EXPECT_EQ(s->level("P-1", loc_a), 3);
  EXPECT_NE(status().last_error.find("wait until what they send can be "
                                     "recorded"),
            std::string::npos)
      << status().last_error;
  // The store takes writes again: the push goes out.
  db->inject_write_failure("");
  advance(3s);
  EXPECT_EQ(s->level("P-1", loc_a), 8);
  EXPECT_TRUE(confirmed("P-1", loc_a, 8));
  // Back to the value confirmed before: it goes out too.
  apply({set("P-1", "WH-A", 3)});
  advance(3s);
  EXPECT_EQ(s->level("P-1", loc_a), 3);
  EXPECT_TRUE(confirmed("P-1", loc_a, 3));
}

TEST_F(scripted_shopify_test, a_confirm_the_store_refuses_is_stored_later) {
  s->add("P-1", {{loc_a, 0}, {loc_b, 0}});
  start();
  apply({set("P-1", "WH-A", 3)});
  ASSERT_TRUE(confirmed("P-1", loc_a, 3));
  // The disk fills while the push of 8 is on its way: it lands, and its
  // confirm cannot be stored.
  s->on_push = [this] {
    db->inject_write_failure("injected: the disk is full");
  };
  apply({set("P-1", "WH-A", 8)});
  s->on_push = nullptr;
  ASSERT_EQ(s->pushes.size(), 2u);
  ASSERT_EQ(s->level("P-1", loc_a), 8);
  EXPECT_FALSE(confirmed("P-1", loc_a, 8));
  // Not stored is not done: the confirm is kept and stored once the store
  // takes writes again, without a new push.
  db->inject_write_failure("");
  advance(5s);
  EXPECT_TRUE(confirmed("P-1", loc_a, 8));
  EXPECT_EQ(s->pushes.size(), 2u);
  EXPECT_EQ(status().pending, 0u);
}

TEST_F(scripted_shopify_test, nothing_goes_out_before_the_first_views_arrive) {
  // A start on a full disk: the outbox loads an older view from its
  // segments, and the directory hands over the newer one its replay could
  // not commit (attach) just after. A round taken at once pushed the older
  // view over the newer one Shopify held (the storage-fault soak, seed
  // 2389966671: hundreds of values applied after newer ones).
  s->add("P-1", {{loc_a, 8}, {loc_b, 0}});
  view_change older{"P-1", 1, {{loc_a, 3}, {loc_b, 0}}, 1};
  state_batch b;
  b.put_outbox_segment("eu", 1, std::vector<view_change>{older});
  b.set_next_segment(2);
  ASSERT_FALSE(db->commit(b, 0));
  start();
  advance(5s);
  EXPECT_TRUE(s->surveys.empty());
  EXPECT_TRUE(s->pushes.empty());
  // The directory's hand-over (here, the view the replay could not commit).
  view_change newer{"P-1", 2, {{loc_a, 8}, {loc_b, 0}}, 2};
  caf::anon_send(caf::actor_cast<shop_actor>(shop_actor_), atom::pending_v,
                 std::vector<view_change>{newer});
  advance(5s);
  EXPECT_TRUE(s->pushes.empty()) << "an older view went out";
  EXPECT_EQ(s->level("P-1", loc_a), 8);
  EXPECT_TRUE(confirmed("P-1", loc_a, 8));
}
