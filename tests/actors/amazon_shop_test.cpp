// The Amazon shop actor inside the real engine, against the real Amazon
// simulator over loopback HTTP: batching, feeds followed to their reports,
// per-SKU outcomes in the delivery records, faults, and restarts. The
// shop's timing logic (batch interval, getFeed schedule, backoff after a
// throttle, resubmission, no retry of a refusal) is tested on the
// deterministic scheduler with a scripted worker: amazon_rounds_test.cpp.
#include "tests/actors/amazon_fixture.hpp"

// -- quantities ---------------------------------------------------------------

TEST_F(amazon_shop_test, sends_the_sum_over_enabled_warehouses) {
  start(make_config(/*wh_b=*/false));
  ingest({on_hand("P1", "WH-A", 5), on_hand("P1", "WH-B", 7),
          on_hand("P2", "WH-B", 4)});
  ASSERT_TRUE(eventually([&] {
    return confirmed("P1", 5) && confirmed("P2", 0);
  }));
  EXPECT_EQ(listed("P1"), 5);
  EXPECT_EQ(listed("P2"), 0);
  // Enabling WH-B takes effect on reload: the sums include it.
  eng->reload(make_config(/*wh_b=*/true));
  ASSERT_TRUE(eventually([&] {
    return confirmed("P1", 12) && confirmed("P2", 4);
  }));
  EXPECT_EQ(listed("P1"), 12);
  EXPECT_EQ(listed("P2"), 4);
  // Disabling it again takes it out.
  eng->reload(make_config(/*wh_b=*/false));
  ASSERT_TRUE(eventually([&] {
    return confirmed("P1", 5) && confirmed("P2", 0);
  }));
  EXPECT_EQ(listed("P1"), 5);
  EXPECT_EQ(sim->feeds().size(), 3u);
  auto m = metrics();
  EXPECT_EQ(m["feeds_submitted"], 3);
  EXPECT_EQ(m["confirmed"], 6);
  EXPECT_EQ(m["failed"], 0);
  auto s = status();
  EXPECT_EQ(s.pending, 0u);
  EXPECT_FALSE(s.last_success.empty());
  EXPECT_TRUE(s.last_error.empty()) << s.last_error;
}

TEST_F(amazon_shop_test, an_unchanged_value_sends_nothing) {
  start(make_config());
  ingest({on_hand("P1", "WH-A", 5)});
  ASSERT_TRUE(eventually([&] {
    return confirmed("P1", 5);
  }));
  ASSERT_EQ(sim->feeds().size(), 1u);
  // Hold the batches, change the value and change it back: the view that
  // reaches the shop equals the confirmed one.
  eng->reload(make_config(false, /*interval=*/60s));
  ingest({on_hand("P1", "WH-A", 6)});
  ingest({on_hand("P1", "WH-A", 5)});
  // The same value again, and a change in a warehouse the shop ignores.
  ingest({on_hand("P1", "WH-A", 5), on_hand("P1", "WH-B", 9)});
  eng->reload(make_config(false, /*interval=*/100ms));
  ASSERT_TRUE(eventually([&] {
    return status().pending == 0;
  }));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(sim->feeds().size(), 1u);
  EXPECT_EQ(status().pending, 0u);
  EXPECT_TRUE(confirmed("P1", 5));
}

TEST_F(amazon_shop_test, stock_sync_off_sends_nothing_and_keeps_pending) {
  start(make_config(false, /*interval=*/60s));
  ingest({on_hand("P1", "WH-A", 3), on_hand("P2", "WH-A", 4)});
  ASSERT_TRUE(eventually([&] {
    return status().pending == 2;
  }));
  eng->reload(make_config(false, /*interval=*/100ms, /*sync=*/false));
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(sim->feeds().empty());
  auto s = status();
  EXPECT_FALSE(s.stock_sync);
  EXPECT_EQ(s.pending, 2u);
  eng->reload(make_config(false, /*interval=*/100ms, /*sync=*/true));
  ASSERT_TRUE(eventually([&] {
    return confirmed("P1", 3) && confirmed("P2", 4);
  }));
  EXPECT_EQ(sim->feeds().size(), 1u);
}

