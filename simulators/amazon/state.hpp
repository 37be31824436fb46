#pragma once

// The simulator's private state, shared by simulator.cpp (routing, faults,
// inspection), auth.cpp (LWA, access tokens) and feeds_api.cpp
// (Feeds and Listings Items operations). Not part of the public API.

#include <array>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "simulators/amazon/simulator.hpp"

namespace shelfsync::amazon::sim {

/// A feed or report document.
struct document {
  std::string id;
  std::string seller;
  std::string content_type;
  std::string body;
  bool uploaded = false;
  /// A processing report written by the simulator (else an input feed).
  bool report = false;
  bool gzip = false;
  rate_clock::time_point url_expires{};
};

/// A feed and where it is in its life.
struct feed {
  std::string id;
  std::string seller;
  std::string input_document;
  std::string result_document;
  std::vector<std::string> marketplaces;
  rate_clock::time_point created{};
  rate_clock::time_point start{};
  rate_clock::time_point end{};
  std::optional<processing_status> forced;
  processing_status status = processing_status::in_queue;
  bool finished = false;
  size_t messages = 0;
  size_t accepted = 0;
  size_t invalid = 0;
  std::vector<std::string> validation_issues;
  std::string body;
};

/// An issued access token.
struct access_token {
  std::string seller;
  rate_clock::time_point expires{};
};

/// Everything about one seller account.
struct seller_state {
  sim_seller account;
  listing_store listings;
  failure_table failures;
  std::array<std::optional<token_bucket>, operation_count> buckets;
  /// When the last queued feed of this seller finishes processing.
  rate_clock::time_point queue_end{};
};

/// Sends answers later, from its own thread, so that handlers never block.
class delayed_sender {
 public:
  delayed_sender() = default;
  ~delayed_sender();

  /// Sends `res` through `r` after `delay`; drops the connection instead
  /// when `res` is empty.
  void post(std::chrono::milliseconds delay, http::responder r,
            std::optional<http::response> res);

 private:
  void run();

  struct item {
    http::responder r;
    std::optional<http::response> res;
  };
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::multimap<std::chrono::steady_clock::time_point, item> queue_;
  std::thread thread_;
};

/// An answer, or the instruction to drop the connection.
struct reply {
  std::optional<http::response> res;
};

/// The request's path split from its query, with the query's parameters.
struct parsed_target {
  std::string path;
  std::map<std::string, std::string> query;
};

/// The SP-API operation a request asks for, with the arguments its path
/// carries (feed or document id; seller id and SKU).
struct routed_operation {
  std::optional<operation> op;
  std::string arg;
  std::string arg2;
};

/// Which operation `method` on `path` is; no `op` when it is none.
routed_operation route(http::verb method, const std::string& path);

/// Splits and percent-decodes a request target.
parsed_target parse_target(std::string_view target);

/// Percent-decodes `text` ('+' stays '+').
std::string percent_decode(std::string_view text);

/// Parses an application/x-www-form-urlencoded body ('+' is a space).
std::map<std::string, std::string> parse_form(std::string_view body);

// -- response shapes ----------------------------------------------------------

/// An SP-API error answer: `{"errors":[{"code","message","details"}]}`.
http::response sp_error(http::status status, std::string_view code,
                        std::string_view message,
                        std::string_view details = "");

/// An SP-API JSON answer; `rate` > 0 adds x-amzn-RateLimit-Limit.
http::response sp_json(http::status status, const nlohmann::json& body,
                       double rate = 0);

/// A random x-amzn-RequestId-like value.
std::string request_id();

/// 429 QuotaExceeded exactly as SP-API sends it (no rate header).
http::response quota_exceeded();

/// 403 Unauthorized exactly as SP-API sends it.
http::response unauthorized();

} // namespace shelfsync::amazon::sim

namespace shelfsync::amazon {

struct simulator::state {
  explicit state(simulator_config config);

