#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "channels/shopify/api_version.hpp"

/// The one place where shelfsync's Shopify GraphQL documents and variables
/// are built and Shopify's answers are parsed. No I/O here.
namespace shelfsync::shopify {

// -- requests ----------------------------------------------------------------

/// A GraphQL request: the POST body of /admin/api/{version}/graphql.json.
struct graphql_request {
  std::string operation_name;
  std::string query;
  nlohmann::json variables = nlohmann::json::object();

  /// `{"query": ..., "variables": ..., "operationName": ...}`.
  std::string body() const;
};

// -- answers -----------------------------------------------------------------

/// `extensions.cost.throttleStatus`.
struct throttle_status {
  double maximum_available = 0;
  double currently_available = 0;
  double restore_rate = 0;
};

/// `extensions.cost`.
struct query_cost {
  double requested = 0;
  /// Null when the query did not run (THROTTLED).
  std::optional<double> actual;
  throttle_status throttle;
};

/// One entry of the top-level `errors` array.
struct graphql_error {
  std::string message;
  /// `extensions.code`, e.g. THROTTLED, INVALID_VARIABLE, undefinedField.
  std::string code;
  /// `path`, or null.
  nlohmann::json path;
};

/// One `userErrors` entry.
struct user_error {
  /// `field`, e.g. {"input", "quantities", "3", "locationId"}; empty when
  /// null.
  std::vector<std::string> field;
  std::string message;
  /// Empty for mutations whose userErrors have no code.
  std::string code;
};

/// A parsed answer body.
struct graphql_answer {
  /// `data`, or null when absent.
  nlohmann::json data;
  std::vector<graphql_error> errors;
  std::optional<query_cost> cost;