// -- per-SKU outcomes ---------------------------------------------------------

TEST_F(amazon_shop_test, report_errors_are_recorded_per_sku) {
  sim->fail_sku(seller.seller_id, "BAD", amazon::sim::permanent_failure());
  sim->fail_sku(seller.seller_id, "FLAKY", amazon::sim::transient_failure(1));
  start(make_config());
  ingest({on_hand("GOOD", "WH-A", 1), on_hand("BAD", "WH-A", 2),
          on_hand("FLAKY", "WH-A", 3)});
  // The transient failure is retried in a later feed and then confirmed.
  ASSERT_TRUE(eventually([&] {
    return confirmed("GOOD", 1) && confirmed("FLAKY", 3) &&
           delivered("BAD").state == delivery_state::failed;
  }));
  auto bad = delivered("BAD");
  EXPECT_EQ(bad.error_code, "4000003");
  EXPECT_EQ(bad.error_message,
            "The Amazon product type specified is invalid or not supported.");
  EXPECT_TRUE(bad.permanent);
  EXPECT_EQ(bad.sent, 2);
  EXPECT_FALSE(bad.has_confirmed);
  EXPECT_FALSE(bad.error_at.empty());
  auto feeds = sim->feeds();
  ASSERT_EQ(feeds.size(), 2u);
  EXPECT_EQ(content_of(feeds[1]).skus, std::vector<std::string>{"FLAKY"});
  // The permanent failure is not retried while its value stays the same
  // (over minutes: amazon_rounds_test.cpp).
  EXPECT_EQ(status().pending, 0u);
  auto m = metrics();
  EXPECT_EQ(m["failed"], 2);
  EXPECT_EQ(m["retried"], 1);
  EXPECT_EQ(m["confirmed"], 2);
  // A new value is sent again, and refused again.
  ingest({on_hand("BAD", "WH-A", 7)});
  ASSERT_TRUE(eventually([&] {
    auto d = delivered("BAD");
    return d.state == delivery_state::failed && d.sent == 7;
  }));
  EXPECT_EQ(sim->feeds().size(), 3u);
  // Once Amazon accepts it, the error is gone.
  sim->clear_sku_failures();
  ingest({on_hand("BAD", "WH-A", 8)});
  ASSERT_TRUE(eventually([&] {
    return confirmed("BAD", 8);
  }));
  EXPECT_TRUE(delivered("BAD").error_code.empty());
  EXPECT_EQ(listed("BAD"), 8);
}

TEST_F(amazon_shop_test, a_fatal_feed_is_resubmitted) {
  amazon::sim_faults faults;
  faults.next_feed = amazon::processing_status::fatal;
  sim->set_faults(faults);
  start(make_config());
  ingest({on_hand("P1", "WH-A", 5), on_hand("P2", "WH-A", 6)});
  ASSERT_TRUE(eventually([&] {
    return confirmed("P1", 5) && confirmed("P2", 6);
  }));
  auto feeds = sim->feeds();
  ASSERT_EQ(feeds.size(), 2u);
  EXPECT_EQ(feeds[0].status, amazon::processing_status::fatal);
  EXPECT_EQ(feeds[1].status, amazon::processing_status::done);
  EXPECT_EQ(content_of(feeds[1]).quantities,
            (std::map<std::string, int64_t>{{"P1", 5}, {"P2", 6}}));
  auto m = metrics();
  EXPECT_EQ(m["feeds_fatal"], 1);
  EXPECT_EQ(m["resubmitted"], 2);
  EXPECT_EQ(listed("P1"), 5);
}

// -- faults -------------------------------------------------------------------

