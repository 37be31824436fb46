#include "cluster/view.hpp"

#include <algorithm>
#include <map>

#include "cluster/event_log.hpp"
#include "cluster/membership.hpp"
#include "cluster/slots.hpp"

namespace shelfsync::cluster {

outcome<cluster_view>
read_cluster_view(jetstream& js, lease_bucket& bucket, uint32_t slots,
                  const std::vector<std::string>& shop_ids) {
  auto members = read_members(bucket);
  if (!members) return members.err();
  auto holders = read_slot_holders(bucket, slots);
  if (!holders) return holders.err();

  cluster_view out;
  auto agreed = cluster_agreement(*members);
  if (agreed) {
    out.digest = agreed->digest;
    out.digest_set_by = agreed->set_by;
  }
  std::map<std::string, node_view> nodes;
  for (auto& m : *members) {
    auto& n = nodes[m.node_id];
    n.id = m.node_id;
    n.address = m.address;
    n.alive = true;
    n.digest = m.digest;
    if (agreed && !m.digest.empty() && m.digest != agreed->digest)
      out.problems.push_back(disagreement(m, *agreed));
  }
  for (uint32_t s = 0; s < slots; ++s) {
    slot_view v;
    v.slot = s;
    v.owner = (*holders)[s];
    if (v.owner) {
      auto& n = nodes[*v.owner];
      n.id = *v.owner;
      n.slots.push_back(s);
      if (!n.alive)
        out.problems.push_back("slot " + std::to_string(s) + " is held by " +
                               *v.owner +
                               ", which is not live: its lease runs out "
                               "within the TTL and another node takes it");
    } else {
      out.problems.push_back("slot " + std::to_string(s) +
                             " has no owner: its events are not applied "
                             "until a node whose config agrees takes it");
    }
    auto cp = load_checkpoint(js, s);
    auto last = last_event_seq(js, s);
    if (!cp || !last) {
      out.problems.push_back("slot " + std::to_string(s) +
                             ": cannot read its progress now: " +
                             (!cp ? cp.err() : last.err()).message);
    } else {
      v.applied_seq = cp->value;
      v.last_seq = *last;
      auto lag = measure_lag(js, s, v.applied_seq, v.last_seq);
      if (lag)
        v.lag = *lag;
      else
        out.problems.push_back(
            "slot " + std::to_string(s) +
            ": cannot measure its lag now: " + lag.err().message);
    }
    out.slots.push_back(std::move(v));
  }
  for (auto& shop : shop_ids) {
    auto& owner = (*holders)[slot_of_shop(shop, slots)];
    if (owner) nodes[*owner].shops.push_back(shop);
  }
  for (auto& [id, n] : nodes)
    out.nodes.push_back(std::move(n));
  return out;
}

} // namespace shelfsync::cluster
