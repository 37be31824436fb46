#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "simulators/shopify/graphql.hpp"
#include "simulators/shopify/schema.hpp"

/// Execution-time helpers over a parsed document: choosing the operation,
/// coercing variables, resolving arguments and collecting fields.
namespace shelfsync::shopify::sim {

/// One GraphQL error object: `{"message", "locations", "path", "extensions"}`.
json make_error(std::string message, graphql::position at, json path,
                json extensions);

/// The operation a request asks to run. Fills `errors` and returns null when
/// the name is missing (several operations) or unknown.
const graphql::operation* select_operation(const graphql::document& doc,
                                           std::string_view name, json& errors);

/// Coerces the request's `variables` for `op` against the schema: applies
/// defaults, checks types and nullability, and keeps explicit nulls as
/// nulls (absent stays absent). Appends INVALID_VARIABLE errors to `errors`.
json coerce_variables(const schema& s, const graphql::operation& op,
                      const json& provided, json& errors);

/// The JSON value of a literal with variables substituted. A variable that
/// was not provided yields a discarded JSON value (see is_absent()).
json literal_value(const graphql::value& v, const json& variables);

/// True for the marker literal_value() returns for an absent variable.
bool is_absent(const json& v);

/// The arguments of a field as a JSON object: given ones resolved, omitted
/// ones with a default filled in, omitted ones without a default left out.
json resolve_arguments(const std::vector<input_value_def>& defs,
                       const std::vector<graphql::argument>& given,
                       const json& variables);

/// False when `@skip(if: true)` or `@include(if: false)` applies.
bool included(const std::vector<graphql::directive>& ds, const json& variables);

/// Fields of a selection set grouped by response key, in response order,
/// with fragments applied for the concrete `object_type`.
using field_group =
    std::pair<std::string, std::vector<const graphql::selection*>>;

/// The selection sets merged under one response key.
using selection_sets = std::vector<const std::vector<graphql::selection>*>;

/// CollectFields of the GraphQL spec, over the merged `sets`.
std::vector<field_group> collect_fields(const schema& s,
                                        const graphql::document& doc,
                                        std::string_view object_type,
                                        const selection_sets& sets,
                                        const json& variables);

/// The sub-selections of every field in a group, for collect_fields().
selection_sets sub_selections(const field_group& group);

} // namespace shelfsync::shopify::sim
