#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "channels/shopify/api_version.hpp"
#include "channels/shopify/bucket.hpp"
#include "channels/shopify/wire.hpp"
#include "net/client.hpp"

namespace shelfsync::shopify {

// -- configuration -----------------------------------------------------------

/// How to reach one shop.
struct client_config {
  /// `https://{shop}.myshopify.com`, or `http://127.0.0.1:{port}/{shop}` for
  /// the simulator.
  std::string shop_url;
  /// The Admin API access token; sent as X-Shopify-Access-Token and never
  /// logged or put in a message.
  std::string access_token;
  /// Sent as User-Agent when not empty (else the HTTP client's own); a
  /// cluster node names itself in it.
  std::string user_agent;
  api_version version = api_version::default_version();
  read_options reads;
  http::client_options http;
  /// Before each request the client waits, up to this long, until the
  /// bucket model says the request will not be THROTTLED. A longer wait is
  /// answered `throttled` without sending, for the caller to schedule.
  std::chrono::milliseconds max_pacing_wait{std::chrono::seconds{2}};
};

// -- results -----------------------------------------------------------------

/// How a call ended, as the caller must react to it.
enum class outcome {
  /// Shopify answered the operation (row-level userErrors may still be in
  /// the result).
  ok,
  /// Not enough query cost points: retry after `retry_after`. Nothing was
  /// applied.
  throttled,
  /// A transient failure (5xx, timeout, dropped connection, concurrent use
  /// of an idempotency key): retry with backoff. See `may_have_applied`.
  retryable,
  /// Retrying the same request cannot help: bad token (401), missing scope
  /// (403), unknown shop (404), GraphQL validation errors, an invalid push.
  permanent,
};

/// The name of an outcome, e.g. "retryable".
const char* to_string(outcome o);

/// The classified end of one call.
struct call_status {
  outcome kind = outcome::ok;
  /// What happened, for logs and the product's `error.message`; never
  /// contains the token.
  std::string message;
  /// The error code for the product's `error.code`: a GraphQL or userError
  /// code, "HTTP_<status>", or a transport error kind.
  std::string code;
  /// The HTTP status of the last answer; 0 when none arrived.
  int http_status = 0;
  /// For retryable failures of a push: Shopify may have applied it (the
  /// answer was lost). Retry with the same push_request (same key) so that
  /// it is applied once.
  bool may_have_applied = false;
  /// For a retryable push: the key cannot be reused; build a new key.
  bool needs_new_key = false;
  /// For throttled: Shopify's Retry-After, or the time the bucket needs.
  std::optional<std::chrono::milliseconds> retry_after;
  /// Top-level GraphQL errors of the last answer.
  std::vector<graphql_error> errors;
  /// `extensions.cost` of the last answer.
  std::optional<query_cost> cost;
  /// Requests sent by this call.
  int requests = 0;

  /// True for outcome::ok.
  bool ok() const { return kind == outcome::ok; }
};

/// The result of lookup_skus().
struct lookup_result {
  call_status status;
  /// One per SKU asked, in order, when ok.
  std::vector<sku_match> matches;
};

/// The result of read_levels().
struct read_result {
  call_status status;
  /// One per id asked, in order, when ok; complete levels.
  std::vector<item_read> items;
};

/// The result of push().
struct push_result {
  call_status status;
  /// What Shopify said per field, when ok. `outcome.applied` false with
  /// row_errors means nothing of the quantities was written: each named row
  /// is refused for good (INVALID_INVENTORY_ITEM: the mapping is stale;
  /// ITEM_NOT_STOCKED_AT_LOCATION: activate first;
  /// NON_MUTABLE_INVENTORY_ITEM, INVALID_LOCATION: report); resend the
  /// other rows with a new key.
  push_outcome outcome;
};

// -- client ------------------------------------------------------------------

/// A blocking client for one shop's Admin GraphQL API. Paces itself by its
/// bucket model. Owned by one thread; not thread-safe.
class client {
 public:
  /// Throws std::invalid_argument naming what is wrong with `cfg` (see
  /// check()).
  explicit client(client_config cfg);

  /// Why `cfg` cannot be used, or empty.
  static std::string check(const client_config& cfg);

  /// Finds the inventory items of SKUs by exact match (several requests
  /// when more SKUs are asked than fit in one, or Shopify's loose search
  /// needs paging), with tracking and the levels where each is stocked.
  lookup_result lookup_skus(const std::vector<std::string>& skus);

  /// Reads tracking and every level of known items (rule 5: learn where an
  /// item is stocked with each update).
  read_result read_levels(const std::vector<std::string>& item_ids);

  /// Sends one push (see push_request). Invalid pushes are refused as
  /// permanent without sending.
  push_result push(const push_request& p);

  // -- pacing ----------------------------------------------------------------

  /// The shop's bucket as the client believes it.
  bucket_model& bucket() { return bucket_; }
  /// Estimated requested cost of looking up `skus` SKUs in one request.
  double lookup_cost_estimate(size_t skus) const;
  /// Estimated requested cost of reading `items` items in one request.
  double read_cost_estimate(size_t items) const;
  /// Estimated requested cost of `p`.
  double push_cost_estimate(const push_request& p) const;
  /// Most SKUs one lookup request can carry.
  size_t max_lookup_batch() const;
  /// Most ids one read request can carry.
  size_t max_read_batch() const;

  /// The endpoint, e.g.
  /// "https://x.myshopify.com/admin/api/2026-10/graphql.json".
  std::string endpoint() const;

 private:
  /// Sends one GraphQL request with pacing; fills `status` and returns the
  /// parsed answer when the operation ran (status ok).
  std::optional<graphql_answer> call(const graphql_request& req,
                                     request_kind kind, double formula,
                                     bool mutation, call_status& status);

  client_config cfg_;
  http::client http_;
  bucket_model bucket_;
  cost_estimator costs_;
};

} // namespace shelfsync::shopify
