#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "channels/shopify/api_version.hpp"
#include "net/message.hpp"
#include "net/server.hpp"
#include "simulators/random_faults.hpp"
#include "simulators/shopify/schema.hpp"
#include "simulators/shopify/store.hpp"

/// A faithful local Shopify Admin GraphQL endpoint for tests and
/// `shelfsync sim`: several shops on one server, the real paths, token
/// authentication, real GraphQL parsing, validation and cost calculation,
/// a leaky bucket per shop, idempotency keys, fault switches, and an
/// inspection API under /_sim/shopify/.
namespace shelfsync::shopify {

// -- configuration -----------------------------------------------------------

/// The leaky bucket of one shop (Standard plan by default).
struct sim_bucket_config {
  double maximum = 2000;
  double restore_rate = 100;
};

/// Where in the handling of a request a fault strikes.
enum class fault_point {
  /// Before anything is applied: the request has no effect.
  before_apply,
  /// After the request was applied: only the answer is lost or replaced.
  after_apply,
};

/// "before_apply" or "after_apply".
const char* to_string(fault_point p);

/// The fault switches of one shop. The random faults strike the GraphQL
/// requests that reach execution (valid documents; `mutations_only`
/// applies); a throttle finds the bucket empty (another client of the store
/// spent it) and answers THROTTLED in the shape `throttle_with_429` selects;
/// fail and drop strike before or after applying, half each.
struct sim_faults : http::random_faults {
  /// Answer every GraphQL request THROTTLED (the bucket is drained).
  bool throttle_all = false;
  /// Throttle with HTTP 429 and Retry-After instead of Shopify's usual HTTP
  /// 200 THROTTLED body.
  bool throttle_with_429 = false;
  /// The next N GraphQL requests get `fail_status`.
  int fail_next = 0;
  int fail_status = 503;
  fault_point fail_when = fault_point::before_apply;
  /// The connection of the next N GraphQL requests is closed unanswered.
  int drop_next = 0;
  fault_point drop_when = fault_point::before_apply;
  /// Every answer is held back this long (the request is applied at once).
  std::chrono::milliseconds delay{0};
  /// The fail and drop switches strike mutations only: queries (lookups,
  /// reads) pass and do not use them up. For aiming a fault at a push.
  bool mutations_only = false;
};

/// How many faults the simulator injected, by kind (fault switches only;
/// natural throttling from the bucket is not counted).
using sim_fault_counts = http::fault_counts;

/// One GraphQL request as the shop received it.
struct sim_request_record {
  /// Arrival, RFC 3339 with milliseconds.
  std::string at;
  std::string api_version;
  std::string operation_name;
  /// Root fields, e.g. {"inventoryItemUpdate", "inventorySetQuantities"}.
  std::vector<std::string> operations;
  /// Quantity rows across inventorySetQuantities fields.
  size_t rows = 0;
  std::vector<std::string> idempotency_keys;
  /// ok, user_errors, replayed, throttled, graphql_error, unauthorized,
  /// server_error, bad_request, dropped.
  std::string answer;
  /// before_apply / after_apply for dropped and server_error answers.
  std::string fault;
  int status = 0;
  /// True when the request changed the shop's inventory.
  bool applied = false;
  double requested_cost = 0;
  std::optional<double> actual_cost;
  /// The request's User-Agent (a shelfsync cluster node names itself in
  /// it); empty when none was sent.
  std::string user_agent;
};

/// Settings of the whole simulator.
struct simulator_options {
  /// Requests naming an unknown or malformed version fall forward to this,
  /// as Shopify falls forward to its oldest supported version.
  api_version oldest_supported{2025, 10};
};

// -- simulator ---------------------------------------------------------------

/// The simulator. Thread-safe: handle() may be called from any I/O thread.
class simulator {
 public:
  explicit simulator(simulator_options opts = {});
  ~simulator();

  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  // -- shops and data ------------------------------------------------------