  /// True when Shopify refused the query for lack of points.
  bool throttled() const;
  /// The error with `extensions.code` equal to `code`, or null.
  const graphql_error* find_error(std::string_view code) const;
};

/// Parses an answer body; on failure returns nullopt and says why.
std::optional<graphql_answer> parse_answer(std::string_view body,
                                           std::string* why = nullptr);

// -- inventory state ---------------------------------------------------------

/// The `available` quantity of an item at one location where it is stocked.
struct level_state {
  std::string location_id;
  int64_t available = 0;
};

/// An inventory item and where it is stocked.
struct item_state {
  std::string id;
  std::string sku;
  bool tracked = false;
  std::vector<level_state> levels;
  /// False when Shopify has more levels than were read; then
  /// `levels_cursor` is the `after` for levels_page_request().
  bool levels_complete = true;
  std::string levels_cursor;
};

/// Page sizes of the reads. A level costs 2 points (the level and its
/// location); each read reserves `levels_first` levels per item, so keep
/// it near the shop's number of locations: more levels are paged.
struct read_options {
  int levels_first = 25;
  /// Items per SKU search; 2 is enough to see a duplicate.
  int matches_first = 2;
};

// -- (a) SKU lookup ----------------------------------------------------------

/// What a SKU lookup found.
enum class sku_status {
  /// Exactly one item has exactly this SKU.
  found,
  /// No item has exactly this SKU.
  not_found,
  /// Several inventory items have exactly this SKU.
  ambiguous,
  /// Shopify's loose search returned more candidates than were read and
  /// fewer than two exact matches among them: page with
  /// sku_candidates_request() to decide.
  incomplete,
};

/// The result for one SKU.
struct sku_match {
  std::string sku;
  sku_status status = sku_status::not_found;
  /// The item when found.
  item_state item;
  /// Ids of the items whose SKU matches exactly (any status).
  std::vector<std::string> exact_ids;
  /// For `incomplete`: the `after` cursor of the next candidates page.
  std::string cursor;
  /// For `ambiguous`: "several inventory items have SKU X".
  std::string error;
};

/// Looks up several SKUs in one query, one aliased `inventoryItems` search
/// per SKU (`s0`, `s1`, ...).
graphql_request lookup_request(const std::vector<std::string>& skus,
                               const read_options& opts = {});

/// Reads a lookup answer; one match per requested SKU, in order. The
/// comparison is exact (case and whitespace count).
std::vector<sku_match> parse_lookup(const graphql_answer& a,
                                    const std::vector<std::string>& skus);

/// The next page of items whose SKU loosely matches `sku` (ids and SKUs
/// only, 50 per page).
graphql_request sku_candidates_request(const std::string& sku,
                                       const std::string& after);

/// Reads a candidates page: the exactly matching ids, and the cursor of the
/// next page (empty when this was the last).
std::vector<std::string> parse_sku_candidates(const graphql_answer& a,
                                              const std::string& sku,
                                              std::string& next_cursor);

// -- (b) current levels ------------------------------------------------------

/// Reads tracking and levels of known items in one `nodes(ids:)` query.
graphql_request read_levels_request(const std::vector<std::string>& item_ids,
                                    const read_options& opts = {});

/// One item of a read: null `item` when Shopify no longer knows the id.
struct item_read {
  std::string id;
  std::optional<item_state> item;
};

/// Reads a read-levels answer; one entry per requested id, in order.
std::vector<item_read> parse_read_levels(const graphql_answer& a,
                                         const std::vector<std::string>& ids);

/// The next page of one item's levels.
graphql_request levels_page_request(const std::string& item_id,
                                    const std::string& after, int first = 250);

/// Appends a levels page to `item` (updating completeness and cursor);
/// false when the answer has no such item.
bool parse_levels_page(const graphql_answer& a, item_state& item);

// -- (c) push ----------------------------------------------------------------

/// Shopify's limit on an input array, and so on rows per push.
constexpr size_t max_rows_per_push = 250;

/// The absolute `available` quantity for an item at a location.
struct quantity_row {
  std::string inventory_item_id;
  std::string location_id;
  int64_t quantity = 0;
  /// The quantity the sender believes is there (from 2026-01
  /// `changeFromQuantity`): Shopify refuses the row with
  /// CHANGE_FROM_QUANTITY_STALE when it is not, so a push based on an
  /// outdated value cannot overwrite a newer one. Unset: sent as null (no
  /// compare), as one node does.
  std::optional<int64_t> change_from;
};

/// Stocking an item at a location where it is not stocked yet.
struct activation {
  std::string inventory_item_id;
  std::string location_id;
  /// Leave empty and put the quantity in a row of the same push: activating
  /// with a quantity fails if someone stocked the item meanwhile, while an
  /// activation without one is harmless then (the rows run after it).
  std::optional<int64_t> available;
};

/// One request's worth of changes to a shop: tracking switched on, then
/// activations, then the quantities, as aliased root fields of one mutation
/// (mutation fields run in order).
struct push_request {
  /// Base idempotency key: the quantities use it as is, activation i uses
  /// `<key>.a<i>`. Retry a push with the same key only if it is unchanged.
  std::string idempotency_key;
  /// Items to switch tracking on for.
  std::vector<std::string> track;
  std::vector<activation> activate;
  /// At most 250, never the same item and location twice.
  std::vector<quantity_row> quantities;
  /// Optional `referenceDocumentUri`, e.g. "shelfsync://push/<key>".
  std::string reference_document_uri;
};

/// Why `p` cannot be sent for version `v`, or empty when it can.
std::string check_push(const push_request& p, api_version v);

/// The push mutation for version `v`: before 2026-01 `ignoreCompareQuantity:
/// true` (or, when every row has `change_from`, `compareQuantity` on each);
/// from 2026-01 `changeFromQuantity` on every row (the row's `change_from`,
/// or null) and `@idempotent` on inventorySetQuantities and
/// inventoryActivate.
graphql_request push_request_document(const push_request& p, api_version v);

/// A userError of the quantities that names one row.
struct row_error {
  /// Index into push_request::quantities.
  size_t row = 0;
  user_error error;
};

/// A change Shopify reports.
struct inventory_change {
  std::string name;
  int64_t delta = 0;
  std::string inventory_item_id;
  std::string location_id;
};

/// What a push answer says, field by field.
struct push_outcome {
  /// The quantities were written (no userErrors). Also true when Shopify
  /// answered with no adjustment group because nothing changed.
  bool applied = false;
  std::string adjustment_group_id;
  std::vector<inventory_change> changes;
  /// userErrors naming a row: nothing of the quantities was written.
  std::vector<row_error> row_errors;
  /// Other userErrors of the quantities (idempotency, name, reason).
  std::vector<user_error> errors;
  /// userErrors of tracking, per item id.
  std::vector<std::pair<std::string, user_error>> tracking_errors;
  /// userErrors of activations, per index into push_request::activate.
  std::vector<std::pair<size_t, user_error>> activation_errors;
};

/// Reads a push answer.
push_outcome parse_push(const graphql_answer& a, const push_request& p);

// -- cost estimates ----------------------------------------------------------

/// requestedQueryCost of lookup_request() for `skus` SKUs.
double lookup_cost(size_t skus, const read_options& opts = {});
/// requestedQueryCost of read_levels_request() for `items` ids.
double read_levels_cost(size_t items, const read_options& opts = {});
/// requestedQueryCost of push_request_document() for a push carrying
/// `setup_fields` tracking switches and activations, and `rows` quantities.
/// The one place the cost of a push is computed.
double push_cost(size_t setup_fields, size_t rows);
/// requestedQueryCost of push_request_document().
double push_cost(const push_request& p);

/// Shopify's limit on the requested cost of one query.
constexpr double max_query_cost = 1000;

/// The most tracking switches plus activations one push carrying rows may
/// hold for its push_cost to stay within `max_cost` (at least one, so that
/// a push can always go out). Every push is cut by it: single-node rounds
/// and the cluster's shop drivers alike.
size_t max_setup_fields(double max_cost = max_query_cost);

} // namespace shelfsync::shopify
