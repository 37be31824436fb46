#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "channels/amazon/call_result.hpp"
#include "channels/amazon/feed.hpp"
#include "channels/amazon/lwa.hpp"
#include "channels/amazon/rate_limit.hpp"
#include "channels/amazon/report.hpp"
#include "net/client.hpp"
#include "net/url.hpp"

namespace shelfsync::amazon {

// -- values
// ---------------------------------------------------------------------

/// Where and how the client talks to SP-API for one seller.
struct feed_client_options {
  /// SP-API base, e.g. https://sellingpartnerapi-na.amazon.com.
  http::url endpoint;
  /// Marketplaces every feed is submitted for (1..25).
  std::vector<std::string> marketplace_ids;
  /// Sent as User-Agent, in the format SP-API asks for.
  std::string user_agent = "shelfsync/0.1 (Language=C++/17; Platform=Linux)";
  /// Timeouts of every request (SP-API, upload, download).
  http::client_options http;
  /// When the rate model says the next call must wait longer than this, the
  /// call is not made and comes back throttled with retry_after set, so
  /// that the caller's thread is not parked for minutes.
  std::chrono::milliseconds max_pacing_wait{2000};
  /// Largest processing report accepted, after decompression.
  size_t max_report_bytes = 512 * 1024 * 1024;
};

/// The answer of createFeedDocument: where to upload the feed.
struct feed_upload_target {
  std::string feed_document_id;
  /// Presigned URL, valid for 5 minutes; PUT with the same Content-Type.
  std::string url;
};

/// Feed processing states (Feed.processingStatus).
enum class processing_status { in_queue, in_progress, done, cancelled, fatal };

/// Returns "IN_QUEUE", "IN_PROGRESS", "DONE", "CANCELLED" or "FATAL".
std::string_view to_string(processing_status status);

/// Parses the wire name; nullopt for anything else.
std::optional<processing_status> parse_processing_status(std::string_view s);

/// The answer of getFeed.
struct feed_info {
  std::string feed_id;
  std::string feed_type;
  processing_status status = processing_status::in_queue;
  std::vector<std::string> marketplace_ids;
  std::string created_time;
  std::string processing_start_time;
  std::string processing_end_time;
  /// Set at DONE (and sometimes FATAL): the processing report's document.
  std::string result_feed_document_id;

  /// DONE, CANCELLED or FATAL: getFeed need not be asked again.
  bool terminal() const {
    return status == processing_status::done ||
           status == processing_status::cancelled ||
           status == processing_status::fatal;
  }
};

/// The answer of getFeedDocument.
struct feed_document_info {
  std::string feed_document_id;
  /// Presigned URL, valid for 5 minutes.
  std::string url;
  /// compressionAlgorithm was "GZIP".
  bool gzip = false;
};

/// A downloaded processing report: its text and its parsed form.
struct fetched_report {
  std::string text;
  processing_report report;
};

// -- client
// ---------------------------------------------------------------------

/// A blocking Feeds API 2021-06-30 client for one seller, on http::client.
/// Meant for one dedicated thread: not thread-safe, and each call blocks for
/// at most the request timeouts plus max_pacing_wait.
///
/// Every call returns a call_result whose status tells the caller what to
/// do (see call_status). The client itself retries only one thing: a 401 or
/// 403 is answered by dropping the cached LWA token and trying once more
/// with a fresh one. Backoff for everything else belongs to the caller
/// (see backoff.hpp), because only the caller knows its schedule.
class feed_client {
 public:
  /// `lwa` and `limiter` must outlive the client; `limiter` may be null
  /// (no pacing, e.g. in tests that want to provoke 429s).
  feed_client(feed_client_options opts, lwa_client& lwa,
              rate_limiter* limiter = nullptr);
  ~feed_client();

  feed_client(const feed_client&) = delete;
  feed_client& operator=(const feed_client&) = delete;

  /// createFeedDocument: POST /feeds/2021-06-30/documents.
  call_result<feed_upload_target>
  create_feed_document(std::string_view content_type = feed_content_type);

  /// PUT `body` to the upload URL with `content_type` (which must be the
  /// one given to createFeedDocument). No SP-API auth header is sent.
  call_result<done> upload(const feed_upload_target& target,
                           std::string_view content_type, std::string body);

  /// createFeed: POST /feeds/2021-06-30/feeds for JSON_LISTINGS_FEED; the
  /// value is the feedId. Not idempotent: after a retryable failure with
  /// `sent` set, Amazon may have created the feed anyway.
  call_result<std::string> create_feed(const std::string& input_document_id);

  /// createFeedDocument, upload, createFeed in a row; the value is the
  /// feedId. The error is the first step's that failed; its `sent` is set
  /// only when createFeed itself failed and may have created the feed.
  call_result<std::string> submit_feed(std::string body);

  /// getFeed: GET /feeds/2021-06-30/feeds/{feedId}.
  call_result<feed_info> get_feed(const std::string& feed_id);

  /// getFeeds: GET /feeds/2021-06-30/feeds, every page, for the
  /// JSON_LISTINGS_FEED feeds created at or after `created_since_ms`
  /// (milliseconds since the Unix epoch; Amazon serves 90 days back), of
  /// the given statuses (every status when empty).
  call_result<std::vector<feed_info>>
  list_feeds(int64_t created_since_ms,
             const std::vector<processing_status>& statuses = {});

  /// cancelFeed: DELETE /feeds/2021-06-30/feeds/{feedId} (IN_QUEUE only).
  call_result<done> cancel_feed(const std::string& feed_id);

  /// getFeedDocument: GET /feeds/2021-06-30/documents/{feedDocumentId}.
  call_result<feed_document_info>
  get_feed_document(const std::string& document_id);

  /// Downloads a document from its presigned URL, gunzipping it when it is
  /// compressed.
  call_result<std::string> download(const feed_document_info& document);

  /// getFeedDocument, download and parse of a processing report. A report
  /// that cannot be parsed is permanent (code "MalformedReport").
  call_result<fetched_report> fetch_report(const std::string& document_id);

  /// The rate model in use, or null.
  rate_limiter* limiter() const { return limiter_; }

 private:
  call_result<http::response> call(operation op, http::verb method,
                                   std::string target, std::string body);
  std::optional<call_error> pace(operation op);
  call_result<http::response> send_to_url(const std::string& url,
                                          http::request req);

  feed_client_options opts_;
  lwa_client& lwa_;
  rate_limiter* limiter_;
  http::client api_;
  /// Keep-alive clients for upload and download hosts, by origin.
  std::map<std::string, std::unique_ptr<http::client>> others_;
};

/// Splits an absolute URL into its origin (scheme, host, port) and its
/// request target (path and query, at least "/"); nullopt when it is not an
/// http(s) URL.
std::optional<std::pair<http::url, std::string>>
split_url(std::string_view absolute, std::string* error = nullptr);

} // namespace shelfsync::amazon
