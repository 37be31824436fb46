#pragma once

#include <string>
#include <vector>

#include "simulators/shopify/graphql.hpp"
#include "simulators/shopify/schema.hpp"

namespace shelfsync::shopify::sim {

/// Where an operation uses a variable, and which type that position expects.
struct variable_use {
  std::string name;
  graphql::type_ref expected;
  /// The position has a default, so a nullable variable may feed a
  /// non-null position.
  bool has_default = false;
  /// The argument or input field the variable is given to.
  std::string argument;
  graphql::position at;
};

/// Every use of a variable in `op`, following fragment spreads (each
/// fragment once), in document order.
std::vector<variable_use> variable_uses(const schema& s,
                                        const graphql::document& doc,
                                        const graphql::operation& op);

} // namespace shelfsync::shopify::sim
