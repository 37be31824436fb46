// Slot hashing and slot assignment: pure functions, no server.
#include "cluster/slots.hpp"

#include <algorithm>
#include <map>
#include <random>

#include <gtest/gtest.h>

using namespace shelfsync::cluster;

namespace {

std::vector<std::string> nodes(int n, int first = 1) {
  std::vector<std::string> ids;
  for (int i = first; i < first + n; ++i)
    ids.push_back("n" + std::to_string(i));
  return ids;
}

std::map<std::string, int> counts(const slot_owners& owners) {
  std::map<std::string, int> c;
  for (auto& o : owners)
    if (o) ++c[*o];
  return c;
}

/// max - min of the slots per live node (nodes holding none count as 0).
int spread(const slot_owners& owners, const std::vector<std::string>& live) {
  auto c = counts(owners);
  int lo = 1 << 30;
  int hi = 0;
  for (auto& n : live) {
    lo = std::min(lo, c[n]);
    hi = std::max(hi, c[n]);
  }
  return hi - lo;
}

int moves(const slot_owners& before, const slot_owners& after) {
  int m = 0;
  for (size_t s = 0; s < before.size(); ++s)
    if (before[s] != after[s]) ++m;
  return m;
}

} // namespace

// -- hashing ------------------------------------------------------------------

TEST(slots, hash_values_are_fixed_forever) {
  // Products are placed in the cluster's log by these values: a change here
  // moves every product to another slot of an existing cluster. (Checked
  // against an independent Python implementation of FNV-1a 64 + fmix64.)
  EXPECT_EQ(stable_hash(""), 17280346270528514342ull);
  EXPECT_EQ(stable_hash("SKU-1"), 12526067721443719619ull);
  EXPECT_EQ(stable_hash("eu-store"), 13503841090464242753ull);
  EXPECT_EQ(slot_of("SKU-1", 16), 3u);
  EXPECT_EQ(slot_of("SKU-2", 16), 9u);
  EXPECT_EQ(slot_of("4006381333931", 4096), 1944u);
  EXPECT_EQ(slot_of_shop("eu-store", 16), 1u);
  EXPECT_EQ(slot_of_shop("amazon-us", 16), 6u);
  EXPECT_EQ(rendezvous_weight("n1", 0), 18062773312362294235ull);
  EXPECT_EQ(rendezvous_weight("n2", 7), 5196156058137334461ull);
}

TEST(slots, every_slot_is_used_about_evenly) {
  std::vector<int> per_slot(16);
  for (int i = 0; i < 16000; ++i) {
    auto s = slot_of("SKU-" + std::to_string(i), 16);
    ASSERT_LT(s, 16u);
    ++per_slot[s];
  }
  for (int n : per_slot) {
    EXPECT_GT(n, 800);
    EXPECT_LT(n, 1200);
  }
  EXPECT_EQ(slot_of("anything", 1), 0u);
}

TEST(slots, preferred_owner_is_the_highest_weight_and_ignores_order) {
  auto live = nodes(5);
  for (uint32_t s = 0; s < 64; ++s) {
    auto best = preferred_owner(s, live);
    ASSERT_TRUE(best);
    for (auto& n : live)
      EXPECT_LE(rendezvous_weight(n, s), rendezvous_weight(*best, s));
    auto reversed = live;
    std::reverse(reversed.begin(), reversed.end());
    EXPECT_EQ(preferred_owner(s, reversed), best);
  }
  EXPECT_FALSE(preferred_owner(0, {}));
}

TEST(slots, removing_a_node_changes_only_its_preferred_slots) {
  auto live = nodes(4);
  auto fewer = nodes(3);
  for (uint32_t s = 0; s < 256; ++s) {
    auto before = preferred_owner(s, live);
    if (*before != "n4") {
      EXPECT_EQ(preferred_owner(s, fewer), before);
    }
  }
}

// -- assignment ---------------------------------------------------------------

