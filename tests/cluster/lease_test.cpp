// Leases on a JetStream KV bucket, and their fencing deadline, against a real
// single nats-server.
#include "cluster/lease.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "tests/cluster/nats_test_support.hpp"

using namespace shelfsync::cluster;
using namespace shelfsync::test;
using namespace std::chrono_literals;

namespace {

lease_bucket_config bucket_config(std::chrono::milliseconds ttl) {
  lease_bucket_config config;
  config.bucket = "shelfsync_leases";
  config.ttl = ttl;
  config.replicas = 1;
  return config;
}

} // namespace

TEST(lease, a_ttl_below_100_ms_is_refused_before_asking_the_server) {
  START_NATS(nats, 1);
  auto js = connect_to(nats.urls());
  ASSERT_TRUE(js);
  auto bucket = lease_bucket::open(*js, bucket_config(50ms));
  ASSERT_FALSE(bucket);
  EXPECT_EQ(bucket.err().code, errc::invalid);
  EXPECT_NE(bucket.err().message.find("at least 100 ms"), std::string::npos);
}

TEST(lease, one_holder_at_a_time_until_released) {
  START_NATS(nats, 1);
  // Two nodes, each on its own connection.
  auto js1 = connect_to(nats.urls());
  auto js2 = connect_to(nats.urls());
  ASSERT_TRUE(js1 && js2);
  auto b1 = lease_bucket::open(*js1, bucket_config(10s));
  ASSERT_TRUE(b1) << b1.err().message;
  auto b2 = lease_bucket::open(*js2, bucket_config(10s));
  ASSERT_TRUE(b2) << b2.err().message;
  auto key = lease_bucket::slot_key(3);
  EXPECT_EQ(key, "slot.3");
  lease n1{**b1, key, "n1", 1s};
  lease n2{**b2, key, "n2", 1s};

  ASSERT_TRUE(n1.take());
  EXPECT_TRUE(n1.valid());
  auto refused = n2.take();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.err().code, errc::conflict) << refused.err().message;
  EXPECT_FALSE(n2.valid());

  auto rev = n1.revision();
  auto deadline = n1.deadline();
  ASSERT_TRUE(n1.renew());
  EXPECT_GT(n1.revision(), rev);
  EXPECT_GT(n1.deadline(), deadline);
  EXPECT_LE(n1.deadline(), lease::clock::now() + 9s);
  // The authoritative read names the holder.
  auto value =
      js1->last_msg("KV_shelfsync_leases", "$KV.shelfsync_leases.slot.3");
  ASSERT_TRUE(value) << value.err().message;
  EXPECT_EQ(value->data, "n1");
  EXPECT_EQ(value->sequence, n1.revision());

  ASSERT_TRUE(n1.release());
  EXPECT_FALSE(n1.valid());
  EXPECT_FALSE(n1.held());
  ASSERT_TRUE(n2.take()) << "a released lease is free";
  EXPECT_TRUE(n2.valid());
  // The old holder's late renew or release cannot touch n2's lease.
  EXPECT_FALSE(n1.renew());
  EXPECT_TRUE(n1.release()) << "holding nothing, there is nothing to release";
  ASSERT_TRUE(n2.renew());
  EXPECT_EQ(
      js1->last_msg("KV_shelfsync_leases", "$KV.shelfsync_leases.slot.3")->data,
      "n2");
}

TEST(lease, a_stale_release_leaves_the_new_holder_in_place) {
  START_NATS(nats, 1);
  auto js = connect_to(nats.urls());
  ASSERT_TRUE(js);
  auto bucket = lease_bucket::open(*js, bucket_config(300ms));
  ASSERT_TRUE(bucket) << bucket.err().message;
  lease n1{**bucket, lease_bucket::shop_key("eu-store"), "n1", 100ms};
  lease n2{**bucket, lease_bucket::shop_key("eu-store"), "n2", 100ms};
  ASSERT_TRUE(n1.take());
  // n1 stalls past the TTL; n2 takes the lease.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!n2.take() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(n2.held());
  auto released = n1.release();
  ASSERT_FALSE(released);
  EXPECT_EQ(released.err().code, errc::conflict) << released.err().message;
  EXPECT_TRUE(n2.renew()) << "n2 still holds it";
}

TEST(lease, the_holder_stops_being_valid_before_anyone_else_can_take_it) {
  START_NATS(nats, 1);
  auto js1 = connect_to(nats.urls());
  auto js2 = connect_to(nats.urls());
  ASSERT_TRUE(js1 && js2);
  auto b1 = lease_bucket::open(*js1, bucket_config(1000ms));
  ASSERT_TRUE(b1) << b1.err().message;
  auto b2 = lease_bucket::open(*js2, bucket_config(1000ms));
  ASSERT_TRUE(b2) << b2.err().message;
  lease n1{**b1, "slot.0", "n1", 250ms};
  lease n2{**b2, "slot.0", "n2", 250ms};

  auto before_take = lease::clock::now();
  ASSERT_TRUE(n1.take());
  EXPECT_LE(n1.deadline(), before_take + 1000ms);
  // n1 renews once, then stops (paused, cut off); n2 keeps trying.
  ASSERT_TRUE(n1.renew());
  bool was_valid_at_any_failed_try = false;
  lease::clock::time_point taken_at{};
  auto give_up = lease::clock::now() + 10s;
  while (lease::clock::now() < give_up) {
    bool n1_valid_before = n1.valid();
    if (n2.take()) {
      taken_at = lease::clock::now();
      // n1 must have fenced itself before n2's take was even sent.
      EXPECT_FALSE(n1_valid_before);
      break;
    }
    if (n1_valid_before) was_valid_at_any_failed_try = true;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(taken_at, lease::clock::time_point{}) << "the lease never expired";
  EXPECT_TRUE(was_valid_at_any_failed_try) << "n1 was never seen valid";
  EXPECT_LT(n1.deadline(), taken_at);
  EXPECT_FALSE(n1.valid());
  // The old holder's renew is refused, and it knows it lost the lease.
  auto late = n1.renew();
  ASSERT_FALSE(late);
  EXPECT_EQ(late.err().code, errc::conflict) << late.err().message;
  EXPECT_FALSE(n1.held());
  EXPECT_TRUE(n2.valid());
}
