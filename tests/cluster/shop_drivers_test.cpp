// The channel side of clustered mode: cluster::node with its shop drivers
// on a real nats-server, pushing to the real Shopify simulator over
// loopback HTTP. Every wait polls the simulator with a bound; every test
// asserts what the simulator holds and the sequence of values each level
// took there.
#include "cluster/shop_drivers.hpp"

#include <cstdlib>
#include <future>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "channels/amazon/feed.hpp"
#include "channels/amazon/feed_client.hpp"
#include "channels/shopify/client.hpp"
#include "cluster/shop_state.hpp"
#include "cluster/slots.hpp"
#include "core/clock.hpp"
#include "simulators/amazon/simulator.hpp"
#include "simulators/shopify/simulator.hpp"
#include "tests/cluster/node_test_support.hpp"
#include "tests/support/config.hpp"
#include "tests/support/eventually.hpp"

using namespace shelfsync;
using namespace shelfsync::cluster;
using namespace shelfsync::test;
using namespace std::chrono_literals;
using shelfsync::tests::eventually;

namespace {

constexpr uint32_t slot_count = 8;
constexpr const char* loc_a = "gid://shopify/Location/1001";
constexpr const char* loc_b = "gid://shopify/Location/1002";
constexpr const char* token = "shpat_cluster_test_token";
constexpr const char* token_env = "SHELFSYNC_TEST_CLUSTER_SHOPIFY_TOKEN";

node_options options_for(const nats_servers& nats, const std::string& id) {
  return short_lease_options(nats, id, slot_count, 1);
}

stock_event delta(const std::string& id, const std::string& product,
                  const std::string& wh, int64_t d) {
  stock_event e;
  e.id = id;
  e.product = product;
  e.warehouse = wh;
  e.delta = d;
  e.fields = stock_event::has_delta;
  return e;
}

std::string code(int i) { return "SKU-" + std::to_string(i); }

/// A node with its shop drivers.
struct member;

/// Stops the members before the NATS servers declared before it go (a node
/// leaving releases its leases on them).
struct members_guard {
  std::vector<member>& members;
  ~members_guard();
};

/// A node with its shop drivers.
struct member {
  std::unique_ptr<node> n;
  std::unique_ptr<shop_drivers> drivers;

  /// Stops like a killed process.
  void halt() {
    n->halt();
    drivers->halt();
  }
};

members_guard::~members_guard() {
  for (auto& m : members)
    m.drivers->halt();
  members.clear();
}

class cluster_shops : public ::testing::Test {
 protected:
  void SetUp() override {
    sim.add_shop("eu", token);
    sim.add_location("eu", "WH A", loc_a);
    sim.add_location("eu", "WH B", loc_b);
    server = std::make_unique<shopify::simulator_server>(sim);
    members.reserve(4); // members are referred to by address
    ::setenv(token_env, token, 1);
    auto eu = tests::make_shop("eu", channel_kind::shopify,
                               {{"WH-A", true, loc_a}, {"WH-B", true, loc_b}});
    eu.shopify.shop_url = server->shop_url("eu");
    eu.shopify.access_token_env = token_env;
    conf =
        tests::make_config("/nonexistent-cluster-test", {"WH-A", "WH-B"}, {eu});
  }

  void TearDown() override { server->stop(); }

  member& start(const nats_servers& nats, const std::string& id) {
    auto n = node::start(options_for(nats, id));
    EXPECT_TRUE(n) << (n ? "" : n.err().message);
    member m;
    m.n = std::move(*n);
    shop_drivers_options o;
    o.request_timeout = 3000ms;
    m.drivers = std::make_unique<shop_drivers>(*m.n, conf, o);
    members.push_back(std::move(m));
    return members.back();
  }

  /// The member whose drivers drive "eu" now, or null.
  member* driver_of_eu() {
    for (auto& m : members)
      for (auto& s : m.drivers->status())
        if (s.shop == "eu" && s.driven_here) return &m;
    return nullptr;
  }

  void seed(int products) {
    for (int i = 0; i < products; ++i)
      sim.add_item("eu", code(i), true, {{loc_a, 0}, {loc_b, 0}});
  }

