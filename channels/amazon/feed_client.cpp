#include "channels/amazon/feed_client.hpp"

#include <ctime>
#include <thread>

#include <nlohmann/json.hpp>

#include "channels/amazon/gzip.hpp"

namespace shelfsync::amazon {

namespace beast_http = boost::beast::http;
using nlohmann::json;

std::string_view to_string(processing_status status) {
  switch (status) {
  case processing_status::in_queue:
    return "IN_QUEUE";
  case processing_status::in_progress:
    return "IN_PROGRESS";
  case processing_status::done:
    return "DONE";
  case processing_status::cancelled:
    return "CANCELLED";
  case processing_status::fatal:
    return "FATAL";
  }
  return "FATAL";
}

std::optional<processing_status> parse_processing_status(std::string_view s) {
  for (auto st : {processing_status::in_queue, processing_status::in_progress,
                  processing_status::done, processing_status::cancelled,
                  processing_status::fatal})
    if (to_string(st) == s) return st;
  return std::nullopt;
}

std::optional<std::pair<http::url, std::string>>
split_url(std::string_view absolute, std::string* error) {
  auto scheme_end = absolute.find("://");
  if (scheme_end == std::string_view::npos) {
    if (error) *error = "not an absolute URL";
    return std::nullopt;
  }
  auto target_start = absolute.find_first_of("/?", scheme_end + 3);
  auto origin = absolute.substr(0, target_start);
  std::string target = target_start == std::string_view::npos
                           ? std::string{"/"}
                           : std::string{absolute.substr(target_start)};
  if (target.front() == '?') target.insert(0, 1, '/');
  auto base = http::parse_url(origin, error);
  if (!base) return std::nullopt;
  return std::make_pair(std::move(*base), std::move(target));
}

namespace {

/// A 2xx whose body is not what the model promises.
call_error malformed(std::string_view op, const http::response& res,
                     std::string what) {
  call_error err;
  err.status = call_status::retryable;
  err.http_status = static_cast<int>(res.result_int());
  err.code = "MalformedResponse";
  err.message = std::string{op} + ": " + std::move(what);
  return err;
}

std::optional<json> parse_object(const http::response& res) {
  auto doc = json::parse(res.body(), nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  return doc;
}

std::string string_field(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>()
                                            : std::string{};
}

/// Percent-encodes one path segment (feed and document ids are opaque).
std::string path_segment(std::string_view text) { return form_encode(text); }

/// A Feed object of getFeed or getFeeds; nullopt without a known
/// processingStatus.
std::optional<feed_info> parse_feed(const json& doc) {
  auto status = parse_processing_status(string_field(doc, "processingStatus"));
  if (!status) return std::nullopt;
  feed_info out;
  out.feed_id = string_field(doc, "feedId");
  out.feed_type = string_field(doc, "feedType");
  out.status = *status;
  out.created_time = string_field(doc, "createdTime");
  out.processing_start_time = string_field(doc, "processingStartTime");
  out.processing_end_time = string_field(doc, "processingEndTime");
  out.result_feed_document_id = string_field(doc, "resultFeedDocumentId");
  if (auto it = doc.find("marketplaceIds"); it != doc.end() && it->is_array())
    for (auto& m : *it)
      if (m.is_string()) out.marketplace_ids.push_back(m.get<std::string>());
  return out;
}

/// ISO 8601 in UTC with seconds, as SP-API takes date-times.
std::string iso_time(int64_t epoch_ms) {
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

} // namespace

feed_client::feed_client(feed_client_options opts, lwa_client& lwa,
                         rate_limiter* limiter)
    : opts_(std::move(opts)), lwa_(lwa), limiter_(limiter),
      api_(opts_.endpoint, opts_.http) {}

feed_client::~feed_client() = default;

std::optional<call_error> feed_client::pace(operation op) {
  if (!limiter_) return std::nullopt;
  auto wait = limiter_->delay(op);
  if (wait > opts_.max_pacing_wait) {
    call_error err;
    err.status = call_status::throttled;
    err.code = "RateModel";
    err.message =
        std::string{to_string(op)} +
        " not called: the modelled SP-API budget allows the next "
        "call in " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(wait)
                .count()) +
        " ms";
    err.retry_after = std::chrono::ceil<std::chrono::milliseconds>(wait);
    err.sent = false;
    return err;
  }
  limiter_->wait_for(op);
  return std::nullopt;
}

call_result<http::response> feed_client::call(operation op, http::verb method,
                                              std::string target,
                                              std::string body) {
  if (auto refused = pace(op)) return *refused;
  for (int attempt = 0;; ++attempt) {
    auto token = lwa_.access_token();
    if (!token) return token.error();
    auto req = body.empty() ? http::make_request(method, target)
                            : http::make_json_request(method, target, body);
    req.set("x-amz-access-token", token.value());
    req.set(beast_http::field::user_agent, opts_.user_agent);
    req.set(beast_http::field::accept, "application/json");
    auto result = api_.send(std::move(req));
    if (!result) {
      auto err = classify_transport_error(result.error());
      err.message = std::string{to_string(op)} + ": " + err.message;
      return err;
    }
    auto& res = result.value();
    auto status = res.result_int();
    if (limiter_)
      if (auto rate = rate_limit_header(res))
        limiter_->note_rate_limit(op, *rate);
    if (status >= 200 && status < 300) return std::move(res);
    auto err = classify_sp_api_error(res);
    err.message = std::string{to_string(op)} + ": " + err.message;
    if (status == 429 && limiter_) limiter_->note_429(op, err.retry_after);
    // An expired or revoked token: one fresh token, then give up.
    if ((status == 401 || status == 403) && attempt == 0) {
      lwa_.invalidate();
      continue;
    }
    return err;
  }
}

call_result<feed_upload_target>
feed_client::create_feed_document(std::string_view content_type) {
  json body = {{"contentType", content_type}};
  auto res = call(operation::create_feed_document, http::verb::post,
                  "/feeds/2021-06-30/documents", body.dump());
  if (!res) return res.error();
  auto doc = parse_object(res.value());
  if (!doc)
    return malformed("createFeedDocument", res.value(), "body is not JSON");
  feed_upload_target out{string_field(*doc, "feedDocumentId"),
                         string_field(*doc, "url")};
  if (out.feed_document_id.empty() || out.url.empty())
    return malformed("createFeedDocument", res.value(),
                     "feedDocumentId or url missing");
  return out;
}

call_result<http::response> feed_client::send_to_url(const std::string& url,
                                                     http::request req) {
  std::string why;
  auto parts = split_url(url, &why);
  if (!parts) {
    call_error err;
    err.status = call_status::permanent;
    err.code = "BadUrl";
    err.message = "document URL is not usable: " + why;
    err.sent = false;
    return err;
  }
  auto& [base, target] = *parts;
  auto key = base.to_string();
  auto it = others_.find(key);
  if (it == others_.end())
    it = others_.emplace(key, std::make_unique<http::client>(base, opts_.http))
             .first;
  req.target(target);
  req.set(beast_http::field::user_agent, opts_.user_agent);
  auto result = it->second->send(std::move(req));
  if (!result) return classify_transport_error(result.error());
  return std::move(result.value());
}

call_result<done> feed_client::upload(const feed_upload_target& target,
                                      std::string_view content_type,
                                      std::string body) {
  auto req =
      http::make_request(http::verb::put, "/", std::move(body), content_type);
  auto res = send_to_url(target.url, std::move(req));
  if (!res) {
    auto err = res.error();
    err.message = "feed upload: " + err.message;
    return err;
  }
  auto status = res.value().result_int();
  if (status >= 200 && status < 300) return done{};
  // S3 answers in XML; keep its status and a bounded excerpt of the body.
  call_error err;
  err.http_status = static_cast<int>(status);
  err.status = status >= 500 || status == 408   ? call_status::retryable
               : status == 429 || status == 503 ? call_status::throttled
                                                : call_status::permanent;
  err.code = "UploadFailed";
  // An expired presigned URL (403) is cured by a new document, i.e. by
  // submitting again: the caller sees permanent for this attempt only.
  err.message = "feed upload: HTTP " + std::to_string(status) + ": " +
                res.value().body().substr(0, 300);
  return err;
}

call_result<std::string>
feed_client::create_feed(const std::string& input_document_id) {
  json body = {{"feedType", "JSON_LISTINGS_FEED"},
               {"marketplaceIds", opts_.marketplace_ids},
               {"inputFeedDocumentId", input_document_id}};
  auto res = call(operation::create_feed, http::verb::post,
                  "/feeds/2021-06-30/feeds", body.dump());
  if (!res) return res.error();
  auto doc = parse_object(res.value());
  auto id = doc ? string_field(*doc, "feedId") : std::string{};
  if (id.empty()) return malformed("createFeed", res.value(), "feedId missing");
  return id;
}

call_result<std::string> feed_client::submit_feed(std::string body) {
  // A document without createFeed has no effect: only createFeed's failure
  // may leave a feed behind.
  auto no_feed = [](call_error err) {
    err.sent = false;
    return err;
  };
  auto target = create_feed_document(feed_content_type);
  if (!target) return no_feed(target.error());
  auto up = upload(target.value(), feed_content_type, std::move(body));
  if (!up) return no_feed(up.error());
  return create_feed(target->feed_document_id);
}

call_result<feed_info> feed_client::get_feed(const std::string& feed_id) {
  auto res = call(operation::get_feed, http::verb::get,
                  "/feeds/2021-06-30/feeds/" + path_segment(feed_id), {});
  if (!res) return res.error();
  auto doc = parse_object(res.value());
  if (!doc) return malformed("getFeed", res.value(), "body is not JSON");
  auto feed = parse_feed(*doc);
  if (!feed)
    return malformed("getFeed", res.value(),
                     "processingStatus missing or unknown");
  return std::move(*feed);
}

call_result<std::vector<feed_info>>
feed_client::list_feeds(int64_t created_since_ms,
                        const std::vector<processing_status>& statuses) {
  std::string query =
      "feedTypes=JSON_LISTINGS_FEED&pageSize=100&createdSince=" +
      form_encode(iso_time(created_since_ms));
  if (!statuses.empty()) {
    std::string list;
    for (auto st : statuses)
      list += (list.empty() ? "" : ",") + std::string{to_string(st)};
    query += "&processingStatuses=" + form_encode(list);
  }
  std::vector<feed_info> out;
  for (;;) {
    auto res = call(operation::get_feeds, http::verb::get,
                    "/feeds/2021-06-30/feeds?" + query, {});
    if (!res) return res.error();
    auto doc = parse_object(res.value());
    auto feeds = doc ? doc->find("feeds") : json::iterator{};
    if (!doc || feeds == doc->end() || !feeds->is_array())
      return malformed("getFeeds", res.value(), "no feeds array");
    for (auto& f : *feeds) {
      auto feed = f.is_object() ? parse_feed(f) : std::nullopt;
      if (!feed)
        return malformed("getFeeds", res.value(),
                         "a feed without a known processingStatus");
      out.push_back(std::move(*feed));
    }
    auto next = string_field(*doc, "nextToken");
    if (next.empty()) return out;
    // With nextToken, it is the only parameter (the model says so).
    query = "nextToken=" + form_encode(next);
  }
}

call_result<done> feed_client::cancel_feed(const std::string& feed_id) {
  auto res = call(operation::cancel_feed, http::verb::delete_,
                  "/feeds/2021-06-30/feeds/" + path_segment(feed_id), {});
  if (!res) return res.error();
  return done{};
}

call_result<feed_document_info>
feed_client::get_feed_document(const std::string& document_id) {
  auto res =
      call(operation::get_feed_document, http::verb::get,
           "/feeds/2021-06-30/documents/" + path_segment(document_id), {});
  if (!res) return res.error();
  auto doc = parse_object(res.value());
  if (!doc)
    return malformed("getFeedDocument", res.value(), "body is not JSON");
  feed_document_info out;
  out.feed_document_id = string_field(*doc, "feedDocumentId");
  out.url = string_field(*doc, "url");
  auto algo = string_field(*doc, "compressionAlgorithm");
  if (out.url.empty())
    return malformed("getFeedDocument", res.value(), "url missing");
  if (!algo.empty() && algo != "GZIP")
    return malformed("getFeedDocument", res.value(),
                     "unknown compressionAlgorithm " + algo);
  out.gzip = algo == "GZIP";
  return out;
}

call_result<std::string>
feed_client::download(const feed_document_info& document) {
  auto res =
      send_to_url(document.url, http::make_request(http::verb::get, "/"));
  if (!res) {
    auto err = res.error();
    err.message = "report download: " + err.message;
    return err;
  }
  auto status = res.value().result_int();
  if (status != 200) {
    call_error err;
    err.http_status = static_cast<int>(status);
    err.status =
        status >= 500 ? call_status::retryable : call_status::permanent;
    err.code = "DownloadFailed";
    err.message = "report download: HTTP " + std::to_string(status);
    return err;
  }
  auto& body = res.value().body();
  if (!document.gzip) return std::move(body);
  std::string why;
  auto text = gzip_decompress(body, &why, opts_.max_report_bytes);
  if (!text) {
    call_error err;
    err.status = call_status::retryable;
    err.http_status = 200;
    err.code = "BadGzip";
    err.message = "report download: " + why;
    return err;
  }
  return std::move(*text);
}

call_result<fetched_report>
feed_client::fetch_report(const std::string& document_id) {
  auto info = get_feed_document(document_id);
  if (!info) return info.error();
  auto text = download(info.value());
  if (!text) return text.error();
  std::string why;
  auto report = parse_processing_report(text.value(), &why);
  if (!report) {
    call_error err;
    err.status = call_status::permanent;
    err.http_status = 200;
    err.code = "MalformedReport";
    err.message = why;
    return err;
  }
  return fetched_report{std::move(text.value()), std::move(*report)};
}

} // namespace shelfsync::amazon
