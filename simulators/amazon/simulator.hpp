#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "channels/amazon/feed_client.hpp"
#include "channels/amazon/rate_limit.hpp"
#include "net/message.hpp"
#include "net/server.hpp"
#include "simulators/amazon/processing.hpp"
#include "simulators/random_faults.hpp"

namespace shelfsync::amazon {

// -- configuration
// ----------------------------------------------------------------

/// A seller account the simulator knows, with its LWA credentials.
struct sim_seller {
  std::string seller_id;
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;
};

/// How the simulated Amazon behaves.
struct simulator_config {
  std::vector<sim_seller> sellers;
  /// Time a feed spends IN_QUEUE, then IN_PROGRESS. Feeds of one seller are
  /// processed one after the other, as on Amazon. Real feeds take 15 minutes
  /// to hours; the defaults keep a demo moving.
  std::chrono::milliseconds queue_delay{1000};
  std::chrono::milliseconds processing_delay{4000};
  /// Lifetime of an access token (Amazon: 3600 s).
  std::chrono::seconds access_token_ttl{3600};
  /// Lifetime of presigned upload and download URLs (Amazon: 300 s).
  std::chrono::seconds url_ttl{300};
  /// Answer 429 QuotaExceeded when a seller's bucket for an operation is
  /// empty (rates below, per seller).
  bool rate_limits = true;
  rate_table rates = default_rates();
  /// Serve processing reports gzip-compressed (compressionAlgorithm GZIP).
  bool gzip_reports = false;
  /// The clock; replaceable so that tests can move time. Defaults to
  /// steady_clock::now.
  std::function<rate_clock::time_point()> now;
};

/// Faults to inject. Counters count down with each request they apply to.
/// The random faults strike the requests that `path_prefix` selects and no
/// counter struck: drop any Amazon path (LWA, SP-API, uploads), before or
/// after the request is carried out (half each); fail (`fail_status` with
/// SP-API's InternalFailure error list) SP-API operations only, as LWA and
/// S3 answer errors in other shapes; throttle (429 QuotaExceeded) only
/// SP-API operations allowing at least 0.5 requests/s: on createFeed or
/// getFeedDocument a 429 costs a client that honours Amazon's rates a
/// minute or more, far longer than a test can wait.
struct sim_faults : http::random_faults {
  /// Only requests whose path starts with this are affected; empty means all
  /// Amazon requests (LWA, SP-API, uploads, downloads), never the /_sim/
  /// control and inspection endpoints.
  std::string path_prefix;
  /// The next N requests answer `fail_status` with an InternalFailure body.
  uint32_t fail_next = 0;
  int fail_status = 503;
  /// The next N requests answer 429 QuotaExceeded.
  uint32_t throttle_next = 0;
  /// The next N requests get their connection closed without an answer,
  /// before anything is done.
  uint32_t drop_next = 0;
  /// The next N requests are carried out, then their connection is closed
  /// without an answer (the client cannot know it worked).
  uint32_t drop_after_next = 0;
  /// The next `delay_next` answers are sent `delay` late.
  std::chrono::milliseconds delay{0};
  uint32_t delay_next = 0;
  /// The next createFeed makes a feed that ends FATAL or CANCELLED.
  std::optional<processing_status> next_feed;
};

/// How many faults the simulator injected, by kind (counters and random).
using sim_fault_counts = http::fault_counts;

// -- inspection
// -------------------------------------------------------------------

/// A feed as the simulator saw it.
struct sim_feed_view {
  std::string feed_id;
  std::string seller_id;
  processing_status status = processing_status::in_queue;
  std::string input_document_id;
  std::string result_document_id;
  size_t messages = 0;
  size_t accepted = 0;
  size_t invalid = 0;
  /// Schema or consistency problems found in the document.
  std::vector<std::string> validation_issues;
  /// The uploaded document, as received.
  std::string body;
};

/// One request the simulator received.
struct sim_request_view {
  std::string method;
  /// Path without the query.
  std::string path;
  int status = 0; // 0 when the connection was dropped
  /// Arrival, RFC 3339 UTC with milliseconds (the wall clock).
  std::string at;
  /// The User-Agent header (a shelfsync cluster node names itself in it);
  /// empty when none was sent.
  std::string user_agent;
};

// -- simulator
// --------------------------------------------------------------------

/// A faithful in-process simulation of the parts of Amazon shelfsync uses:
/// LWA's token endpoint, Feeds API 2021-06-30 (createFeedDocument, the
/// presigned upload, createFeed, getFeed, getFeeds, cancelFeed,
/// getFeedDocument, the report download), patchListingsItem, per-seller token
/// buckets, fault injection and inspection endpoints under /_sim/amazon/.
/// Thread-safe.
class simulator {
 public:
  explicit simulator(simulator_config cfg);
  ~simulator();

  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  /// Answers `req` through `r` when its path belongs to Amazon (/auth/o2/,
  /// /feeds/2021-06-30/, /listings/2021-08-01/, /_sim/amazon/) and returns
  /// true; returns false, without answering, for any other path, so that
  /// several simulators can share one http::server. Never blocks: delayed
  /// answers are sent from the simulator's own thread.
  bool handle(http::request& req, const http::responder& r);

  /// Adds a seller account, or replaces the credentials of a known one.
  /// Also reachable as POST /_sim/amazon/sellers with
  /// {"seller_id", "client_id", "client_secret", "refresh_token"}.
  void add_seller(sim_seller seller);

  /// Replaces the fault settings.
  void set_faults(sim_faults faults);

  /// The current fault settings (with counters as far as they went).
  sim_faults faults() const;

  /// The faults injected so far.
  sim_fault_counts injected() const;

  /// Makes `sku` of `seller_id` fail in the next feeds that carry it.
  void fail_sku(const std::string& seller_id, const std::string& sku,
                sim::sku_failure failure);

  /// Forgets every SKU failure.
  void clear_sku_failures();

  /// Changes the processing delays for feeds created from now on.
  void set_processing_delay(std::chrono::milliseconds queue,
                            std::chrono::milliseconds processing);

  /// Turns gzip-compressed reports on or off for reports written from now.
  void set_gzip_reports(bool on);

  /// Finishes every feed whose processing time has come. Requests do this
  /// too; tests call it after moving their clock.
  void advance();

  /// A seller's listing of `sku`, if any feed or patch created it.
  std::optional<sim::listing> listing(const std::string& seller_id,
                                      const std::string& sku) const;

  /// Every feed received, oldest first.
  std::vector<sim_feed_view> feeds() const;

  /// Every request received (the last 10,000), oldest first.
  std::vector<sim_request_view> requests() const;

  /// Number of access tokens issued so far.
  uint64_t tokens_issued() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// Runs a simulator on its own http::server, for tests and `shelfsync sim`.
/// Paths the simulator does not own answer 404.
class simulator_server {
 public:
  /// Starts listening on `host`:`port` (0 picks a free port).
  explicit simulator_server(simulator& sim, uint16_t port = 0,
                            std::string host = "127.0.0.1");
  ~simulator_server();

  /// The bound port.
  uint16_t port() const;

  /// "http://host:port", the value for endpoint and the base of
  /// lwa_endpoint.
  std::string base_url() const;

  /// Stops the server; idempotent.
  void stop();

 private:
  std::string host_;
  std::unique_ptr<http::server> server_;
  uint16_t port_ = 0;
};

} // namespace shelfsync::amazon
