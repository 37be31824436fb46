// The cluster fault suite (issue #11): 3 real nats-servers, 3 real
// `shelfsync serve` nodes and `shelfsync sim`, load to random nodes, and the
// faults a cluster must survive: SIGKILL of a node, SIGKILL of the NATS
// server leading the events stream, SIGSTOP of a node past its lease and
// SIGCONT (it must find itself fenced), and a restart of everything. An
// independent oracle (stock_oracle) checks what every node reads, and the
// ids each product's state holds: every batch answered 200 applied exactly
// once, none missing, nothing going backwards.
//
// CI runs each fault once. SHELFSYNC_CLUSTER_SOAK=<seconds> keeps drawing
// faults at random for that long; SHELFSYNC_CLUSTER_SEED=<n> repeats a run's
// load and fault choices (the seed is printed).
#include <cstdlib>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "cluster/slots.hpp"
#include "tests/cluster/cluster_load.hpp"
#include "tests/cluster/cluster_rig.hpp"

using json = nlohmann::json;
using namespace shelfsync::tests;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

uint64_t suite_seed() {
  if (const char* s = std::getenv("SHELFSYNC_CLUSTER_SEED"))
    return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

int soak_seconds() {
  const char* s = std::getenv("SHELFSYNC_CLUSTER_SOAK");
  return s == nullptr ? 0 : std::atoi(s);
}

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

/// The slots node `i` says it owns in /metrics.
std::vector<int> owned_slots(const cluster_rig& rig, int i) {
  std::vector<int> out;
  auto m = rig.get(i, "/metrics");
  auto text = m.body.is_string() ? m.body.get<std::string>() : std::string{};
  for (uint32_t s = 0; s < rig.options().slots; ++s)
    if (text.find("shelfsync_cluster_slot_owned{slot=\"" + std::to_string(s) +
                  "\"} 1") != std::string::npos)
      out.push_back(static_cast<int>(s));
  return out;
}

/// Waits until the nodes that are up own every slot between them; the
/// seconds it took, or -1 when `limit` passed first.
double wait_until_every_slot_owned(const cluster_rig& rig,
                                   std::chrono::seconds limit) {
  auto t = steady::now();
  while (steady::now() < t + limit) {
    std::set<int> owned;
    for (int i = 0; i < rig.node_count(); ++i)
      if (rig.node_up(i))
        for (int s : owned_slots(rig, i))
          owned.insert(s);
    if (owned.size() == rig.options().slots) return seconds_since(t);
    std::this_thread::sleep_for(100ms);
  }
  return -1;
}

struct cluster_fault : ::testing::Test {
  uint64_t seed = suite_seed();
  std::mt19937_64 rng{seed};
  cluster_rig_options options() {
    cluster_rig_options o;
    o.name = "cluster-fault";
    return o;
  }
  std::unique_ptr<cluster_rig> rig;
  std::unique_ptr<cluster_load> load;

  void SetUp() override {
    std::cout << "cluster fault suite: seed " << seed
              << " (SHELFSYNC_CLUSTER_SEED=" << seed
              << " repeats the load and the faults)\n";
    RecordProperty("seed", std::to_string(seed));
  }

  void TearDown() override {
    if (load) load->stop();
    if (HasFailure() && rig) {
      std::cout << "seed " << seed << "\n" << rig->log_tails(4000);
      for (auto& p : load ? load->problems() : std::vector<std::string>{})
        std::cout << "problem: " << p << "\n";
    }
  }

  int random_node() {
    return std::uniform_int_distribution<int>{0, rig->node_count() - 1}(rng);
  }

  /// The load must go on: `more` batches answered 200 within `limit`.
  void expect_progress(const std::string& after, size_t more = 25,
                       std::chrono::seconds limit = 60s) {
    auto t = steady::now();
    ASSERT_TRUE(load->wait_for_progress(more, limit))
        << "after " << after << ": fewer than " << more
        << " batches answered 200 within " << limit.count() << " s";
    std::cout << "  " << more << " batches answered 200 in " << seconds_since(t)
              << " s\n";
  }

  // -- the faults
  // --------------------------------------------------------------

  void kill_a_node() {
    auto i = random_node();
    std::cout << "fault: SIGKILL " << rig->node_id(i) << " (pid "
              << rig->node_pid(i) << ")\n";
    rig->kill_node(i);
    // The others take its slots once its leases ran out (PRODUCT.md §7:
    // within 15 s; the limit here is looser, a busy machine is slower).
    auto took = wait_until_every_slot_owned(*rig, 30s);
    ASSERT_GE(took, 0) << "the slots of " << rig->node_id(i)
                       << " were not taken over within 30 s";
    std::cout << "  every slot owned again after " << took << " s\n";
    ASSERT_NO_FATAL_FAILURE(expect_progress("the SIGKILL"));
    auto why = rig->start_node(i);
    ASSERT_EQ(why, "");
    ASSERT_NO_FATAL_FAILURE(expect_progress("its restart"));
  }

  void kill_the_events_leader() {
    auto t = steady::now();
    auto s = rig->kill_stream_leader("SHELFSYNC_EVENTS");
    ASSERT_GE(s, 0) << "no leader of SHELFSYNC_EVENTS found";
    std::cout << "fault: SIGKILL NATS server " << rig->nats().name(s)
              << ", leader of SHELFSYNC_EVENTS\n";
    ASSERT_NO_FATAL_FAILURE(expect_progress("the leader's kill"));
    std::cout << "  new leader " << rig->stream_leader("SHELFSYNC_EVENTS")
              << " after " << seconds_since(t) << " s\n";
    ASSERT_EQ(rig->restart_nats(s), "");
    ASSERT_NO_FATAL_FAILURE(expect_progress("its restart"));
  }

  void pause_a_node_past_its_lease() {
    // A node that owns slots (one may own none right after a restart).
    int i = -1;
    std::vector<int> slots;
    for (int tries = 0; tries < 50 && slots.empty(); ++tries) {
      i = random_node();
      slots = owned_slots(*rig, i);
      if (slots.empty()) std::this_thread::sleep_for(100ms);
    }
    ASSERT_FALSE(slots.empty()) << "no node owns a slot";
    auto log_before = rig->node_log(i).size();
    std::cout << "fault: SIGSTOP " << rig->node_id(i) << " (pid "
              << rig->node_pid(i) << ", " << slots.size() << " slots) for "
              << 2 * rig->options().lease_ttl_seconds + 1 << " s\n";
    rig->pause_node(i);
    auto paused_at = steady::now();
    ASSERT_NO_FATAL_FAILURE(expect_progress("the SIGSTOP"));
    // Past its lease: the others took its slots over.
    std::this_thread::sleep_until(
        paused_at +
        std::chrono::seconds{2 * rig->options().lease_ttl_seconds + 1});
    auto took = wait_until_every_slot_owned(*rig, 1s);
    EXPECT_GE(took, 0) << "the others did not own every slot while "
                       << rig->node_id(i) << " was paused";
    rig->resume_node(i);
    std::cout << "  SIGCONT after " << seconds_since(paused_at) << " s\n";
    // It finds each slot it owned lost (its renewal refused) or fenced, and
    // writes nothing more for it: a write already under way is refused by
    // the compare-and-set.
    auto deadline = steady::now() + 20s;
    std::vector<int> unfenced = slots;
    while (!unfenced.empty() && steady::now() < deadline) {
      auto log = rig->node_log(i).substr(log_before);
      std::vector<int> still;
      for (int s : unfenced) {
        auto slot = "slot " + std::to_string(s);
        if (log.find(slot + " lost") == std::string::npos &&
            log.find(slot + " fenced") == std::string::npos &&
            log.find(slot + ": write refused") == std::string::npos)
          still.push_back(s);
      }
      unfenced = still;
      if (!unfenced.empty()) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(unfenced.empty())
        << rig->node_id(i) << " does not say it lost or was fenced from "
        << unfenced.size() << " of its " << slots.size() << " slots";
    ASSERT_NO_FATAL_FAILURE(expect_progress("the SIGCONT"));
  }

  void restart_everything() {
    std::cout << "fault: SIGKILL every node, stop every NATS server, start "
                 "them all again\n";
    load->stop();
    auto t = steady::now();
    for (int i = 0; i < rig->node_count(); ++i)
      rig->kill_node(i);
    for (int s = 0; s < 3; ++s)
      rig->nats().stop(s);
    for (int s = 0; s < 3; ++s)
      ASSERT_EQ(rig->restart_nats(s), "");
    for (int i = 0; i < rig->node_count(); ++i)
      ASSERT_EQ(rig->start_node(i), "");
    std::cout << "  all up again after " << seconds_since(t) << " s\n";
    // Everything answered 200 before is there, on a node chosen at random.
    ASSERT_NO_FATAL_FAILURE(check_stock_on(random_node()));
    load->start();
    ASSERT_NO_FATAL_FAILURE(expect_progress("the restart"));
  }

  // -- the oracle's checks
  // -------------------------------------------------------

  /// Node `i` reads the oracle's stock for every product.
  void check_stock_on(int i) {
    std::string wrong;
    size_t differ = 0;
    for (auto& code : load->oracle().products()) {
      auto a = rig->product(i, code, 40s);
      std::string d = a.status == 200
                          ? load->stock_differs(code, a.body)
                          : code + ": answered " + std::to_string(a.status) +
                                " " + a.body.dump();
      if (!d.empty() && ++differ <= 10) wrong += "\n  " + d;
    }
    EXPECT_EQ(differ, 0u) << rig->node_id(i) << ": " << differ << " of "
                          << load->oracle().products().size()
                          << " products differ from the oracle:" << wrong;
  }

  /// Every product's state holds exactly the ids of the events accepted
  /// for it: each batch answered 200 applied once, none missing.
  void check_applied_ids() {
    size_t differ = 0;
    std::string wrong;
    for (auto& [code, want] : load->ids()) {
      std::string why;
      auto held = rig->applied_ids(code, &why);
      if (!held) {
        if (++differ <= 10) wrong += "\n  " + why;
        continue;
      }
      if (*held == want) continue;
      std::vector<std::string> missing, extra;
      for (auto& id : want)
        if (!held->count(id)) missing.push_back(id);
      for (auto& id : *held)
        if (!want.count(id)) extra.push_back(id);
      if (++differ <= 10)
        wrong += "\n  " + code + ": " + std::to_string(missing.size()) +
                 " missing (e.g. " +
                 (missing.empty() ? std::string{"-"} : missing[0]) + "), " +
                 std::to_string(extra.size()) + " not accepted for it (e.g. " +
                 (extra.empty() ? std::string{"-"} : extra[0]) + ")";
    }
    EXPECT_EQ(differ, 0u) << differ << " of " << load->ids().size()
                          << " products hold other ids than accepted:" << wrong;
  }
};

} // namespace

TEST_F(cluster_fault, nothing_accepted_is_lost_or_applied_twice_under_faults) {
  auto started_at = steady::now();
  rig = std::make_unique<cluster_rig>(options());
  auto why = rig->start();
  if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
  ASSERT_EQ(why, "");
  std::cout << "cluster up in " << seconds_since(started_at) << " s\n";

  load = std::make_unique<cluster_load>(*rig, seed);
  load->start();
  ASSERT_NO_FATAL_FAILURE(expect_progress("the start", 40));

  auto soak = soak_seconds();
  if (soak <= 0) {
    ASSERT_NO_FATAL_FAILURE(kill_a_node());
    ASSERT_NO_FATAL_FAILURE(kill_the_events_leader());
    ASSERT_NO_FATAL_FAILURE(pause_a_node_past_its_lease());
    ASSERT_NO_FATAL_FAILURE(restart_everything());
  } else {
    auto until = steady::now() + std::chrono::seconds{soak};
    int faults = 0;
    while (steady::now() < until) {
      switch (std::uniform_int_distribution<int>{0, 6}(rng)) {
      case 0:
      case 1:
        ASSERT_NO_FATAL_FAILURE(kill_a_node());
        break;
      case 2:
      case 3:
        ASSERT_NO_FATAL_FAILURE(kill_the_events_leader());
        break;
      case 4:
      case 5:
        ASSERT_NO_FATAL_FAILURE(pause_a_node_past_its_lease());
        break;
      default:
        ASSERT_NO_FATAL_FAILURE(restart_everything());
        break;
      }
      ++faults;
      auto p = load->problems();
      ASSERT_TRUE(p.empty()) << "after fault " << faults << ": " << p[0];
    }
    std::cout << "soak: " << faults << " faults\n";
  }

  load->stop();
  auto problems = load->problems();
  EXPECT_TRUE(problems.empty())
      << problems.size() << " problems, the first: " << problems[0];
  for (int i = 0; i < rig->node_count(); ++i)
    ASSERT_NO_FATAL_FAILURE(check_stock_on(i));
  ASSERT_NO_FATAL_FAILURE(check_applied_ids());
  std::cout << "cluster fault suite: seed " << seed << ", "
            << load->acknowledged() << " batches answered 200 ("
            << load->oracle().accepted() << " distinct events, "
            << load->resends() << " resends), " << load->read_backs()
            << " read backs, " << load->watched() << " watched reads, "
            << load->oracle().products().size() << " products checked on "
            << rig->node_count() << " nodes, " << seconds_since(started_at)
            << " s\n";
}

// PRODUCT.md §3: "an id seen before is acknowledged as a duplicate and has no
// effect", whatever product it names. The cluster deduplicates ids per
// product (the ids live in each product's state), so an id reused for
// another product is applied there. Disabled until that is fixed; run it
// with --gtest_also_run_disabled_tests.
TEST_F(cluster_fault, DISABLED_an_id_seen_for_another_product_changes_nothing) {
  cluster_rig_options o;
  o.name = "cluster-ids";
  o.nodes = 2;
  o.simulators = false;
  rig = std::make_unique<cluster_rig>(o);
  auto why = rig->start();
  if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
  ASSERT_EQ(why, "");
  // Two products in different slots.
  std::string a = "IDS-A", b;
  for (int i = 0; b.empty(); ++i) {
    auto code = "IDS-" + std::to_string(i);
    if (shelfsync::cluster::slot_of(code, o.slots) !=
        shelfsync::cluster::slot_of(a, o.slots))
      b = code;
  }
  event_spec first{"same-id", a, "WH-A", std::nullopt, 5};
  event_spec again{"same-id", b, "WH-A", std::nullopt, 7};
  auto r1 = rig->post_batch({first}, rng, 30s);
  ASSERT_EQ(r1.status, 200) << r1.error;
  auto r2 = rig->post_batch({again}, rng, 30s);
  ASSERT_EQ(r2.status, 200) << r2.error;
  auto held = rig->product(1, b, 30s);
  EXPECT_EQ(held.status, 404)
      << b << " took an event whose id " << a << " had: " << held.body.dump();
}
