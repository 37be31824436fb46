#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/jetstream.hpp"
#include "cluster/lease.hpp"
#include "cluster/log_reader.hpp"

namespace shelfsync::cluster {

/// One node as the cluster sees it.
struct node_view {
  std::string id;
  /// Its HTTP API (`node.listen`); empty when unknown.
  std::string address;
  /// Its membership lease is live; false for a node that still holds slot
  /// leases after its membership ran out (they run out within the TTL).
  bool alive = false;
  /// Its config digest; empty when unknown.
  std::string digest;
  /// The slots whose lease it holds, and the shops of those slots.
  std::vector<uint32_t> slots;
  std::vector<std::string> shops;
};

/// One slot as the cluster holds it.
struct slot_view {
  uint32_t slot = 0;
  /// The holder of its lease; nothing when none.
  std::optional<std::string> owner;
  /// Its checkpoint: the events-stream sequence it is applied up to.
  uint64_t applied_seq = 0;
  /// The sequence of its last message in the events stream (0: none).
  uint64_t last_seq = 0;
  slot_lag lag;
};

/// What `GET /v1/cluster` shows: read from the cluster (lease bucket,
/// checkpoints, the events stream), not from one node's memory.
struct cluster_view {
  /// The cluster's config digest and the node that set it; empty when no
  /// node publishes one.
  std::string digest;
  std::string digest_set_by;
  /// By id.
  std::vector<node_view> nodes;
  /// By index.
  std::vector<slot_view> slots;
  /// One sentence each: a node whose config differs, a slot nobody owns, a
  /// slot held by a node that is not live, a figure that could not be read.
  std::vector<std::string> problems;
};

/// Reads the view of a cluster of `slots` slots whose shops are `shop_ids`.
/// Blocking (2 requests per slot, more for a slot that lags).
outcome<cluster_view>
read_cluster_view(jetstream& js, lease_bucket& bucket, uint32_t slots,
                  const std::vector<std::string>& shop_ids);

} // namespace shelfsync::cluster