  /// Every product's level at `loc`, by SKU.
  std::map<std::string, int64_t> levels(const std::string& loc) {
    std::map<std::string, int64_t> out;
    auto inv = sim.inventory("eu");
    for (auto& it : inv.items())
      if (auto* lv = it.stocked_at(loc)) out[it.sku] = lv->available;
    return out;
  }

  /// Every value a level took went up (the events only add stock): nothing
  /// went backwards, nothing older came back after a newer value.
  void expect_never_backwards() {
    auto inv = sim.inventory("eu");
    for (auto& it : inv.items())
      for (auto& lv : it.levels)
        for (size_t i = 1; i < lv.history.size(); ++i)
          EXPECT_GE(lv.history[i], lv.history[i - 1])
              << it.sku << " at " << lv.location_id << " went from "
              << lv.history[i - 1] << " to " << lv.history[i];
  }

  /// Pushes whose idempotency key names node `id`.
  size_t pushes_by(const std::string& id) {
    size_t n = 0;
    for (auto& r : sim.requests("eu"))
      for (auto& k : r.idempotency_keys)
        if (k.rfind("shelfsync-" + id + "-", 0) == 0) {
          ++n;
          break;
        }
    return n;
  }

  shopify::simulator sim;
  std::unique_ptr<shopify::simulator_server> server;
  std::shared_ptr<config> conf;
  std::vector<member> members;
};

/// Whether the members own every slot between them, each once.
bool all_slots_owned(const std::vector<member>& ms) {
  for (uint32_t s = 0; s < slot_count; ++s) {
    int owners = 0;
    for (auto& m : ms)
      owners += m.n->slots()[s].owned ? 1 : 0;
    if (owners != 1) return false;
  }
  return true;
}

/// Whether the members own every slot and share them fairly: nothing moves
/// any more (the first node takes every slot, then hands some over).
bool balanced(const std::vector<member>& ms) {
  if (!all_slots_owned(ms)) return false;
  for (auto& m : ms)
    if (m.n->owned_slots() < slot_count / ms.size()) return false;
  return true;
}

} // namespace

TEST_F(cluster_shops,
       events_on_either_node_reach_the_shop_with_compare_values) {
  START_NATS(nats, 1);
  members_guard guard{members};
  seed(12);
  start(nats, "n1");
  start(nats, "n2");
  ASSERT_TRUE(eventually(
      [&] {
        return balanced(members) && driver_of_eu() != nullptr;
      },
      20s));
  std::map<std::string, int64_t> want_a, want_b;
  int id = 0;
  for (int round = 0; round < 4; ++round) {
    std::vector<stock_event> batch;
    for (int i = 0; i < 12; ++i) {
      batch.push_back(
          delta("e" + std::to_string(id++), code(i), "WH-A", i + 1));
      want_a[code(i)] += i + 1;
      if (i % 3 == 0) {
        batch.push_back(delta("e" + std::to_string(id++), code(i), "WH-B", 2));
        want_b[code(i)] += 2;
      }
    }
    auto stored = members[round % 2].n->ingest(batch);
    ASSERT_TRUE(stored) << stored.err().message;
  }
  for (int i = 0; i < 12; ++i)
    want_b.emplace(code(i), 0);
  ASSERT_TRUE(eventually(
      [&] {
        return levels(loc_a) == want_a && levels(loc_b) == want_b;
      },
      20s))
      << "the shop did not converge";
  expect_never_backwards();
  // One node drives the shop: every push came from it.
  auto* d = driver_of_eu();
  ASSERT_NE(d, nullptr);
  auto other = d == &members[0] ? "n2" : "n1";
  EXPECT_EQ(pushes_by(other), 0u);
  // Every push was applied: none was refused as stale.
  size_t pushes = 0;
  for (auto& r : sim.requests("eu"))
    if (r.operation_name == "ShelfsyncPush") {
      ++pushes;
      EXPECT_EQ(r.answer, "ok");
    }
  EXPECT_GT(pushes, 0u);
  // The delivery records say what the shop holds (written once the push
  // is answered).
  EXPECT_TRUE(eventually([&] {
    auto rec = load_delivery(d->n->js(), "eu", code(4));
    if (!rec || !rec->value.locations.count(loc_a)) return false;
    auto& at_a = rec->value.locations.at(loc_a);
    return at_a.confirmed == want_a[code(4)] && !at_a.pending;
  }));
}

