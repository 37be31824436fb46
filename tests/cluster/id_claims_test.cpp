// Cluster-wide event ids (cluster/id_claims.hpp) against a real single
// nats-server: the claim decides, the same way for every applier and every
// re-apply, whether an event with an id seen before takes effect; and an
// engine node applies a message's events by those claims.
#include "cluster/id_claims.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "cluster/event_log.hpp"
#include "cluster/history.hpp"
#include "cluster/node.hpp"
#include "cluster/slots.hpp"
#include "tests/cluster/node_test_support.hpp"

using namespace shelfsync;
using namespace shelfsync::cluster;
using namespace shelfsync::test;
using namespace std::chrono_literals;

namespace {

/// Connects to a single server holding the cluster's streams (1 replica).
std::unique_ptr<jetstream> cluster_streams(const nats_servers& nats) {
  auto js = connect_to(nats.urls());
  if (!js) return nullptr;
  auto events = ensure_stream_when_ready(*js, events_stream_spec(1, 0ms));
  EXPECT_TRUE(events) << (events ? "" : events.err().message);
  auto state = ensure_stream_when_ready(*js, state_stream_spec(1));
  EXPECT_TRUE(state) << (state ? "" : state.err().message);
  return events && state ? std::move(js) : nullptr;
}

/// One claim's decision; fails the test on an error.
bool claim(jetstream& js, const std::string& id, const std::string& product,
           uint64_t seq) {
  auto r = claim_ids(js, {claim_request{id, product, seq}});
  EXPECT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0]) << (r[0] ? "" : r[0].err().message);
  return r[0] && *r[0];
}

stock_event claimed_delta(const std::string& id, const std::string& product,
                          int64_t d) {
  stock_event e;
  e.id = id;
  e.product = product;
  e.warehouse = "WH-A";
  e.delta = d;
  e.fields = stock_event::has_delta;
  return e;
}

} // namespace

TEST(cluster_id_claims, an_id_claimed_for_another_product_is_a_duplicate) {
  START_NATS(nats, 1);
  auto js = cluster_streams(nats);
  ASSERT_TRUE(js);
  EXPECT_TRUE(claim(*js, "id-1", "P", 5));
  // Another product, later or earlier in the log, in any slot.
  EXPECT_FALSE(claim(*js, "id-1", "Q", 7));
  EXPECT_FALSE(claim(*js, "id-1", "Q", 3));
  // The same product in a later message: a resend of the id.
  EXPECT_FALSE(claim(*js, "id-1", "P", 9));
  // The first claim stays.
  auto held = read_claim(*js, "id-1");
  ASSERT_TRUE(held && *held) << (held ? "no claim" : held.err().message);
  EXPECT_EQ((*held)->product, "P");
  EXPECT_EQ((*held)->seq, 5u);
  auto none = read_claim(*js, "id-2");
  ASSERT_TRUE(none) << none.err().message;
  EXPECT_FALSE(*none);
}

TEST(cluster_id_claims, a_re_apply_of_the_same_message_decides_the_same_way) {
  START_NATS(nats, 1);
  auto js = cluster_streams(nats);
  ASSERT_TRUE(js);
  // An owner claims a message's ids and dies before its product write; a
  // new owner (another connection) applies the same message again: its own
  // claims let the events apply, a duplicate stays a duplicate.
  EXPECT_TRUE(claim(*js, "dup", "Q", 2));
  std::vector<claim_request> message{
      {"a", "P", 10}, {"b", "P", 10}, {"dup", "P", 10}, {"c", "R", 10}};
  auto first = claim_ids(*js, message);
  auto other = connect_to(nats.urls());
  ASSERT_TRUE(other);
  auto again = claim_ids(*other, message);
  std::vector<bool> want{true, true, false, true};
  ASSERT_EQ(first.size(), want.size());
  ASSERT_EQ(again.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(first[i]) << first[i].err().message;
    ASSERT_TRUE(again[i]) << again[i].err().message;
    EXPECT_EQ(*first[i], want[i]) << message[i].id;
    EXPECT_EQ(*again[i], want[i]) << message[i].id << " applied again";
  }
}