TEST_F(amazon_shop_test, server_errors_and_dropped_connections_delay_only) {
  amazon::sim_faults faults;
  faults.path_prefix = "/feeds/2021-06-30/feeds";
  faults.fail_next = 1;
  faults.drop_next = 1;
  sim->set_faults(faults);
  start(make_config());
  ingest({on_hand("P1", "WH-A", 5), on_hand("P2", "WH-A", 1)});
  ASSERT_TRUE(eventually(
      [&] {
        return confirmed("P1", 5) && confirmed("P2", 1);
      },
      30s));
  EXPECT_EQ(listed("P1"), 5);
  EXPECT_EQ(listed("P2"), 1);
  EXPECT_FALSE(status().last_success.empty());
}

TEST_F(amazon_shop_test, a_feed_created_without_answer_is_not_forgotten) {
  // createFeed is carried out but its answer is lost: Amazon sets 9 though
  // the shop cannot know.
  amazon::sim_faults faults;
  faults.drop_after_next = 1;
  ASSERT_NO_FATAL_FAILURE(create_feed_unheard(faults));
  ASSERT_TRUE(eventually([&] {
    return sim->faults().drop_after_next == 0;
  }));
  // Back to the value confirmed before: it must go out again, or Amazon
  // keeps the 9 of the feed nobody heard of.
  ingest({on_hand("P1", "WH-A", 5)});
  expect_p1_back_at_5();
}

TEST_F(amazon_shop_test, missing_credentials_are_an_error_state) {
  ::unsetenv("SHOP_TEST_REFRESH");
  start(make_config());
  ingest({on_hand("P1", "WH-A", 5)});
  ASSERT_TRUE(eventually([&] {
    return !status().last_error.empty();
  }));
  auto s = status();
  EXPECT_NE(s.last_error.find("SHOP_TEST_REFRESH"), std::string::npos)
      << s.last_error;
  // No secret ever shows.
  EXPECT_EQ(s.last_error.find(seller.client_secret), std::string::npos);
  EXPECT_EQ(s.details.find(seller.client_secret), std::string::npos);
  EXPECT_EQ(s.pending, 1u);
  EXPECT_TRUE(sim->feeds().empty());
  // Once the credentials are there, the pending value goes out.
  set_credentials();
  ASSERT_TRUE(eventually(
      [&] {
        return confirmed("P1", 5);
      },
      20s));
}

// -- restarts -----------------------------------------------------------------

TEST_F(amazon_shop_test, a_restart_follows_the_feed_in_flight_to_its_end) {
  // The feed takes an hour of simulated time, as real feeds can.
  sim->set_processing_delay(30min, 30min);
  start(make_config());
  ingest({on_hand("P1", "WH-A", 5), on_hand("P2", "WH-A", 6)});
  // P1 is recorded in flight before createFeed; the feed id once it answers.
  ASSERT_TRUE(eventually([&] {
    return delivered("P1").state == delivery_state::in_flight &&
           sim->feeds().size() == 1u &&
           delivered("P1").request == sim->feeds()[0].feed_id;
  }));
  auto first = sim->feeds()[0].feed_id;
  EXPECT_EQ(delivered("P1").request, first);
  sim->set_processing_delay(100ms, 200ms); // for the feeds after this one
  // P1 changes while its feed is processing: it must wait for a later feed.
  ingest({on_hand("P1", "WH-A", 8)});
  auto details = json::parse(status().details);
  ASSERT_EQ(details["feeds_in_flight"].size(), 1u);
  EXPECT_EQ(details["feeds_in_flight"][0]["feed"], first);
  eng.reset();
  EXPECT_NE(sim->feeds()[0].status, amazon::processing_status::done);
  EXPECT_FALSE(listed("P1"));

  start(make_config());
  // The new engine follows the feed: getFeed is asked about it again.
  auto asked = [&] {
    size_t n = 0;
    for (auto& r : sim->requests())
      n += r.path == "/feeds/2021-06-30/feeds/" + first;
    return n;
  };
  auto before = asked();
  ASSERT_TRUE(eventually([&] {
    return asked() > before;
  }));
  EXPECT_EQ(sim->feeds().size(), 1u);
  EXPECT_TRUE(delivered("P1").state == delivery_state::in_flight);
  // An hour later Amazon is done with it.
  clock.offset_ms += 3600 * 1000;
  sim->advance();
  ASSERT_TRUE(eventually([&] {
    return confirmed("P1", 8) && confirmed("P2", 6);
  }));
  auto feeds = sim->feeds();
  // The first feed was followed, not sent again; only P1's newer value
  // needed a second one.
  ASSERT_EQ(feeds.size(), 2u);
  EXPECT_EQ(content_of(feeds[0]).quantities,
            (std::map<std::string, int64_t>{{"P1", 5}, {"P2", 6}}));
  EXPECT_EQ(content_of(feeds[1]).quantities,
            (std::map<std::string, int64_t>{{"P1", 8}}));
  EXPECT_EQ(listed("P1"), 8);
  EXPECT_EQ(listed("P2"), 6);
  auto l = sim->listing(seller.seller_id, "P1");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->history, (std::vector<int64_t>{5, 8}));
  EXPECT_TRUE(eventually([&] {
    auto s = status();
    return s.pending == 0 && json::parse(s.details)["feeds_in_flight"].empty();
  }));
}