TEST_F(cluster_shops, a_killed_driver_s_shop_is_taken_over_and_converges) {
  START_NATS(nats, 1);
  members_guard guard{members};
  const int products = 10;
  seed(products);
  // Answers held back: the kill finds a push in flight, whose record stays
  // pending for the next owner (it re-reads the level to compare with).
  auto f = sim.faults("eu");
  f.delay = 100ms;
  sim.set_faults("eu", f);
  start(nats, "n1");
  start(nats, "n2");
  ASSERT_TRUE(eventually(
      [&] {
        return balanced(members) && driver_of_eu() != nullptr;
      },
      20s));
  auto* victim = driver_of_eu();
  auto& survivor = victim == &members[0] ? members[1] : members[0];
  std::map<std::string, int64_t> want;
  int id = 0;
  auto send = [&](int rounds) {
    for (int r = 0; r < rounds; ++r) {
      std::vector<stock_event> batch;
      for (int i = 0; i < products; ++i) {
        batch.push_back(delta("k" + std::to_string(id++), code(i), "WH-A", 1));
        ++want[code(i)];
      }
      auto stored = survivor.n->ingest(batch);
      ASSERT_TRUE(stored) << stored.err().message;
      std::this_thread::sleep_for(20ms);
    }
  };
  send(15);
  // Mid-stream: some values reached the shop, others not yet.
  ASSERT_TRUE(eventually(
      [&] {
        return levels(loc_a)[code(0)] > 0;
      },
      10s));
  victim->halt();
  auto killed = std::chrono::steady_clock::now();
  send(15);
  ASSERT_TRUE(eventually(
      [&] {
        return levels(loc_a) == want;
      },
      20s))
      << "the shop did not converge after the take-over";
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed);
  std::cout << "shop converged " << took.count() << " ms after the kill\n";
  EXPECT_EQ(driver_of_eu(), &survivor);
  expect_never_backwards();
  EXPECT_GT(pushes_by(survivor.n->options().node_id), 0u);
}

TEST_F(cluster_shops,
       a_fenced_driver_stops_pushing_and_its_late_push_is_refused) {
  START_NATS(nats, 1);
  members_guard guard{members};
  seed(3);
  auto& old_owner = start(nats, "n1");
  ASSERT_TRUE(eventually(
      [&] {
        return driver_of_eu() == &old_owner;
      },
      20s));
  ASSERT_TRUE(old_owner.n->ingest({delta("f0", code(1), "WH-A", 5)}));
  ASSERT_TRUE(eventually(
      [&] {
        return levels(loc_a)[code(1)] == 5;
      },
      20s));
  // What the old owner holds in hand: its last confirmed value.
  auto held = load_delivery(old_owner.n->js(), "eu", code(1));
  ASSERT_TRUE(held) << held.err().message;
  ASSERT_EQ(held->value.locations.at(loc_a).confirmed, 5);

  // The owner pauses: no renewals. Its driver stops before the lease can
  // run out, so that the next owner is alone.
  old_owner.n->suspend_renewals(true);
  ASSERT_TRUE(eventually(
      [&] {
        return driver_of_eu() == nullptr;
      },
      3000ms))
      << "the paused owner kept driving past its fencing deadline";
  auto old_pushes = pushes_by("n1");
  auto& new_owner = start(nats, "n2");
  ASSERT_TRUE(new_owner.n->ingest({delta("f1", code(1), "WH-A", 2)}));
  ASSERT_TRUE(eventually(
      [&] {
        return levels(loc_a)[code(1)] == 7;
      },
      20s));
  EXPECT_EQ(driver_of_eu(), &new_owner);

  // The paused owner's late push, compared with the value it confirmed,
  // is refused: the level stays the new owner's.
  shopify::client_config cc;
  cc.shop_url = server->shop_url("eu");
  cc.access_token = token;
  shopify::client late{cc};
  auto found = late.lookup_skus({code(1)});
  ASSERT_TRUE(found.status.ok()) << found.status.message;
  shopify::push_request p;
  p.idempotency_key = "shelfsync-n1-late";
  p.quantities.push_back({found.matches.at(0).item.id, loc_a, 5, int64_t{5}});
  auto refused = late.push(p);
  ASSERT_TRUE(refused.status.ok()) << refused.status.message;
  EXPECT_FALSE(refused.outcome.applied);
  ASSERT_EQ(refused.outcome.row_errors.size(), 1u);
  EXPECT_EQ(refused.outcome.row_errors[0].error.code,
            "CHANGE_FROM_QUANTITY_STALE");
  EXPECT_EQ(levels(loc_a)[code(1)], 7);
  // Its own driver sent nothing after it was fenced (the manual push above
  // is the only one with its name since).
  EXPECT_EQ(pushes_by("n1"), old_pushes + 1);
  expect_never_backwards();
  old_owner.halt();
}

