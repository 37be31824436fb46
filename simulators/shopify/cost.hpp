#pragma once

#include "simulators/shopify/graphql.hpp"
#include "simulators/shopify/document.hpp"
#include "simulators/shopify/schema.hpp"

namespace shelfsync::shopify::sim {

/// Shopify's calculated query cost, before execution (`requestedQueryCost`):
/// scalars and enums 0; an object 1; a connection 2 plus `first` (or
/// `last`) times its node's cost; `nodes(ids:)` the number of ids times the
/// node's cost; a list of objects that is not a connection costs its
/// element's selection once (the elements themselves are free); PageInfo is
/// free; a mutation field 10, its payload object included. This reproduces
/// the recorded costs of 13 for inventorySetQuantities and 11 for
/// inventoryActivate with shelfsync's selections.
double requested_cost(const schema& s, const graphql::document& doc,
                      const graphql::operation& op, const json& variables);

/// Shopify's limit on the requested cost of one query, on every plan.
constexpr double max_query_cost = 1000;

} // namespace shelfsync::shopify::sim
