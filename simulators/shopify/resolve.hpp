#pragma once

#include <string>

#include "simulators/shopify/schema.hpp"
#include "simulators/shopify/store.hpp"

namespace shelfsync::shopify::sim {

/// The value of field `field` (with resolved `args`) of `parent`, an object
/// of concrete type `type_name`: a scalar, null, an object snapshot tagged
/// with "__typename", or a list of those. Store-backed objects (items,
/// locations, levels) are read live from `st`; other objects are snapshots
/// whose fields are read as they are.
json resolve_field(store& st, const std::string& type_name, const json& parent,
                   const field_def& field, const json& args);

} // namespace shelfsync::shopify::sim