TEST_F(cluster_shops, an_item_is_tracked_and_stocked_where_it_was_not) {
  START_NATS(nats, 1);
  members_guard guard{members};
  sim.add_item("eu", "NEW-1", false, {{loc_a, 0}});
  auto& m = start(nats, "n1");
  ASSERT_TRUE(m.n->ingest(
      {delta("t1", "NEW-1", "WH-A", 4), delta("t2", "NEW-1", "WH-B", 6)}));
  ASSERT_TRUE(eventually(
      [&] {
        return levels(loc_a)["NEW-1"] == 4 && levels(loc_b)["NEW-1"] == 6;
      },
      20s));
  auto inv = sim.inventory("eu");
  for (auto& it : inv.items())
    if (it.sku == "NEW-1") EXPECT_TRUE(it.tracked);
  expect_never_backwards();
}

TEST_F(cluster_shops,
       a_first_push_of_many_untracked_items_is_cut_by_query_cost) {
  // 200 items neither tracked nor stocked: 200 tracking switches and 400
  // activations cost about 6600 points, far above one query's 1000. A
  // Plus-sized bucket, so that the test does not wait for points.
  sim.add_shop("eu", token, {20000, 1000});
  constexpr int products = 200;
  for (int i = 0; i < products; ++i)
    sim.add_item("eu", code(i), false);
  START_NATS(nats, 1);
  members_guard guard{members};
  auto& m = start(nats, "n1");
  std::vector<stock_event> events;
  for (int i = 0; i < products; ++i) {
    events.push_back(delta("a" + std::to_string(i), code(i), "WH-A", i + 1));
    events.push_back(delta("b" + std::to_string(i), code(i), "WH-B", i + 2));
  }
  ASSERT_TRUE(m.n->ingest(events));
  auto converged = [&] {
    auto a = levels(loc_a);
    auto b = levels(loc_b);
    for (int i = 0; i < products; ++i)
      if (a[code(i)] != i + 1 || b[code(i)] != i + 2) return false;
    return true;
  };
  ASSERT_TRUE(eventually(converged, 30s));
  auto inv = sim.inventory("eu");
  for (auto& it : inv.items())
    EXPECT_TRUE(it.tracked) << it.sku;
  size_t pushes = 0;
  for (auto& r : sim.requests("eu")) {
    EXPECT_LE(r.requested_cost, 1000) << r.operation_name;
    EXPECT_NE(r.answer, "graphql_error") << r.operation_name;
    pushes += r.rows > 0 ? 1 : 0;
  }
  // 600 tracking switches and activations, 89 at most per push.
  EXPECT_GE(pushes, 7u);
  expect_never_backwards();
}

TEST_F(cluster_shops, a_reload_with_other_rules_sends_every_changed_view) {
  START_NATS(nats, 1);
  members_guard guard{members};
  seed(3);
  auto& m = start(nats, "n1");
  ASSERT_TRUE(m.n->ingest({delta("r0", code(0), "WH-A", 10),
                           delta("r1", code(1), "WH-A", 20),
                           delta("r2", code(2), "WH-A", 1)}));
  ASSERT_TRUE(eventually(
      [&] {
        return levels(loc_a)[code(1)] == 20 && levels(loc_a)[code(2)] == 1;
      },
      20s));
  // A buffer of 2: every product's view changes without a new event.
  auto next = std::make_shared<config>(*conf);
  next->shops[0].rules.buffer = 2;
  m.drivers->reload(next);
  ASSERT_TRUE(eventually(
      [&] {
        auto a = levels(loc_a);
        return a[code(0)] == 8 && a[code(1)] == 18 && a[code(2)] == 0;
      },
      20s))
      << "the new rules did not reach the shop";
}

