#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

/// What the Shopify shop actor and its worker say to each other: the
/// results of the blocking client, flattened into plain aggregates.
namespace shelfsync {

// -- call results ------------------------------------------------------------

/// The shop's bucket as the worker's client believes it after a call.
struct shopify_budget {
  double maximum = 0;
  double available = 0;
  double restore_rate = 0;
};

/// @relates shopify_budget
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_budget& x) {
  return f(caf::meta::type_name("shopify_budget"), x.maximum, x.available,
           x.restore_rate);
}

/// How one call of the client ended (shopify::call_status, flattened).
struct shopify_call {
  /// A shopify::outcome.
  uint8_t kind = 0;
  std::string code;
  std::string message;
  int32_t http_status = 0;
  bool may_have_applied = false;
  bool needs_new_key = false;
  /// Shopify's Retry-After or the bucket's wait; -1 when none.
  int64_t retry_after_ms = -1;
  /// HTTP requests the call sent.
  int32_t requests = 0;
  /// Wall time of the call, pacing waits included.
  int64_t latency_us = 0;
  shopify_budget budget;
};

/// @relates shopify_call
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_call& x) {
  return f(caf::meta::type_name("shopify_call"), x.kind, x.code, x.message,
           x.http_status, x.may_have_applied, x.needs_new_key, x.retry_after_ms,
           x.requests, x.latency_us, x.budget);
}

// -- survey: where items are stocked -----------------------------------------

/// The `available` quantity of an item at a location where it is stocked.
struct shopify_level {
  std::string location;
  int64_t available = 0;
};

/// @relates shopify_level
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_level& x) {
  return f(caf::meta::type_name("shopify_level"), x.location, x.available);
}

/// An inventory item as Shopify shows it now.
struct shopify_item {
  std::string id;
  /// False when Shopify no longer knows the id (the mapping is stale).
  bool exists = false;
  bool tracked = false;
  /// Every active level.
  std::vector<shopify_level> levels;
};

/// @relates shopify_item
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_item& x) {
  return f(caf::meta::type_name("shopify_item"), x.id, x.exists, x.tracked,
           x.levels);
}

/// What a lookup by SKU found.
struct shopify_sku {
  std::string sku;
  /// A shopify::sku_status (never `incomplete`: the client pages).
  uint8_t status = 0;
  /// For ambiguous SKUs: "several inventory items have SKU X".
  std::string error;
  /// The item when found.
  shopify_item item;
};

/// @relates shopify_sku
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_sku& x) {
  return f(caf::meta::type_name("shopify_sku"), x.sku, x.status, x.error,
           x.item);
}

/// Asks the worker to look up unmapped SKUs and read known items.
struct shopify_survey {
  std::vector<std::string> lookup;
  std::vector<std::string> read;
};

/// @relates shopify_survey
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_survey& x) {
  return f(caf::meta::type_name("shopify_survey"), x.lookup, x.read);
}

/// The worker's answer to a survey: one entry per SKU and per id asked, in
/// order, when the status is ok.
struct shopify_survey_reply {
  shopify_call status;
  std::vector<shopify_sku> found;
  std::vector<shopify_item> items;
};

/// @relates shopify_survey_reply
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_survey_reply& x) {
  return f(caf::meta::type_name("shopify_survey_reply"), x.status, x.found,
           x.items);
}

// -- push --------------------------------------------------------------------

/// An item at a location, with the quantity to set there.
struct shopify_row {
  std::string item;
  std::string location;
  int64_t quantity = 0;
};

/// @relates shopify_row
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_row& x) {
  return f(caf::meta::type_name("shopify_row"), x.item, x.location, x.quantity);
}

/// One mutation: tracking switched on, activations (without quantity), then
/// the quantities. Resent verbatim, key included, after a lost answer.
struct shopify_push {
  std::string key;
  std::vector<std::string> track;
  std::vector<shopify_row> activate;
  std::vector<shopify_row> rows;
};

/// @relates shopify_push
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_push& x) {
  return f(caf::meta::type_name("shopify_push"), x.key, x.track, x.activate,
           x.rows);
}

/// A userError naming one entry of a push.
struct shopify_push_error {
  /// Index into rows, track or activate.
  uint64_t index = 0;
  std::string code;
  std::string message;
};

/// @relates shopify_push_error
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_push_error& x) {
  return f(caf::meta::type_name("shopify_push_error"), x.index, x.code,
           x.message);
}

/// The worker's answer to a push.
struct shopify_push_reply {
  shopify_call status;
  /// The quantities were written.
  bool applied = false;
  /// Refused rows (nothing of the quantities was written then).
  std::vector<shopify_push_error> row_errors;
  /// userErrors of the quantities naming no row (code, message).
  std::vector<shopify_push_error> errors;
  std::vector<shopify_push_error> tracking_errors;
  std::vector<shopify_push_error> activation_errors;
};

/// @relates shopify_push_reply
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shopify_push_reply& x) {
  return f(caf::meta::type_name("shopify_push_reply"), x.status, x.applied,
           x.row_errors, x.errors, x.tracking_errors, x.activation_errors);
}

} // namespace shelfsync
