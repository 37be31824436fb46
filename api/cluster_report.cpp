#include "api/cluster_report.hpp"

namespace shelfsync {

using json = nlohmann::json;

json cluster_json(const cluster::cluster_view& view,
                  const std::string& this_node, const std::string& this_digest,
                  const std::string& this_problem) {
  json nodes = json::array();
  for (auto& n : view.nodes)
    nodes.push_back(
        {{"id", n.id},
         {"address", n.address.empty() ? json() : json(n.address)},
         {"alive", n.alive},
         {"config_digest", n.digest.empty() ? json() : json(n.digest)},
         {"slots_owned", n.slots.size()},
         {"slots", n.slots},
         {"shops_owned", n.shops}});
  json slots = json::array();
  for (auto& s : view.slots)
    slots.push_back({{"slot", s.slot},
                     {"owner", s.owner ? json(*s.owner) : json()},
                     {"applied_seq", s.applied_seq},
                     {"last_seq", s.last_seq},
                     {"lag_events", s.lag.events},
                     {"lag_messages", s.lag.messages},
                     {"lag_capped", s.lag.capped}});
  json out{{"node",
            {{"id", this_node},
             {"config_digest", this_digest},
             {"takes_slots", this_problem.empty()}}},
           {"config_digest", view.digest.empty() ? json() : json(view.digest)},
           {"config_digest_set_by",
            view.digest_set_by.empty() ? json() : json(view.digest_set_by)},
           {"nodes", std::move(nodes)},
           {"slots", std::move(slots)},
           {"problems", view.problems}};
  return out;
}

std::string cluster_lag_metrics(
    const std::vector<std::pair<uint32_t, cluster::slot_lag>>& lags,
    bool config_agrees) {
  std::string events =
      "# HELP shelfsync_cluster_slot_lag_events Events stored in the slot's "
      "share of the cluster's log and not applied yet, for the slots this "
      "node owns (counted over at most 32 messages).\n"
      "# TYPE shelfsync_cluster_slot_lag_events gauge\n";
  std::string messages =
      "# HELP shelfsync_cluster_slot_lag_messages Messages (one per slot per "
      "ingested batch) stored in the slot's share of the cluster's log and "
      "not applied yet, for the slots this node owns.\n"
      "# TYPE shelfsync_cluster_slot_lag_messages gauge\n";
  for (auto& [slot, lag] : lags) {
    auto label = "{slot=\"" + std::to_string(slot) + "\"} ";
    events += "shelfsync_cluster_slot_lag_events" + label +
              std::to_string(lag.events) + "\n";
    messages += "shelfsync_cluster_slot_lag_messages" + label +
                std::to_string(lag.messages) + "\n";
  }
  return events + messages +
         "# HELP shelfsync_cluster_config_agrees Whether this node's config "
         "digest is the cluster's (a node whose config differs takes no "
         "slots).\n"
         "# TYPE shelfsync_cluster_config_agrees gauge\n"
         "shelfsync_cluster_config_agrees " +
         (config_agrees ? "1\n" : "0\n");
}

} // namespace shelfsync