// -- Amazon -------------------------------------------------------------------

namespace {

const amazon::sim_seller seller{"A2CLUSTER", "amzn1.application-oa2-client.c",
                                "cluster-secret", "Atzr|cluster-refresh"};

class cluster_amazon : public ::testing::Test {
 protected:
  void SetUp() override {
    members.reserve(4);
    amazon::simulator_config scfg;
    scfg.sellers = {seller};
    scfg.queue_delay = 100ms;
    scfg.processing_delay = 600ms;
    sim = std::make_unique<amazon::simulator>(scfg);
    server = std::make_unique<amazon::simulator_server>(*sim);
    ::setenv("CLUSTER_AMZ_ID", seller.client_id.c_str(), 1);
    ::setenv("CLUSTER_AMZ_SECRET", seller.client_secret.c_str(), 1);
    ::setenv("CLUSTER_AMZ_REFRESH", seller.refresh_token.c_str(), 1);
    auto s = tests::make_shop("amazon-us", channel_kind::amazon,
                              {{"WH-A", true, ""}, {"WH-B", true, ""}});
    s.amazon.endpoint = server->base_url();
    s.amazon.lwa_endpoint = server->base_url() + "/auth/o2/token";
    s.amazon.seller_id = seller.seller_id;
    s.amazon.marketplace_ids = {"ATVPDKIKX0DER"};
    s.amazon.client_id_env = "CLUSTER_AMZ_ID";
    s.amazon.client_secret_env = "CLUSTER_AMZ_SECRET";
    s.amazon.refresh_token_env = "CLUSTER_AMZ_REFRESH";
    s.amazon.batch_interval = 200ms;
    s.amazon.feed_poll = 100ms;
    conf =
        tests::make_config("/nonexistent-cluster-test", {"WH-A", "WH-B"}, {s});
  }

  void TearDown() override {
    // Every feed the drivers produced is valid against Amazon's schemas.
    for (auto& f : sim->feeds())
      EXPECT_TRUE(f.validation_issues.empty())
          << "feed " << f.feed_id << ": " << f.validation_issues.front();
    server.reset();
  }

  member& start(const nats_servers& nats, const std::string& id,
                std::chrono::milliseconds unknown_feed_wait = 3000ms) {
    auto n = node::start(options_for(nats, id));
    EXPECT_TRUE(n) << (n ? "" : n.err().message);
    member m;
    m.n = std::move(*n);
    shop_drivers_options o;
    o.connect_timeout = 500ms;
    o.request_timeout = 3000ms;
    // A feed whose createFeed answer was lost (a move mid-call) holds the
    // seller for this long instead of minutes when getFeeds is refused.
    o.unknown_feed_wait = unknown_feed_wait;
    o.log = [id](const std::string& line) {
      if (std::getenv("CLUSTER_TEST_LOG") != nullptr)
        std::cerr << id << ": " << line << "\n";
    };
    m.drivers = std::make_unique<shop_drivers>(*m.n, conf, o);
    members.push_back(std::move(m));
    return members.back();
  }

  /// Starts n1 with the fallback wait for a lost createFeed set to
  /// minutes (so that only getFeeds can end it sooner), sends `quantity`
  /// for code(0) and waits until the seller lists it.
  member& start_and_list(const nats_servers& nats, int64_t quantity) {
    auto& m = start(nats, "n1", 10min);
    EXPECT_TRUE(m.n->ingest({delta("u0", code(0), "WH-A", quantity)}));
    EXPECT_TRUE(eventually(
        [&] {
          return listed(1)[code(0)] == quantity;
        },
        20s))
        << "the seller does not list " << quantity;
    return m;
  }

  member* driver_of_seller() {
    for (auto& m : members)
      for (auto& s : m.drivers->status())
        if (s.shop == "amazon-us" && s.driven_here) return &m;
    return nullptr;
  }

