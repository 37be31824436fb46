#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace shelfsync::amazon::sim {

/// One listing as the simulator holds it: the fulfillment_availability
/// entries by fulfillment_channel_code, and every DEFAULT quantity it took.
struct listing {
  std::string product_type;
  /// Quantity per fulfillment_channel_code; nullopt for an entry without a
  /// quantity (Amazon-fulfilled listings look like that).
  std::map<std::string, std::optional<int64_t>> availability;
  /// Every DEFAULT quantity the listing took, oldest first.
  std::vector<int64_t> history;
  /// What set each history entry: "feed <id>" or "patchListingsItem <id>".
  std::vector<std::string> sources;

  /// The merchant-fulfilled (DEFAULT) quantity, if the listing has one.
  std::optional<int64_t> quantity() const;
};

/// One seller's listings by SKU.
using listing_store = std::map<std::string, listing>;

/// A problem with one message or patch request, as Amazon reports it.
struct listing_issue {
  std::string code;
  std::string message;
  std::string attribute_name;
};

/// Checks and applies JSON Patch operations (`patches` of a PATCH message or
/// of patchListingsItem) to the listing of `sku`, creating it if needed.
/// Only `/attributes/fulfillment_availability` is modelled; other top-level
/// attributes are accepted and ignored. Nothing is applied when an issue is
/// returned.
std::vector<listing_issue> apply_patches(listing_store& store,
                                         const std::string& sku,
                                         const std::string& product_type,
                                         const nlohmann::json& patches,
                                         const std::string& source);

/// Applies the `attributes` of an UPDATE or PARTIAL_UPDATE message (only
/// fulfillment_availability is modelled, as a replace).
std::vector<listing_issue> apply_attributes(listing_store& store,
                                            const std::string& sku,
                                            const std::string& product_type,
                                            const nlohmann::json& attributes,
                                            const std::string& source);

} // namespace shelfsync::amazon::sim