  simulator_config cfg;
  mutable std::mutex mtx;
  std::map<std::string, sim::seller_state> sellers;
  std::map<std::string, sim::access_token> tokens;
  std::map<std::string, sim::document> documents;
  std::vector<sim::feed> feeds;
  std::map<std::string, size_t> feed_index;
  /// getFeeds' nextToken: the filters and where the next page starts.
  struct feeds_page {
    std::map<std::string, std::string> query;
    size_t offset = 0;
  };
  std::map<std::string, feeds_page> feed_pages;
  sim_faults faults;
  /// Draws the random faults (seeded from faults.random_seed).
  std::mt19937_64 fault_rng{0};
  sim_fault_counts injected;
  std::deque<sim_request_view> log;
  std::mt19937_64 rng;
  uint64_t next_feed_number = 50001000001;
  uint64_t tokens_issued = 0;
  rate_clock::time_point steady_origin;
  std::chrono::system_clock::time_point wall_origin;
  sim::delayed_sender sender;

  /// The simulated present.
  rate_clock::time_point now() const;

  /// `t` as ISO-8601 UTC with milliseconds.
  std::string iso_time(rate_clock::time_point t) const;

  /// `n` random characters from [0-9a-z].
  std::string random_text(size_t n);

  /// Finishes feeds whose time has come (lock held).
  void advance_locked();

  /// The status getFeed reports for `f` now.
  processing_status status_of(const sim::feed& f) const;

  /// `f` as the inspection API shows it (without the body).
  sim_feed_view view(const sim::feed& f) const;

  /// Processes one feed at the end of its processing time.
  void finish(sim::feed& f);

  /// Takes a token of `op` from the seller's bucket; false means 429.
  bool take(sim::seller_state& s, operation op);

  /// The seller behind the request's x-amz-access-token, or null.
  sim::seller_state* authenticate(const http::request& req);

  // -- handlers (lock held)
  // -----------------------------------------------------

  /// POST /auth/o2/token.
  http::response lwa_token(const http::request& req);
  /// POST /feeds/2021-06-30/documents.
  http::response create_feed_document(sim::seller_state& s,
                                      const http::request& req);
  /// PUT /_sim/amazon/uploads/{id}.
  http::response upload(const std::string& id, const http::request& req);
  /// GET /_sim/amazon/downloads/{id}.
  http::response download(const std::string& id);
  /// POST /feeds/2021-06-30/feeds.
  http::response create_feed(sim::seller_state& s, const http::request& req);
  /// GET /feeds/2021-06-30/feeds/{id}.
  http::response get_feed(sim::seller_state& s, const std::string& id);
  /// GET /feeds/2021-06-30/feeds.
  http::response get_feeds(sim::seller_state& s,
                           const sim::parsed_target& target);
  /// The Feed object of getFeed and getFeeds.
  nlohmann::json feed_json(const sim::feed& f) const;
  /// DELETE /feeds/2021-06-30/feeds/{id}.
  http::response cancel_feed(sim::seller_state& s, const std::string& id);
  /// GET /feeds/2021-06-30/documents/{id}.
  http::response get_feed_document(sim::seller_state& s, const std::string& id,
                                   const http::request& req);
  /// PATCH /listings/2021-08-01/items/{sellerId}/{sku}.
  http::response patch_listings_item(sim::seller_state& s,
                                     const std::string& seller_id,
                                     const std::string& sku,
                                     const sim::parsed_target& target,
                                     const http::request& req);
  /// Routes an authenticated SP-API request.
  http::response sp_api(const sim::parsed_target& target,
                        const http::request& req);
  /// The /_sim/amazon/ control and inspection endpoints (lock held).
  http::response control(const sim::parsed_target& target,
                         const http::request& req);
  /// The base URL for presigned URLs, from the request's Host header.
  std::string origin(const http::request& req) const;
};

} // namespace shelfsync::amazon