  std::map<std::string, int64_t> listed(int products) {
    std::map<std::string, int64_t> out;
    for (int i = 0; i < products; ++i)
      if (auto l = sim->listing(seller.seller_id, code(i)))
        if (auto q = l->quantity()) out[code(i)] = *q;
    return out;
  }

  void expect_never_backwards(int products) {
    for (int i = 0; i < products; ++i)
      if (auto l = sim->listing(seller.seller_id, code(i)))
        for (size_t k = 1; k < l->history.size(); ++k)
          EXPECT_GE(l->history[k], l->history[k - 1])
              << code(i) << " went from " << l->history[k - 1] << " to "
              << l->history[k] << " (" << l->sources[k] << ")";
  }

  std::unique_ptr<amazon::simulator> sim;
  std::unique_ptr<amazon::simulator_server> server;
  std::shared_ptr<config> conf;
  std::vector<member> members;
};

} // namespace

TEST_F(cluster_amazon, events_on_either_node_reach_the_seller_in_feeds) {
  START_NATS(nats, 1);
  members_guard guard{members};
  start(nats, "n1");
  start(nats, "n2");
  ASSERT_TRUE(eventually(
      [&] {
        return balanced(members) && driver_of_seller() != nullptr;
      },
      20s));
  const int products = 6;
  std::map<std::string, int64_t> want;
  int id = 0;
  for (int round = 0; round < 3; ++round) {
    std::vector<stock_event> batch;
    for (int i = 0; i < products; ++i) {
      batch.push_back(delta("a" + std::to_string(id++), code(i), "WH-A", 3));
      batch.push_back(delta("a" + std::to_string(id++), code(i), "WH-B", i));
      want[code(i)] += 3 + i;
    }
    ASSERT_TRUE(members[round % 2].n->ingest(batch));
  }
  ASSERT_TRUE(eventually(
      [&] {
        return listed(products) == want;
      },
      20s))
      << "the seller did not converge";
  expect_never_backwards(products);
  // Every feed is done and the memo holds none.
  auto* d = driver_of_seller();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(eventually([&] {
    auto memo = load_feed_memo(d->n->js(), "amazon-us");
    return memo && memo->value.feeds.empty() &&
           !memo->value.create_times_ms.empty();
  }));
  EXPECT_TRUE(eventually([&] {
    auto rec = load_delivery(d->n->js(), "amazon-us", code(2));
    return rec && rec->value.locations.count("") &&
           rec->value.locations.at("").confirmed == want[code(2)];
  }));
}

TEST_F(cluster_amazon, a_new_owner_follows_the_feed_in_flight_before_sending) {
  START_NATS(nats, 1);
  members_guard guard{members};
  start(nats, "n1");
  start(nats, "n2");
  ASSERT_TRUE(eventually(
      [&] {
        return balanced(members) && driver_of_seller() != nullptr;
      },
      20s));
  auto* victim = driver_of_seller();
  auto& survivor = victim == &members[0] ? members[1] : members[0];
  const int products = 4;
  std::map<std::string, int64_t> want;
  int id = 0;
  auto send = [&] {
    std::vector<stock_event> batch;
    for (int i = 0; i < products; ++i) {
      batch.push_back(delta("b" + std::to_string(id++), code(i), "WH-A", 1));
      ++want[code(i)];
    }
    ASSERT_TRUE(survivor.n->ingest(batch));
  };
  send();
  // The owner dies while its feed is being processed.
  std::string in_flight;
  ASSERT_TRUE(eventually(
      [&] {
        auto memo = load_feed_memo(survivor.n->js(), "amazon-us");
        if (!memo || memo->value.feeds.empty()) return false;
        in_flight = memo->value.feeds.front().feed_id;
        return !in_flight.empty();
      },
      10s));
  victim->halt();
  auto requests_before = sim->requests().size();
  send();
  send();
  ASSERT_TRUE(eventually(
      [&] {
        return listed(products) == want;
      },
      20s))
      << "the seller did not converge after the take-over";
  expect_never_backwards(products);
  // The new owner asked for the feed in flight before it created one.
  auto requests = sim->requests();
  bool followed = false;
  bool created_before = false;
  for (size_t i = requests_before; i < requests.size(); ++i) {
    auto& r = requests[i];
    if (r.method == "GET" &&
        r.path.find("/feeds/" + in_flight) != std::string::npos)
      followed = true;
    if (r.method == "POST" && r.path == "/feeds/2021-06-30/feeds" && !followed)
      created_before = true;
  }
  EXPECT_TRUE(followed) << "the new owner never asked for feed " << in_flight;
  EXPECT_FALSE(created_before) << "a feed was created before the one in "
                                  "flight was followed";
  EXPECT_EQ(driver_of_seller(), &survivor);
}

