#pragma once

#include <nlohmann/json.hpp>

#include "simulators/shopify/graphql.hpp"
#include "simulators/shopify/schema.hpp"

namespace shelfsync::shopify::sim {

/// Static validation of a whole document against the schema, with the
/// messages and `extensions.code` values graphql-ruby (and so Shopify)
/// gives: undefinedField, argumentNotAccepted, missingRequiredArguments,
/// selectionMismatch, useAndDefineFragment, undefinedType,
/// cannotSpreadFragment, infiniteLoop, variableNotDefined, variableNotUsed,
/// variableRequiresValidType, variableMismatch, undefinedDirective,
/// directiveCannotBeApplied, argumentLiteralsIncompatible,
/// operationNotUnique, and Shopify's "you must provide one of first or last".
/// Returns the array of errors; empty when the document is valid.
json validate(const schema& s, const graphql::document& doc);

} // namespace shelfsync::shopify::sim
