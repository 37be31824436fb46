#pragma once

#include <vector>

#include "config/config.hpp"
#include "config/object_reader.hpp"

namespace shelfsync::detail {

/// Reads `node.cluster` (the object `value` at `path`) into `out`.
void read_cluster(const json& value, const std::string& path,
                  cluster_config& out, std::vector<config_problem>& problems);

/// Returns whether `id` is a valid cluster node id:
/// `[a-z0-9][a-z0-9-]{0,62}`.
bool is_node_id(const std::string& id);

/// Reads the sections `node` and `api` of the document `doc` into `out`,
/// appending every problem found.
void read_node_and_api(object_reader& doc, config& out,
                       std::vector<config_problem>& problems);

/// Reads the section `warehouses` of `doc` into `out`. Returns false when
/// there is no (non-empty) list to check references against.
bool read_warehouses(object_reader& doc, config& out,
                     std::vector<config_problem>& problems);

/// Reads the section `shops` of `doc` into `out`, checking each shop's
/// warehouse entries against `out.warehouses`. `warehouses_known` is false
/// when there is no warehouse list, which silences the checks against it.
void read_shops(object_reader& doc, config& out, bool warehouses_known,
                std::vector<config_problem>& problems);

/// Reads a whole document into `out`, appending every problem found.
void read_document(const json& doc, config& out,
                   std::vector<config_problem>& problems);

} // namespace shelfsync::detail