namespace {

/// A memo as a former owner leaves it when it called createFeed and died
/// before the answer: a feed being created for `code`, without its id.
void leave_a_lost_create_feed(const nats_servers& nats, const std::string& code,
                              int64_t at_ms) {
  auto raw = connect_to(nats.urls());
  ASSERT_TRUE(raw);
  ASSERT_TRUE(ensure_stream_when_ready(*raw, state_stream_spec(1)));
  feed_memo memo;
  feed_memo_entry lost;
  lost.creating = true;
  lost.created_ms = at_ms;
  lost.skus.push_back({code, 1, 1});
  memo.feeds.push_back(lost);
  memo.create_times_ms.push_back(at_ms);
  ASSERT_TRUE(store_feed_memo(*raw, "amazon-us", memo, 0));
}

/// The index of the first request from a node (its User-Agent names it)
/// matching, from `from` on; -1 when none.
long first_request(const std::vector<amazon::sim_request_view>& requests,
                   size_t from, const std::string& method,
                   const std::string& path) {
  for (size_t i = from; i < requests.size(); ++i)
    if (requests[i].method == method && requests[i].path == path &&
        requests[i].user_agent.find("Node=") != std::string::npos)
      return static_cast<long>(i);
  return -1;
}

const std::string feeds_path = "/feeds/2021-06-30/feeds";

} // namespace

TEST_F(cluster_amazon,
       a_lost_create_feed_amazon_never_saw_holds_values_briefly) {
  START_NATS(nats, 1);
  members_guard guard{members};
  ASSERT_NO_FATAL_FAILURE(leave_a_lost_create_feed(nats, code(0), wall_ms()));
  auto started = std::chrono::steady_clock::now();
  // getFeeds answers: the fallback wait of minutes is never used.
  auto& m = start_and_list(nats, 5);
  ASSERT_FALSE(HasFailure());
  // Not before a createFeed on its way would have landed (a connect and a
  // request timeout), and after getFeeds found no feed to wait for.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 4s);
  auto requests = sim->requests();
  auto listed_at = first_request(requests, 0, "GET", feeds_path);
  auto created_at = first_request(requests, 0, "POST", feeds_path);
  EXPECT_GE(listed_at, 0) << "getFeeds was not asked";
  EXPECT_GT(created_at, listed_at) << "a feed was created before getFeeds";
  EXPECT_EQ(sim->feeds().size(), 1u);
  auto after = load_feed_memo(m.n->js(), "amazon-us");
  ASSERT_TRUE(after) << after.err().message;
  EXPECT_EQ(after->value.create_times_ms.size(), 2u)
      << "the budget counts the lost call too";
}

