#include "cluster/slots.hpp"

#include <algorithm>
#include <map>

namespace shelfsync::cluster {

namespace {

/// MurmurHash3's 64-bit finalizer: every input bit reaches every output bit.
uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

uint64_t fnv1a(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

} // namespace

uint64_t stable_hash(std::string_view text) { return mix(fnv1a(text)); }

uint32_t slot_of(std::string_view product_code, uint32_t slots) {
  return static_cast<uint32_t>(stable_hash(product_code) % slots);
}

uint32_t slot_of_shop(std::string_view shop_id, uint32_t slots) {
  return static_cast<uint32_t>(stable_hash(shop_id) % slots);
}

uint64_t rendezvous_weight(std::string_view node_id, uint32_t slot) {
  return mix(fnv1a(node_id) ^ mix(uint64_t{slot} + 0x9e3779b97f4a7c15ull));
}

std::optional<std::string>
preferred_owner(uint32_t slot, const std::vector<std::string>& live_nodes) {
  const std::string* best = nullptr;
  uint64_t best_weight = 0;
  for (auto& node : live_nodes) {
    auto w = rendezvous_weight(node, slot);
    if (best == nullptr || w > best_weight ||
        (w == best_weight && node < *best)) {
      best = &node;
      best_weight = w;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

slot_owners assign_slots(const slot_owners& current,
                         std::vector<std::string> live_nodes) {
  std::sort(live_nodes.begin(), live_nodes.end());
  live_nodes.erase(std::unique(live_nodes.begin(), live_nodes.end()),
                   live_nodes.end());
  auto slots = static_cast<uint32_t>(current.size());
  slot_owners next(slots);
  if (live_nodes.empty() || slots == 0) return next;

  // Keep every slot whose owner is live.
  std::map<std::string, std::vector<uint32_t>> held;
  for (auto& node : live_nodes)
    held[node];
  std::vector<uint32_t> freed;
  for (uint32_t s = 0; s < slots; ++s) {
    auto i = current[s] ? held.find(*current[s]) : held.end();
    if (i == held.end())
      freed.push_back(s);
    else
      i->second.push_back(s);
  }

  // Quotas: the nodes holding most keep the larger share.
  auto n = static_cast<uint32_t>(live_nodes.size());
  uint32_t floor_share = slots / n;
  uint32_t larger = slots % n;
  auto order = live_nodes;
  std::stable_sort(order.begin(), order.end(),
                   [&](const std::string& a, const std::string& b) {
                     return held[a].size() > held[b].size();
                   });
  std::map<std::string, uint32_t> quota;
  for (uint32_t i = 0; i < n; ++i)
    quota[order[i]] = floor_share + (i < larger ? 1 : 0);

  // Above its quota, a node gives up the slots it prefers least.
  for (auto& [node, list] : held) {
    if (list.size() <= quota[node]) continue;
    std::sort(list.begin(), list.end(), [&](uint32_t a, uint32_t b) {
      auto wa = rendezvous_weight(node, a);
      auto wb = rendezvous_weight(node, b);
      return wa != wb ? wa > wb : a < b;
    });
    freed.insert(freed.end(), list.begin() + quota[node], list.end());
    list.resize(quota[node]);
  }
  for (auto& [node, list] : held)
    for (auto s : list)
      next[s] = node;

  // A freed slot goes to the node with room that prefers it most.
  std::sort(freed.begin(), freed.end());
  for (auto s : freed) {
    const std::string* best = nullptr;
    uint64_t best_weight = 0;
    for (auto& node : live_nodes) {
      if (held[node].size() >= quota[node]) continue;
      auto w = rendezvous_weight(node, s);
      if (best == nullptr || w > best_weight) {
        best = &node;
        best_weight = w;
      }
    }
    // The quotas add up to the number of slots, so there is always room.
    held[*best].push_back(s);
    next[s] = *best;
  }
  return next;
}

} // namespace shelfsync::cluster
