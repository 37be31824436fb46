// The fault-injection suite (PRODUCT.md §3). It runs the real `shelfsync sim`
// and `shelfsync serve`, streams mixed stock events for a Shopify and an
// Amazon shop while both simulators throttle, fail, answer slowly and drop
// connections at random, and SIGKILLs the engine at random moments. Then
// every simulated shop must hold exactly what the accepted events imply (by
// the test's own oracle), no entry's history at the simulators may have gone
// backwards against the event log, and a replay of the log must rebuild the
// live state.
//
// The run is drawn from one seed, printed first; SHELFSYNC_FAULT_SEED=<n>
// runs that seed again. SHELFSYNC_FAULT_SCALE=<x> multiplies the fault rates
// (soak runs), SHELFSYNC_FAULT_KEEP=1 keeps the directory with the logs, the
// data and what the simulators received.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/api/child_process.hpp"
#include "tests/api/event_load.hpp"
#include "tests/api/fault_rig.hpp"
#include "tests/api/stock_oracle.hpp"

using namespace shelfsync::tests;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr size_t batch_size = 25;
constexpr auto convergence_limit = 120s;

/// SHELFSYNC_FAULT_SOAK=1: at least 20 SIGKILLs and a longer load.
bool soak() { return std::getenv("SHELFSYNC_FAULT_SOAK") != nullptr; }

uint64_t run_seed() {
  if (const char* env = std::getenv("SHELFSYNC_FAULT_SEED"))
    return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

/// How one run goes.
struct run_plan {
  int batches = 500;
  int kills = 3;
  /// The data dir sits on a small tmpfs that fills up and frees during the
  /// run; batches answered 503 meanwhile are sent again.
  bool storage_faults = false;
};

/// Runs `plan` on `rig`, whose run is drawn from `seed`.
void run(fault_rig& rig, uint64_t seed, const run_plan& plan);

struct fault_test : ::testing::Test {
  uint64_t seed = run_seed();
  fault_rig rig{seed};

  void TearDown() override {
    if (HasFailure()) rig.print_logs();
  }
};

/// The storage-fault mode, once per seed: 0 draws one (or takes
/// SHELFSYNC_FAULT_SEED), any other is a seed that found a bug, run again.
struct storage_fault_test : ::testing::TestWithParam<uint64_t> {
  uint64_t seed = GetParam() != 0 ? GetParam() : run_seed();
  fault_rig rig{seed};

  void TearDown() override {
    if (HasFailure()) rig.print_logs();
  }
};

} // namespace

TEST_F(fault_test, no_accepted_change_is_lost_or_reordered) {
  run_plan plan;
  if (soak()) {
    plan.kills = 20;
    plan.batches = 150 * (plan.kills + 1);
  }
  run(rig, seed, plan);
}

TEST_P(storage_fault_test, a_full_disk_delays_batches_but_loses_nothing) {
  // Runs wherever the test runs as root (a tmpfs can be mounted); skipped
  // with the reason elsewhere.
  if (auto why = rig.mount_data_disk(64); !why.empty())
    GTEST_SKIP() << "the storage-fault mode needs a small tmpfs for the data "
                    "dir, and cannot mount one: "
                 << why;
  run_plan plan;
  plan.storage_faults = true;
  plan.batches = 300;
  plan.kills = 2;
  if (soak()) {
    plan.kills = 20;
    plan.batches = 100 * (plan.kills + 1);
  }
  run(rig, seed, plan);
}

// A few seeds keep the mode's share of a test run small (about 30 s each):
// one drawn per run, and 3236209754, with which the mode found a shop
// keeping an older value for good after full disks and SIGKILLs (a push
// left although the store could not record it as sent). The soak found
// the same for Amazon with 2389966671 (SHELFSYNC_FAULT_SOAK=1).
INSTANTIATE_TEST_SUITE_P(seeds, storage_fault_test,
                         ::testing::Values(uint64_t{0}, uint64_t{3236209754}),
                         [](const ::testing::TestParamInfo<uint64_t>& info) {
                           return info.param == 0
                                      ? std::string{"drawn"}
                                      : "seed_" + std::to_string(info.param);
                         });

