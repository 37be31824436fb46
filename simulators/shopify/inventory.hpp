#pragma once

#include "channels/shopify/api_version.hpp"
#include "simulators/shopify/schema.hpp"
#include "simulators/shopify/store.hpp"

/// What the three inventory mutations do to a shop, with Shopify's
/// validation rules and userError shapes. Each returns the mutation's payload
/// as a snapshot object (JSON objects tagged with "__typename"; store-backed
/// objects carry only their id) for the executor to render.
namespace shelfsync::shopify::sim {

/// The payload plus what the request log wants to know.
struct mutation_outcome {
  json payload;
  /// True when the mutation changed the store.
  bool wrote = false;
  /// True when the payload carries userErrors.
  bool user_errors = false;
};

/// A reference object for an item, a location or a level.
json item_ref(const std::string& id);
json location_ref(const std::string& id);
json level_ref(const std::string& item_id, const std::string& location_id);

/// `inventorySetQuantities(input:)` with the coerced input object.
/// All-or-nothing: any userError means nothing is written.
mutation_outcome set_quantities(store& st, const json& input, api_version v);

/// `inventoryActivate(inventoryItemId:, locationId:, available:, onHand:)`.
mutation_outcome activate(store& st, const json& args);

/// `inventoryItemUpdate(id:, input:)`.
mutation_outcome update_item(store& st, const json& args);

/// The payload a mutation answers with when its idempotency key was used
/// before with other arguments, or is still in progress.
mutation_outcome idempotency_refusal(const std::string& payload_type,
                                     const std::string& code);

} // namespace shelfsync::shopify::sim