  /// Creates (or reconfigures) a shop; `default` is the one at /admin/api.
  void add_shop(const std::string& shop, std::string access_token,
                sim_bucket_config bucket = {});

  /// Applies a seed document (the body of POST /_sim/shopify/{shop}/seed):
  /// `{"access_token", "bucket": {"maximum", "restore_rate"},
  ///   "locations": [{"id"?, "name"?, "active"?}],
  ///   "items": [{"id"?, "sku", "tracked"?, "non_mutable"?,
  ///              "levels": {"<location id>": available, ...},
  ///              "inactive_levels": ["<location id>", ...]}]}`.
  /// An item with a known `id` is updated (quantities change "behind
  /// shelfsync's back", recorded in the history); without `id` it is new,
  /// so duplicate SKUs can be seeded. Returns the ids created, or
  /// `{"error": "..."}` naming the offending entry.
  sim::json seed(const std::string& shop, const sim::json& doc);

  /// Adds a location; returns its id.
  std::string add_location(const std::string& shop, std::string name,
                           std::string id = {});

  /// Adds an item stocked at `levels` (location id → available); returns its
  /// id.
  std::string add_item(const std::string& shop, std::string sku, bool tracked,
                       const std::map<std::string, int64_t>& levels = {},
                       bool non_mutable = false);

  /// Sets a level as a point-of-sale edit would (activating it if needed).
  void set_available(const std::string& shop, const std::string& item_id,
                     const std::string& location_id, int64_t available);

  /// A copy of the shop's inventory; empty store for an unknown shop.
  sim::store inventory(const std::string& shop) const;

  // -- faults and bucket ---------------------------------------------------

  void set_faults(const std::string& shop, sim_faults f);
  sim_faults faults(const std::string& shop) const;
  /// The faults injected into the shop's requests so far.
  sim_fault_counts injected(const std::string& shop) const;
  /// Sets the points currently available in the shop's bucket.
  void set_bucket_available(const std::string& shop, double points);

  // -- inspection ----------------------------------------------------------

  /// GET /_sim/shopify/{shop}/levels: per item (sku, id, tracked) and
  /// location: available, on_hand, active, writes and history.
  sim::json levels(const std::string& shop) const;
  /// GET /_sim/shopify/{shop}/requests as records.
  std::vector<sim_request_record> requests(const std::string& shop) const;
  /// Forgets the recorded requests.
  void clear_requests(const std::string& shop);

  // -- HTTP ----------------------------------------------------------------

  /// Answers `req` through `r` (possibly later, from the simulator's timer
  /// thread) when its path belongs to the simulator:
  /// `[/{shop}]/admin/api/{version}/graphql.json` and `/_sim/shopify/...`.
  /// Returns false, leaving `r` untouched, for any other path.
  bool handle(http::request& req, http::responder& r);

 private:
  struct shop_state;
  struct reply;
  struct timer;

  reply answer(const http::request& req);
  reply graphql(shop_state& shop, const std::string& version_text,
                const http::request& req);
  reply inspect(const std::string& rest, const http::request& req);
  shop_state* find(const std::string& shop);
  const shop_state* find(const std::string& shop) const;
  shop_state& ensure(const std::string& shop);

  simulator_options opts_;
  mutable std::mutex mtx_;
  std::map<std::string, std::unique_ptr<shop_state>> shops_;
  std::unique_ptr<timer> timer_;
};

/// A simulator served on its own loopback http::server, for tests.
class simulator_server {
 public:
  /// Starts serving `sim` (which must outlive this) on `opts`.
  explicit simulator_server(simulator& sim, http::server_options opts = {});
  ~simulator_server();

  /// The bound port.
  uint16_t port() const;
  /// `http://127.0.0.1:<port>/<shop>`, or without the path for `default`.
  std::string shop_url(const std::string& shop) const;
  /// Stops the server (idempotent).
  void stop();

 private:
  std::unique_ptr<http::server> server_;
  std::string host_;
};

} // namespace shelfsync::shopify