TEST_F(amazon_shop_test,
       a_feed_created_as_the_engine_stopped_is_not_forgotten) {
  // createFeed is carried out, but the engine stops before the answer
  // arrives: Amazon sets 9, and no feed id was ever learned.
  amazon::sim_faults faults;
  faults.delay = 2s;
  faults.delay_next = 1;
  ASSERT_NO_FATAL_FAILURE(create_feed_unheard(faults));
  // Back to the value confirmed before, while the 9 is in flight.
  ingest({on_hand("P1", "WH-A", 5)});
  eng.reset();
  sim->set_faults({});
  EXPECT_EQ(listed("P1"), 9);
  // The 5 must go out although it equals the confirmed value, or Amazon
  // keeps the 9 of the feed the engine never heard of.
  start(make_config(false, /*interval=*/2s));
  EXPECT_TRUE(eventually([&] {
    return delivered("P1").error_code == "SubmissionUnanswered";
  }));
  EXPECT_EQ(delivered("P1").confirmed, 5);
  expect_p1_back_at_5();
  EXPECT_TRUE(eventually([&] {
    return status().pending == 0;
  }));
}

TEST_F(amazon_shop_test, a_restart_keeps_what_was_never_sent) {
  start(make_config(false, /*interval=*/60s));
  ingest({on_hand("P1", "WH-A", 5)});
  eng.reset();
  EXPECT_TRUE(sim->feeds().empty());
  start(make_config());
  ASSERT_TRUE(eventually([&] {
    return confirmed("P1", 5);
  }));
  EXPECT_EQ(sim->feeds().size(), 1u);
}

// -- storage failures ---------------------------------------------------------

TEST_F(amazon_shop_test, no_feed_goes_out_while_its_submission_cannot_be_recorded) {
  start(make_config(false, /*interval=*/60s));
  ingest({on_hand("P1", "WH-A", 3)});
  ASSERT_TRUE(eventually([&] {
    return status().pending == 1;
  }));
  // The submission memo cannot be written: the feed must not go, or a
  // restart that lost createFeed's answer would forget a feed Amazon holds.
  eng->db().inject_write_failure("injected: the disk is full");
  eng->reload(make_config(false, /*interval=*/100ms));
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(sim->feeds().empty());
  auto s = status();
  EXPECT_EQ(s.pending, 1u);
  EXPECT_NE(s.last_error.find("cannot record a submission"), std::string::npos)
      << s.last_error;
  // Once the store takes writes again, the value goes out.
  eng->db().inject_write_failure("");
  ASSERT_TRUE(eventually(
      [&] {
        return confirmed("P1", 3);
      },
      30s));
  EXPECT_EQ(sim->feeds().size(), 1u);
}
