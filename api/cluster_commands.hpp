#pragma once

#include <string>

#include "config/config.hpp"

namespace shelfsync::commands {

/// `log --product` in clustered mode: every event of the product in the
/// cluster's log (its slot's subject of the events stream), with the stock
/// after it as the appliers' rules give it, then the state the cluster
/// stores. 0 printed, 1 not found or the cluster unreachable.
int cluster_product_log(const config& conf, const std::string& code);

/// `replay` in clustered mode: rebuilds every product state from the
/// cluster's log, each slot up to its checkpoint, and lists every product
/// whose stored state differs: 0 equal, 3 differences (each on stdout, then
/// a count), 1 the cluster unreachable.
int cluster_replay(const config& conf);

/// `explain` in clustered mode: how each number the shop holds for the
/// product derives from the state the cluster stores, with its latest events
/// from the cluster's log. 0 printed, 1 not found or the cluster
/// unreachable.
int cluster_explain(const config& conf, const std::string& code,
                    const std::string& shop_id);

} // namespace shelfsync::commands
