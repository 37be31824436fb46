#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/lease.hpp"
#include "cluster/slots.hpp"

namespace shelfsync::cluster {

// -- config agreement ---------------------------------------------------------
//
// Every node must read the same warehouses, shops and rules. Each node puts
// the digest of what it reads in its membership lease (`node.<id>`), and the
// cluster's digest is that of the **longest-running live node** (smallest
// `joined_ms`, then smallest id). A node whose digest differs takes no slots
// and releases those it holds, and the others leave it out when they share
// out the slots. So a cluster never splits into two configs; a changed config
// takes effect once every node running the old one has restarted with the new
// one (the last old node to go hands the role to the new config). When the
// longest-running node goes, the next one sets the digest: nodes that
// agreed with the one that went but differ from the new one hand their
// slots over.

/// The digest of a config's shared part (`shared_json`, canonical JSON of
/// everything but `node`): the first 12 hex digits of its SHA-256.
std::string config_digest(const std::string& shared_json);

/// What a node says of itself in its membership lease.
struct member {
  std::string node_id;
  /// `config_digest` of its config; empty when the value could not be read
  /// (a node of an older version writes only its id).
  std::string digest;
  /// Its HTTP API, `node.listen`.
  std::string address;
  /// When the node process joined (ms since the Unix epoch, its own clock).
  int64_t joined_ms = 0;
};

/// The lease value of `m` (JSON) and back; a value that is not such JSON
/// gives a member with only its id.
std::string encode_member(const member& m);
member decode_member(const std::string& node_id, const std::string& value);

/// The live members: the `node.<id>` keys of the bucket (each expires with
/// its holder's TTL), by id. A (possibly stale) read: a view, never a
/// decision that needs a compare-and-set.
outcome<std::vector<member>> read_members(lease_bucket& bucket);

/// The holder of each slot's lease (`slot.<n>`) as a read of the bucket
/// says, by slot index.
outcome<slot_owners> read_slot_holders(lease_bucket& bucket, uint32_t slots);

/// The cluster's config digest and the node that set it.
struct agreement {
  std::string digest;
  std::string set_by;
};

/// The digest of the longest-running member among `members` that publishes
/// one; nothing when none does.
std::optional<agreement> cluster_agreement(const std::vector<member>& members);

/// The line saying that `m` disagrees with `cluster`.
std::string disagreement(const member& m, const agreement& cluster);

} // namespace shelfsync::cluster