namespace {

void run(fault_rig& rig, uint64_t seed, const run_plan& plan) {
  std::cout << "fault suite seed " << seed
            << " (rerun with SHELFSYNC_FAULT_SEED=" << seed << ")"
            << (plan.storage_faults ? ", storage faults" : "") << "\n";
  ASSERT_FALSE(shelfsync_binary().empty()) << "SHELFSYNC_BIN must be set";
  auto started = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(rig.start_simulators());
  ASSERT_NO_FATAL_FAILURE(rig.start_engine());
  ASSERT_NO_FATAL_FAILURE(rig.set_faults(true));
  auto batch_count = plan.batches;
  auto kills = plan.kills;

  // -- load, with the engine killed at random moments ------------------------
  std::mt19937_64 rng{seed};
  event_load load{seed, "flt-" + std::to_string(seed) + "-", rig.products(),
                  rig.warehouses()};
  stock_oracle oracle{rig.shops()};
  std::vector<std::vector<event_spec>> batches;
  int next = 0;
  int kills_done = 0;
  std::atomic<int> unavailable{0};
  int disk_fills = 0;
  int full_starts = 0;
  int not_ready_seen = 0;
  bool full_at_start = false;
  // /readyz while the disk is full: 503 with a reason.
  auto expect_not_ready = [&](const char* when) {
    auto until = std::chrono::steady_clock::now() + 5s;
    json_answer r;
    while (std::chrono::steady_clock::now() < until) {
      r = rig.readyz();
      if (r.status == 503) break;
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(r.status, 503) << when << ": " << r.body.dump();
    EXPECT_FALSE(r.body.value("reason", "").empty()) << r.body.dump();
    if (r.status == 503) ++not_ready_seen;
  };
  for (int life = 0; life <= kills; ++life) {
    if (life > 0) {
      ASSERT_NO_FATAL_FAILURE(rig.start_engine());
    }
    std::atomic<int> acked{next};
    std::string refused;
    // Only this thread touches `load`, `batches` and `oracle` while it runs.
    std::thread sender{[&, from = next] {
      auto c = rig.api_client();
      for (int b = from; b < batch_count; ++b) {
        if (b == static_cast<int>(batches.size()))
          batches.push_back(load.next_batch(batch_size));
        auto a = rig.post_events(c, batches[b]);
        if (a.status == 0) return; // the engine is gone: resend b later
        if (a.status == 503 && plan.storage_faults) {
          // Not stored (the disk is full): nothing of it was accepted.
          ++unavailable;
          --b;
          std::this_thread::sleep_for(100ms);
          continue;
        }
        if (a.status != 200) {
          refused = "batch " + std::to_string(b) + " answered " +
                    std::to_string(a.status) + ": " + a.body.dump();
          return;
        }
        oracle.accept(batches[b]);
        acked = b + 1;
        std::this_thread::sleep_for(40ms);
      }
    }};
    if (full_at_start) {
      // Started on a full disk: read-only, and says so.
      ++full_starts;
      expect_not_ready("a start on a full disk");
      std::this_thread::sleep_for(1500ms);
      rig.free_data_disk();
      full_at_start = false;
    }
    if (life < kills) {
      if (plan.storage_faults) {
        std::uniform_int_distribution<int> ms{1500, 3500};
        std::this_thread::sleep_for(std::chrono::milliseconds{ms(rng)});
        rig.fill_data_disk();
        ++disk_fills;
        expect_not_ready("the disk is full");
        std::this_thread::sleep_for(std::chrono::milliseconds{ms(rng)});
        if (rng() % 2 == 0) {
          rig.free_data_disk();
          std::this_thread::sleep_for(std::chrono::milliseconds{ms(rng)});
        } else {
          full_at_start = true; // killed on a full disk, restarted on it
        }
      } else {
        std::uniform_int_distribution<int> ms{4000, 8000};
        std::this_thread::sleep_for(std::chrono::milliseconds{ms(rng)});
      }
      rig.kill_engine();
      ++kills_done;
    }
    sender.join();
    ASSERT_TRUE(refused.empty()) << refused;
    next = acked;
    std::cout << "life " << life << ": batches acknowledged up to " << next
              << (life < kills ? ", then SIGKILL" : "") << "\n";
  }
  ASSERT_EQ(next, batch_count) << "the engine stopped answering on its own";
  if (plan.storage_faults) {
    auto r = rig.readyz();
    EXPECT_EQ(r.status, 200)
        << "not ready once the disk has space again: " << r.body.dump();
  }

  // A whole batch sent again, ids unchanged: acknowledged, all duplicates.
  {
    auto c = rig.api_client();
    auto again = rig.post_events(c, batches.front());
    ASSERT_EQ(again.status, 200) << again.body.dump();
    EXPECT_EQ(again.body.value("accepted", -1), 0) << again.body.dump();
    EXPECT_EQ(again.body.value("duplicates", -1), static_cast<int>(batch_size))
        << again.body.dump();
  }
  auto load_seconds = seconds_since(started);

  // -- convergence with the faults off ---------------------------------------
  ASSERT_NO_FATAL_FAILURE(rig.set_faults(false));
  auto converging = std::chrono::steady_clock::now();
  std::string why;
  auto report_at = converging + 15s;
  while (true) {
    why = rig.idle_and_holding(oracle);
    if (why.empty()) break;
    auto now = std::chrono::steady_clock::now();
    if (now - converging > convergence_limit) break;
    if (now > report_at) {
      std::cout << "still converging: " << why << "\n";
      report_at = now + 15s;
    }
    std::this_thread::sleep_for(500ms);
  }
  auto converge_seconds = seconds_since(converging);
  EXPECT_TRUE(why.empty()) << "the shops did not converge within "
                           << convergence_limit.count() << " s: " << why;

  // -- every accepted event applied exactly once ------------------------------
  auto stock = rig.engine_stock_differs(oracle);
  EXPECT_TRUE(stock.empty()) << stock;

  // -- no entry ever went backwards ------------------------------------------
  auto histories = rig.check_histories(oracle);
  EXPECT_TRUE(histories.problems.empty()) << histories.problems;

  // -- summary ---------------------------------------------------------------
  auto faults = rig.injected();
  std::cout << "fault suite summary: seed " << seed << "; events accepted "
            << oracle.accepted() << " in " << batch_count << " batches ("
            << oracle.stale() << " stale versions, " << load.duplicates_made()
            << " duplicate ids); SIGKILLs " << kills_done
            << "; faults injected " << faults.dump() << "; requests shopify "
            << rig.requests("shopify") << ", amazon " << rig.requests("amazon")
            << "; entries checked " << histories.entries << " ("
            << histories.values << " applied values); load " << load_seconds
            << " s, converged in " << converge_seconds << " s";
  if (plan.storage_faults)
    std::cout << "; disk filled " << disk_fills << " times (" << full_starts
              << " starts on a full disk), " << unavailable
              << " batches answered 503 and sent again, /readyz 503 seen "
              << not_ready_seen << " times";
  std::cout << "\n";

  // -- replay rebuilds the live state ----------------------------------------
  EXPECT_EQ(rig.stop_engine(SIGTERM), 0) << "serve did not stop cleanly";
  auto [code, out] = rig.replay();
  EXPECT_EQ(code, 0) << "shelfsync replay found the rebuilt state differs "
                        "from the live one (exit 3) or failed (exit 1):\n"
                     << out;
}

} // namespace
