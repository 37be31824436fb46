#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "channels/shopify/api_version.hpp"
#include "simulators/shopify/graphql.hpp"
#include "simulators/shopify/schema.hpp"
#include "simulators/shopify/store.hpp"

namespace shelfsync::shopify::sim {

/// What a shop remembers of a mutation run under an idempotency key.
struct idempotency_record {
  /// The mutation field, e.g. "inventorySetQuantities".
  std::string field;
  /// Its arguments, canonical JSON: a replay must match them exactly.
  std::string arguments;
  /// The payload snapshot the first run answered with.
  json payload;
  /// Until then the first run counts as still in progress (its answer is
  /// being delayed), and a retry gets IDEMPOTENCY_CONCURRENT_REQUEST.
  std::chrono::steady_clock::time_point ready_at;
};

/// The shop state an execution reads and writes.
struct execution_env {
  store& inventory;
  std::map<std::string, idempotency_record>& idempotency;
  api_version version;
  std::chrono::steady_clock::time_point now;
  /// How long the answer to this request will be held back.
  std::chrono::milliseconds answer_delay{0};
};

/// The result of executing one operation.
struct execution {
  /// The `data` object (keys in selection order).
  json data;
  /// Field errors raised during execution (with `data.<field>: null`).
  json errors = json::array();
  /// Shopify's `actualQueryCost`.
  double actual_cost = 0;
  /// Root fields run, e.g. {"inventorySetQuantities"}.
  std::vector<std::string> root_fields;
  /// Idempotency keys seen on mutation fields.
  std::vector<std::string> idempotency_keys;
  /// Quantity rows in inventorySetQuantities inputs.
  size_t rows = 0;
  /// Some mutation answered with userErrors.
  bool user_errors = false;
  /// Some mutation answer was replayed from its idempotency key.
  bool replayed = false;
  /// Some mutation changed the store.
  bool wrote = false;
};

/// Executes a validated operation with coerced variables.
execution execute(const schema& s, const graphql::document& doc,
                  const graphql::operation& op, const json& variables,
                  execution_env& env);

} // namespace shelfsync::shopify::sim
