// Config agreement and the cluster's view, with in-process nodes on real
// nats-server processes: a node whose config digest differs from the
// cluster's takes no slots and says why; with the same config it takes a
// fair share; the view reads owners, checkpoints and lag from the cluster.
#include <algorithm>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "cluster/membership.hpp"
#include "cluster/node.hpp"
#include "cluster/slots.hpp"
#include "tests/cluster/node_test_support.hpp"

using namespace shelfsync;
using namespace shelfsync::cluster;
using namespace shelfsync::test;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t agreement_slots = 6;

/// Guards the logs the nodes write from their threads.
std::mutex log_mutex;

/// The lines containing `text` in `log`.
long lines_with(const std::vector<std::string>& log, const std::string& text) {
  std::lock_guard<std::mutex> guard{log_mutex};
  return std::count_if(log.begin(), log.end(), [&](const std::string& line) {
    return line.find(text) != std::string::npos;
  });
}

std::unique_ptr<node> start_member(const nats_servers& nats,
                                   const std::string& id,
                                   const std::string& digest,
                                   std::vector<std::string>* log = nullptr) {
  auto o = short_lease_options(nats, id, agreement_slots, 1);
  o.renew_every = 200ms;
  o.request_threads = 1;
  o.config_digest = digest;
  o.address = "127.0.0.1:1" + id.substr(1);
  o.shop_ids = {"shop-a", "shop-b", "shop-c"};
  if (log != nullptr) {
    o.log = [log](const std::string& line) {
      std::lock_guard<std::mutex> guard{log_mutex};
      log->push_back(line);
    };
  }
  auto n = node::start(std::move(o));
  EXPECT_TRUE(n) << (n ? "" : n.err().message);
  return n ? std::move(*n) : nullptr;
}

template<class F>
bool agreement_wait(F f, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

outcome<cluster_view> view_of(node& n) {
  std::promise<outcome<cluster_view>> p;
  n.view_async([&](outcome<cluster_view> v) {
    p.set_value(std::move(v));
  });
  return p.get_future().get();
}

stock_event plus_one(const std::string& id, const std::string& product) {
  stock_event e;
  e.id = id;
  e.product = product;
  e.warehouse = "WH-A";
  e.delta = 1;
  e.fields = stock_event::has_delta;
  return e;
}

} // namespace

TEST(config_agreement, the_digest_covers_everything_but_the_node_section) {
  auto same = config_digest(R"({"shops":[],"warehouses":[{"id":"A"}]})");
  EXPECT_EQ(same.size(), 12u);
  EXPECT_EQ(same, config_digest(R"({"shops":[],"warehouses":[{"id":"A"}]})"));
  EXPECT_NE(same, config_digest(R"({"shops":[],"warehouses":[{"id":"B"}]})"));
  // The longest-running member that publishes a digest sets the cluster's.
  std::vector<member> members{{"n2", "bbb", "h:2", 100},
                              {"n1", "aaa", "h:1", 200},
                              {"n0", "", "h:0", 50}};
  auto agreed = cluster_agreement(members);
  ASSERT_TRUE(agreed);
  EXPECT_EQ(agreed->digest, "bbb");
  EXPECT_EQ(agreed->set_by, "n2");
  auto back = decode_member("n1", encode_member(members[1]));
  EXPECT_EQ(back.digest, "aaa");
  EXPECT_EQ(back.address, "h:1");
  EXPECT_EQ(back.joined_ms, 200);
  EXPECT_EQ(decode_member("n3", "n3").digest, "") << "an id-only value";
}

TEST(config_agreement, a_node_with_another_config_takes_no_slots) {
  START_NATS(nats, 1);
  auto a = start_member(nats, "n1", "aaaaaaaaaaaa");
  ASSERT_TRUE(a);
  ASSERT_TRUE(agreement_wait(
      [&] {
        return a->owned_slots() == agreement_slots;
      },
      15s));

  std::vector<std::string> b_log;
  auto b = start_member(nats, "n2", "bbbbbbbbbbbb", &b_log);
  ASSERT_TRUE(b);
  ASSERT_TRUE(agreement_wait(
      [&] {
        return !b->config_problem().empty();
      },
      10s));
  EXPECT_NE(b->config_problem().find("bbbbbbbbbbbb differs from the "
                                     "cluster's aaaaaaaaaaaa (set by n1"),
            std::string::npos)
      << b->config_problem();
  // Several rounds later: B took nothing, A kept everything.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(b->owned_slots(), 0u);
  EXPECT_EQ(a->owned_slots(), agreement_slots);
  EXPECT_TRUE(a->config_problem().empty());
  // Said once, not every round.
  EXPECT_EQ(lines_with(b_log, "differs from the cluster's"), 1);

  // The view, read through either node, names the problem.
  auto v = view_of(*a);
  ASSERT_TRUE(v) << v.err().message;
  EXPECT_EQ(v->digest, "aaaaaaaaaaaa");
  EXPECT_EQ(v->digest_set_by, "n1");
  ASSERT_EQ(v->nodes.size(), 2u);
  EXPECT_EQ(v->nodes[0].id, "n1");
  EXPECT_EQ(v->nodes[0].slots.size(), agreement_slots);
  EXPECT_EQ(v->nodes[0].shops.size(), 3u);
  EXPECT_EQ(v->nodes[1].id, "n2");
  EXPECT_TRUE(v->nodes[1].alive);
  EXPECT_EQ(v->nodes[1].digest, "bbbbbbbbbbbb");
  EXPECT_EQ(v->nodes[1].address, "127.0.0.1:12");
  EXPECT_TRUE(v->nodes[1].slots.empty());
  ASSERT_EQ(v->problems.size(), 1u);
  EXPECT_NE(v->problems[0].find("node n2's config digest bbbbbbbbbbbb"),
            std::string::npos);

  // B restarts with A's config: it takes a fair share, A hands it over.
  b.reset();
  b = start_member(nats, "n2", "aaaaaaaaaaaa");
  ASSERT_TRUE(b);
  ASSERT_TRUE(agreement_wait(
      [&] {
        return a->owned_slots() == agreement_slots / 2 &&
               b->owned_slots() == agreement_slots / 2;
      },
      15s))
      << "n1 owns " << a->owned_slots() << ", n2 " << b->owned_slots();
  EXPECT_TRUE(b->config_problem().empty());
  v = view_of(*b);
  ASSERT_TRUE(v) << v.err().message;
  EXPECT_TRUE(v->problems.empty()) << v->problems[0];
  size_t shops = 0;
  for (auto& n : v->nodes)
    shops += n.shops.size();
  EXPECT_EQ(shops, 3u) << "every shop has one owner";
}

