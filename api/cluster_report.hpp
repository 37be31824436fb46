#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/view.hpp"

namespace shelfsync {

/// The body of `GET /v1/cluster` (docs/api.md): `view` as JSON, with the id
/// of the node answering, its own config digest and why it takes no slots
/// (empty when it does).
nlohmann::json cluster_json(const cluster::cluster_view& view,
                            const std::string& this_node,
                            const std::string& this_digest,
                            const std::string& this_problem);

/// The Prometheus lines of the lag of the slots a node owns
/// (`shelfsync_cluster_slot_lag_events`, `..._messages`) and of whether its
/// config agrees with the cluster's (`shelfsync_cluster_config_agrees`).
std::string cluster_lag_metrics(
    const std::vector<std::pair<uint32_t, cluster::slot_lag>>& lags,
    bool config_agrees);

} // namespace shelfsync