TEST(slots, first_assignment_is_balanced) {
  for (uint32_t slots : {1u, 7u, 16u, 64u, 4096u})
    for (int n = 1; n <= 7; ++n) {
      auto live = nodes(n);
      auto owners = assign_slots(slot_owners(slots), live);
      for (auto& o : owners)
        ASSERT_TRUE(o);
      EXPECT_LE(spread(owners, live), 1) << slots << " slots, " << n;
    }
}

TEST(slots, a_balanced_assignment_never_moves) {
  for (int n = 1; n <= 6; ++n) {
    auto live = nodes(n);
    auto owners = assign_slots(slot_owners(16), live);
    EXPECT_EQ(assign_slots(owners, live), owners);
    auto shuffled = live;
    std::reverse(shuffled.begin(), shuffled.end());
    EXPECT_EQ(assign_slots(owners, shuffled), owners);
  }
}

TEST(slots, a_leaving_node_moves_only_its_own_slots) {
  for (uint32_t slots : {16u, 17u, 64u})
    for (int n = 2; n <= 6; ++n) {
      auto live = nodes(n);
      auto before = assign_slots(slot_owners(slots), live);
      auto gone = live.back();
      live.pop_back();
      auto after = assign_slots(before, live);
      EXPECT_LE(spread(after, live), 1);
      for (uint32_t s = 0; s < slots; ++s) {
        ASSERT_TRUE(after[s]);
        EXPECT_NE(*after[s], gone);
        if (*before[s] != gone) {
          EXPECT_EQ(after[s], before[s]) << s;
        }
      }
      EXPECT_EQ(moves(before, after), counts(before)[gone]);
    }
}

TEST(slots, a_joining_node_takes_only_its_fair_share) {
  for (uint32_t slots : {16u, 17u, 64u})
    for (int n = 1; n <= 6; ++n) {
      auto live = nodes(n);
      auto before = assign_slots(slot_owners(slots), live);
      live.push_back("new");
      auto after = assign_slots(before, live);
      EXPECT_LE(spread(after, live), 1);
      auto c = counts(after);
      EXPECT_GE(c["new"], static_cast<int>(slots / (n + 1)));
      // Every move is a slot going to the new node: no shuffling among the
      // others.
      for (uint32_t s = 0; s < slots; ++s)
        if (after[s] != before[s]) {
          EXPECT_EQ(*after[s], "new") << s;
        }
      EXPECT_EQ(moves(before, after), c["new"]);
    }
}

TEST(slots, random_histories_stay_balanced_with_minimal_moves) {
  std::mt19937 rng{42};
  for (uint32_t slots : {5u, 16u, 100u}) {
    std::vector<std::string> live = nodes(3);
    slot_owners owners = assign_slots(slot_owners(slots), live);
    int next_id = 100;
    for (int step = 0; step < 200; ++step) {
      if (live.size() > 1 && rng() % 2 == 0)
        live.erase(live.begin() + rng() % live.size());
      else
        live.push_back("n" + std::to_string(next_id++));
      auto after = assign_slots(owners, live);
      ASSERT_LE(spread(after, live), 1);
      // Lower bound of moves: orphaned slots plus what live nodes hold above
      // ceil(S/N).
      auto c = counts(owners);
      size_t n = live.size();
      int ceil_share = static_cast<int>((slots + n - 1) / n);
      int orphaned = 0;
      for (auto& o : owners)
        if (!o || std::find(live.begin(), live.end(), *o) == live.end())
          ++orphaned;
      int excess = 0;
      for (auto& node : live)
        excess += std::max(0, c[node] - ceil_share);
      EXPECT_GE(moves(owners, after), orphaned + excess);
      // ... and never more than that plus one slot per node that has to drop
      // from ceil to floor.
      EXPECT_LE(moves(owners, after), orphaned + excess + static_cast<int>(n));
      owners = after;
    }
  }
}

TEST(slots, no_live_node_leaves_every_slot_unowned) {
  auto owners = assign_slots(slot_owners(4, std::string{"n1"}), {});
  for (auto& o : owners)
    EXPECT_FALSE(o);
}
