#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cluster/error.hpp"
#include "cluster/event_log.hpp"
#include "cluster/jetstream.hpp"
#include "config/config.hpp"

namespace shelfsync {

/// `explain` in clustered mode: how each number `shop` holds for product
/// `code` derives from the cluster's state of the product (`state`, read
/// with read-your-writes by the caller) under `conf`, with the product's
/// latest events (at most 32) read from the cluster's log (a cluster of
/// `slots` slots), and the shop's delivery record of the product as the
/// cluster keeps it. The cluster keeps no shop views: each number is what
/// the config in force gives now, and the answer says so. Blocking (reads
/// the product's slot of the events stream).
cluster::outcome<nlohmann::json>
explain_in_cluster(cluster::jetstream& js, uint32_t slots, const config& conf,
                   const shop_config& shop, const std::string& code,
                   const cluster::product_state& state);

} // namespace shelfsync