TEST(config_agreement, the_view_shows_slots_that_lag_and_have_no_owner) {
  START_NATS(nats, 1);
  auto a = start_member(nats, "n1", "aaaaaaaaaaaa");
  ASSERT_TRUE(a);
  ASSERT_TRUE(agreement_wait(
      [&] {
        return a->owned_slots() == agreement_slots;
      },
      15s));
  // Applied: no lag.
  ASSERT_TRUE(a->ingest({plus_one("e1", "p1"), plus_one("e2", "p1")}));
  auto p = a->product("p1");
  ASSERT_TRUE(p && *p);
  auto slot = slot_of("p1", agreement_slots);
  auto v = view_of(*a);
  ASSERT_TRUE(v) << v.err().message;
  EXPECT_EQ(v->slots[slot].lag.events, 0u);
  EXPECT_GT(v->slots[slot].applied_seq, 0u);
  EXPECT_EQ(v->slots[slot].applied_seq, v->slots[slot].last_seq);

  // Stopped like a killed process: events stored meanwhile are not applied.
  a->halt();
  ASSERT_TRUE(a->ingest({plus_one("e3", "p1"), plus_one("e4", "p1")}));
  ASSERT_TRUE(a->ingest({plus_one("e5", "p1")}));
  v = view_of(*a);
  ASSERT_TRUE(v) << v.err().message;
  EXPECT_EQ(v->slots[slot].lag.events, 3u);
  EXPECT_EQ(v->slots[slot].lag.messages, 2u);
  EXPECT_FALSE(v->slots[slot].lag.capped);
  // Once its leases ran out, every slot is said to have no owner.
  ASSERT_TRUE(agreement_wait(
      [&] {
        auto now = view_of(*a);
        return now && now->nodes.empty() &&
               now->problems.size() == agreement_slots;
      },
      10s));
}

TEST(config_agreement,
     when_the_longest_running_node_goes_the_next_one_sets_it) {
  // n1 and n3 share a config, n2 has another; n1 runs longest. When n1
  // goes, n2 runs longest: its config is the cluster's, so n3 hands over
  // every slot it holds and n2 takes them all.
  START_NATS(nats, 1);
  auto n1 = start_member(nats, "n1", "aaaaaaaaaaaa");
  ASSERT_TRUE(n1);
  ASSERT_TRUE(agreement_wait(
      [&] {
        return n1->owned_slots() == agreement_slots;
      },
      15s));
  auto n2 = start_member(nats, "n2", "bbbbbbbbbbbb");
  ASSERT_TRUE(n2);
  ASSERT_TRUE(agreement_wait(
      [&] {
        return !n2->config_problem().empty();
      },
      10s));
  std::vector<std::string> n3_log;
  auto n3 = start_member(nats, "n3", "aaaaaaaaaaaa", &n3_log);
  ASSERT_TRUE(n3);
  ASSERT_TRUE(agreement_wait(
      [&] {
        return n1->owned_slots() == agreement_slots / 2 &&
               n3->owned_slots() == agreement_slots / 2;
      },
      15s))
      << "n1 owns " << n1->owned_slots() << ", n3 " << n3->owned_slots();
  EXPECT_EQ(n2->owned_slots(), 0u);

  n1.reset(); // a clean stop: its leases are released at once
  ASSERT_TRUE(agreement_wait(
      [&] {
        return n2->owned_slots() == agreement_slots && n3->owned_slots() == 0 &&
               !n3->config_problem().empty();
      },
      15s))
      << "n2 owns " << n2->owned_slots() << ", n3 " << n3->owned_slots();
  EXPECT_TRUE(n2->config_problem().empty());
  EXPECT_NE(n3->config_problem().find("(set by n2"), std::string::npos)
      << n3->config_problem();
  EXPECT_EQ(lines_with(n3_log, "released to n2"),
            static_cast<long>(agreement_slots / 2));
}
