#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/jetstream.hpp"

namespace shelfsync::cluster {

// Cluster-wide event ids (PRODUCT.md §3, §7: an id seen before has no
// effect, whatever product it names, for as long as the log is kept).
//
// An applier that meets an id its product has not applied yet claims it
// before writing the product: a write to `shelfsync.state.id.<hex of the
// id>` in the state stream expecting no message there. The claim names the
// product and the events-stream sequence of the message applying it. The
// first claim stays (a compacted subject written once), so every applier,
// of any slot, on any node, now or after a take-over, decides the same way
// for that id.

/// `shelfsync.state.id.<hex of the id>`.
std::string claim_subject(const std::string& id);

/// Who applied an event id first.
struct id_claim {
  std::string product;
  /// The events-stream sequence of the message that applied it.
  uint64_t seq = 0;
};

std::string encode(const id_claim& claim);
outcome<id_claim> decode_claim(const std::string& data);

/// Whether an event with this id, of `product` in the message `seq`, takes
/// effect given its id's claim: only when the claim is its own (the same
/// product, a message not earlier: a former owner's apply of the same
/// message that died before its product write). A claim of another product
/// or of an earlier message makes it a duplicate.
bool claim_applies(const id_claim& claim, const std::string& product,
                   uint64_t seq);

/// One id to claim.
struct claim_request {
  std::string id;
  std::string product;
  uint64_t seq = 0;
};

/// Claims every id at once (pipelined: one round trip for all the writes,
/// then one read per id already claimed). The ids must differ. Per
/// request, in order: whether its event takes effect (`claim_applies`
/// against the claim that holds now, its own when it landed), or an error
/// (no answer, no quorum) after which it may be claimed again: a claim that
/// landed unanswered is found and recognised as its own.
std::vector<outcome<bool>> claim_ids(jetstream& js,
                                     const std::vector<claim_request>& ids);

/// The claim of `id` as the stream leader holds it; nothing when no event
/// with this id was applied yet.
outcome<std::optional<id_claim>> read_claim(jetstream& js,
                                            const std::string& id);

} // namespace shelfsync::cluster
