#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shelfsync::cluster {

// -- stable hashing -----------------------------------------------------------

/// FNV-1a 64 of `text`, then MurmurHash3's 64-bit finalizer (so that codes
/// differing only in their last characters still spread over all slots).
/// **Fixed forever:** products and shops are placed by it in the cluster's
/// log; changing it moves every product to another slot. Not std::hash,
/// which may differ between builds.
uint64_t stable_hash(std::string_view text);

/// The slot (0 to slots - 1) that owns the product `product_code`. `slots`
/// must be at least 1.
uint32_t slot_of(std::string_view product_code, uint32_t slots);

/// The slot (0 to slots - 1) that owns the shop `shop_id` (its API budget,
/// its pushes). The same hash as products; `slots` must be at least 1.
uint32_t slot_of_shop(std::string_view shop_id, uint32_t slots);

// -- who owns which slot
// -------------------------------------------------------

/// The rendezvous (highest random weight) score of `node_id` for `slot`; the
/// live node with the highest score is the slot's preferred owner. Fixed
/// forever, like `stable_hash`.
uint64_t rendezvous_weight(std::string_view node_id, uint32_t slot);

/// The preferred owner of `slot` among `live_nodes` (ties, which need a hash
/// collision, go to the smaller id); nothing when no node is live.
std::optional<std::string>
preferred_owner(uint32_t slot, const std::vector<std::string>& live_nodes);

/// The owner of each slot, by slot index; nothing for an unowned slot.
using slot_owners = std::vector<std::optional<std::string>>;

/// The sticky, fair assignment of every slot (`current.size()` of them) to
/// `live_nodes`, given the `current` owners. With S slots and N live nodes
/// every node ends with floor(S/N) or ceil(S/N) slots (max - min <= 1), and
/// only these slots move:
/// - a slot that is unowned or whose owner is not live;
/// - a slot a node holds beyond its quota. Quotas: the S mod N nodes that
///   hold the most slots (ties: smaller id) may keep ceil(S/N), the others
///   floor(S/N); so a balanced cluster never moves anything, and a node that
///   joins takes only what the others hold above their new share.
/// A node gives up the slots it prefers least (lowest rendezvous weight);
/// a freed slot goes to the node with room whose rendezvous weight for it is
/// highest. Pure and deterministic: every node computes the same answer from
/// the same view. Returns every slot's new owner; all are unowned when no
/// node is live. Duplicate node ids in `live_nodes` count once.
slot_owners assign_slots(const slot_owners& current,
                         std::vector<std::string> live_nodes);

} // namespace shelfsync::cluster