TEST_F(cluster_amazon, a_feed_whose_create_answer_was_lost_ends_before_newer) {
  START_NATS(nats, 1);
  members_guard guard{members};
  auto recorded = wall_ms();
  // The former owner's createFeed reached Amazon: its feed (an older value)
  // waits in the queue for 8 s, longer than a new owner waits for a
  // createFeed on its way.
  sim->set_processing_delay(8000ms, 300ms);
  amazon::lwa_client lwa{
      *http::parse_url(server->base_url() + "/auth/o2/token"),
      {seller.client_id, seller.client_secret, seller.refresh_token}};
  amazon::feed_client_options fo;
  fo.endpoint = *http::parse_url(server->base_url());
  fo.marketplace_ids = {"ATVPDKIKX0DER"};
  amazon::feed_client former{fo, lwa};
  amazon::feed_options opts;
  opts.seller_id = seller.seller_id;
  auto old = amazon::build_listings_feeds({{code(0), 1, {}}}, opts);
  ASSERT_EQ(old.feeds.size(), 1u);
  auto lost_id = former.submit_feed(old.feeds[0].body);
  ASSERT_TRUE(lost_id) << amazon::to_string(lost_id.error());
  sim->set_processing_delay(100ms, 300ms);
  ASSERT_NO_FATAL_FAILURE(leave_a_lost_create_feed(nats, code(0), recorded));

  auto& m = start_and_list(nats, 5);
  ASSERT_FALSE(HasFailure());
  expect_never_backwards(1);
  auto l = sim->listing(seller.seller_id, code(0));
  ASSERT_TRUE(l);
  EXPECT_EQ(l->history, (std::vector<int64_t>{1, 5}));
  // The new owner followed the lost feed to its end, then created its own.
  auto requests = sim->requests();
  long followed_to = -1;
  for (size_t i = 0; i < requests.size(); ++i)
    if (requests[i].method == "GET" &&
        requests[i].path == feeds_path + "/" + lost_id.value() &&
        requests[i].user_agent.find("Node=") != std::string::npos)
      followed_to = static_cast<long>(i);
  auto created_at = first_request(requests, 0, "POST", feeds_path);
  EXPECT_GE(followed_to, 0) << "the lost feed was never asked for";
  EXPECT_GT(created_at, followed_to)
      << "a feed was created while the lost one was still queued";
  EXPECT_EQ(sim->feeds().size(), 2u);
}

TEST_F(cluster_amazon, a_resync_asked_on_the_other_node_sends_every_view) {
  START_NATS(nats, 1);
  members_guard guard{members};
  start(nats, "n1");
  start(nats, "n2");
  ASSERT_TRUE(eventually(
      [&] {
        return balanced(members) && driver_of_seller() != nullptr;
      },
      20s));
  const int products = 4;
  std::vector<stock_event> batch;
  std::map<std::string, int64_t> want;
  for (int i = 0; i < products; ++i) {
    batch.push_back(delta("r" + std::to_string(i), code(i), "WH-A", 2 + i));
    want[code(i)] = 2 + i;
  }
  ASSERT_TRUE(members[0].n->ingest(batch));
  ASSERT_TRUE(eventually(
      [&] {
        return listed(products) == want;
      },
      20s));
  auto* d = driver_of_seller();
  ASSERT_NE(d, nullptr);
  auto& other = d == &members[0] ? members[1] : members[0];
  std::map<std::string, size_t> before;
  for (int i = 0; i < products; ++i)
    before[code(i)] = sim->listing(seller.seller_id, code(i))->history.size();

  // Amazon has no read of a quantity: a resync sends every view again,
  // though the delivery records say each is confirmed.
  std::promise<outcome<shop_resync>> asked;
  other.drivers->request_resync_async("amazon-us", [&](outcome<shop_resync> r) {
    asked.set_value(std::move(r));
  });
  auto r = asked.get_future().get();
  ASSERT_TRUE(r) << r.err().message;
  EXPECT_EQ(r->requested, 1u);
  ASSERT_TRUE(eventually(
      [&] {
        auto rec = load_resync(other.n->js(), "amazon-us");
        return rec && rec->value.done == 1;
      },
      20s));
  auto rec = load_resync(other.n->js(), "amazon-us");
  EXPECT_EQ(rec->value.scanned, static_cast<uint64_t>(products));
  EXPECT_EQ(rec->value.pushed, static_cast<uint64_t>(products));
  EXPECT_EQ(rec->value.running, 0u);
  for (int i = 0; i < products; ++i) {
    auto l = sim->listing(seller.seller_id, code(i));
    EXPECT_EQ(l->history.size(), before[code(i)] + 1) << code(i);
    EXPECT_EQ(l->quantity(), want[code(i)]);
  }
  // Asked again while none runs: accepted; an unknown shop is not.
  std::promise<outcome<shop_resync>> unknown;
  other.drivers->request_resync_async("nope", [&](outcome<shop_resync> x) {
    unknown.set_value(std::move(x));
  });
  auto u = unknown.get_future().get();
  ASSERT_FALSE(u);
  EXPECT_EQ(u.err().code, errc::not_found);
}