TEST(cluster_id_claims, of_two_concurrent_claims_of_an_id_exactly_one_applies) {
  START_NATS(nats, 1);
  auto js = cluster_streams(nats);
  ASSERT_TRUE(js);
  auto other = connect_to(nats.urls());
  ASSERT_TRUE(other);
  // Two appliers (slots of P and Q) meet the same 300 ids at once, in
  // opposite orders: they race for those in the middle.
  std::vector<claim_request> for_p, for_q;
  for (int i = 0; i < 300; ++i) {
    for_p.push_back({"race-" + std::to_string(i), "P", 40});
    for_q.push_back({"race-" + std::to_string(299 - i), "Q", 41});
  }
  std::vector<outcome<bool>> p, q;
  std::atomic<int> ready{0};
  auto run = [&](jetstream& conn, const std::vector<claim_request>& ids) {
    ++ready;
    while (ready < 2) {
    }
    return claim_ids(conn, ids);
  };
  std::thread t{[&] {
    p = run(*js, for_p);
  }};
  q = run(*other, for_q);
  t.join();
  std::reverse(q.begin(), q.end());
  ASSERT_EQ(p.size(), for_p.size());
  ASSERT_EQ(q.size(), for_q.size());
  size_t won_by_p = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    ASSERT_TRUE(p[i]) << p[i].err().message;
    ASSERT_TRUE(q[i]) << q[i].err().message;
    EXPECT_NE(*p[i], *q[i]) << for_p[i].id << ": exactly one applies";
    auto held = read_claim(*js, for_p[i].id);
    ASSERT_TRUE(held && *held);
    EXPECT_EQ((*held)->product, *p[i] ? "P" : "Q") << for_p[i].id;
    won_by_p += *p[i] ? 1 : 0;
  }
  std::cout << "P won " << won_by_p << " of " << p.size() << " ids\n";
}

TEST(cluster_id_claims, a_node_applies_an_id_once_whatever_product_it_names) {
  START_NATS(nats, 1);
  auto raw = cluster_streams(nats);
  ASSERT_TRUE(raw);
  const uint32_t slots = 4;
  // P and Q in different slots.
  std::string p = "CP", q;
  for (int i = 0; q.empty(); ++i) {
    auto code = "CQ" + std::to_string(i);
    if (slot_of(code, slots) != slot_of(p, slots)) q = code;
  }
  // A former owner of P's slot claimed the ids of P's first message, then
  // died before writing P: the node applies that message (its claims are
  // its own) and nothing of Q's event reusing one of its ids.
  auto first = raw->publish_batch(
      event_messages({claimed_delta("k1", p, 5), claimed_delta("k2", p, 1)},
                     slots, nullptr),
      5s);
  ASSERT_TRUE(first) << first.err().message;
  auto seq = (*first)[0].sequence;
  EXPECT_TRUE(claim(*raw, "k1", p, seq));
  auto o = short_lease_options(nats, "n1", slots, 1);
  auto n = node::start(o);
  ASSERT_TRUE(n) << n.err().message;
  auto& node = **n;
  auto later =
      node.ingest({claimed_delta("k1", q, 7), claimed_delta("k3", q, 2)});
  ASSERT_TRUE(later) << later.err().message;
  auto read = [&](const std::string& code) -> int64_t {
    auto state = node.product(code);
    EXPECT_TRUE(state) << (state ? "" : state.err().message);
    if (!state || !*state) return -1;
    return (*state)->record.stock["WH-A"].on_hand;
  };
  EXPECT_EQ(read(p), 6);
  EXPECT_EQ(read(q), 2) << "k1 was " << p << "'s";
  auto q_state = node.product(q);
  ASSERT_TRUE(q_state && *q_state);
  EXPECT_EQ((*q_state)->id_count, 1u);
  // The cluster's log (`log`, `explain`) shows k1 as a duplicate for Q.
  auto history = read_cluster_history(*raw, slots, q);
  ASSERT_TRUE(history) << history.err().message;
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].event.id, "k1");
  EXPECT_FALSE((*history)[0].applied) << "k1 shown as applied to " << q;
  EXPECT_TRUE((*history)[1].applied);
  EXPECT_EQ((*history)[1].after.on_hand, 2);
  // A product whose only event is a duplicate stays unknown, as on one
  // node.
  std::string r;
  for (int i = 0; r.empty(); ++i) {
    auto code = "CR" + std::to_string(i);
    if (slot_of(code, slots) != slot_of(p, slots)) r = code;
  }
  ASSERT_TRUE(node.ingest({claimed_delta("k2", r, 4)}));
  auto r_state = node.product(r);
  ASSERT_TRUE(r_state) << r_state.err().message;
  EXPECT_FALSE(*r_state) << r << " holds a state for a duplicate";
  // k1's claim is still the former owner's, for that very message.
  auto held = read_claim(*raw, "k1");
  ASSERT_TRUE(held && *held);
  EXPECT_EQ((*held)->product, p);
  EXPECT_EQ((*held)->seq, seq);
}
