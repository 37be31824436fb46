// The simulated Feeds API 2021-06-30, the presigned document URLs, feed
// processing, and patchListingsItem.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "channels/amazon/gzip.hpp"
#include "simulators/amazon/state.hpp"

namespace shelfsync::amazon {

namespace {

using nlohmann::json;
using sim::sp_error;
using sim::sp_json;

constexpr std::string_view feeds_prefix = "/feeds/2021-06-30/";
constexpr std::string_view listings_prefix = "/listings/2021-08-01/items/";

/// S3's XML error shape, for the presigned URLs.
http::response s3_error(http::status status, std::string_view code,
                        std::string_view message) {
  std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" +
      std::string{code} + "</Code><Message>" + std::string{message} +
      "</Message></Error>";
  return http::make_response(status, std::move(body), "application/xml");
}

http::response invalid_input(std::string_view details) {
  return sp_error(http::status::bad_request, "InvalidInput",
                  "Invalid request parameters", details);
}

http::response not_found(std::string_view what) {
  return sp_error(http::status::not_found, "NotFound",
                  "The requested resource was not found.", what);
}

/// A comma-separated query value's items; none for "".
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from < text.size()) {
    auto comma = text.find(',', from);
    if (comma == std::string::npos) comma = text.size();
    if (comma > from) out.push_back(text.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

std::optional<long> parse_number(const std::string& text) {
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stol(text);
}

/// "2026-12-04T21:52:52Z", with or without fractions of a second.
std::optional<std::chrono::system_clock::time_point>
parse_iso_time(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
                  &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                  &consumed) != 6)
    return std::nullopt;
  std::string rest = text.substr(static_cast<size_t>(consumed));
  double fraction = 0;
  if (!rest.empty() && rest[0] == '.') {
    auto digits = rest.find_first_not_of("0123456789", 1);
    if (digits == 1 || digits == std::string::npos) return std::nullopt;
    fraction = std::stod("0" + rest.substr(0, digits));
    rest = rest.substr(digits);
  }
  if (rest != "Z") return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  auto secs = ::timegm(&tm);
  return std::chrono::system_clock::from_time_t(secs) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>{fraction});
}

std::string header_value(const http::request& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view{name.data(), name.size()});
  return it == req.end() ? std::string{} : std::string{it->value()};
}

} // namespace

std::string simulator::state::origin(const http::request& req) const {
  auto host = header_value(req, "Host");
  return "http://" + (host.empty() ? std::string{"127.0.0.1"} : host);
}

bool simulator::state::take(sim::seller_state& s, operation op) {
  if (!cfg.rate_limits) return true;
  auto& bucket = s.buckets[static_cast<size_t>(op)];
  if (!bucket) bucket.emplace(cfg.rates[static_cast<size_t>(op)], now());
  return bucket->try_take(now());
}

// -- documents ----------------------------------------------------------------

http::response
simulator::state::create_feed_document(sim::seller_state& s,
                                       const http::request& req) {
  auto body = json::parse(req.body(), nullptr, false);
  if (!body.is_object() || !body.contains("contentType") ||
      !body["contentType"].is_string() ||
      body["contentType"].get<std::string>().empty())
    return invalid_input("contentType is required.");
  sim::document doc;
  doc.id = "amzn1.tortuga.4.na." + random_text(32) + ".T" + random_text(12);
  doc.seller = s.account.seller_id;
  doc.content_type = body["contentType"].get<std::string>();
  doc.url_expires = now() + cfg.url_ttl;
  auto url = origin(req) + "/_sim/amazon/uploads/" + doc.id +
             "?X-Amz-Expires=" + std::to_string(cfg.url_ttl.count()) +
             "&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=" +
             random_text(64);
  json answer = {{"feedDocumentId", doc.id}, {"url", url}};
  documents.emplace(doc.id, std::move(doc));
  return sp_json(
      http::status::created, answer,
      cfg.rates[static_cast<size_t>(operation::create_feed_document)].rate);
}

http::response simulator::state::upload(const std::string& id,
                                        const http::request& req) {
  if (req.method() != http::verb::put)
    return s3_error(http::status::method_not_allowed, "MethodNotAllowed",
                    "The specified method is not allowed against this "
                    "resource.");
  auto it = documents.find(id);
  if (it == documents.end() || it->second.report)
    return s3_error(http::status::not_found, "NoSuchKey",
                    "The specified key does not exist.");
  auto& doc = it->second;
  if (now() > doc.url_expires)
    return s3_error(http::status::forbidden, "AccessDenied",
                    "Request has expired");
  // The URL is signed over content-type: anything else breaks the signature.
  if (header_value(req, "Content-Type") != doc.content_type)
    return s3_error(http::status::forbidden, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the "
                    "signature you provided. Check your key and signing "
                    "method.");
  doc.body = req.body();
  doc.uploaded = true;
  auto res = http::make_response(http::status::ok, "", "application/xml");
  res.set("ETag", "\"" + random_text(32) + "\"");
  return res;
}

http::response simulator::state::download(const std::string& id) {
  auto it = documents.find(id);
  if (it == documents.end() || !it->second.uploaded)
    return s3_error(http::status::not_found, "NoSuchKey",
                    "The specified key does not exist.");
  if (now() > it->second.url_expires)
    return s3_error(http::status::forbidden, "AccessDenied",
                    "Request has expired");
  return http::make_response(http::status::ok, it->second.body,
                             it->second.gzip ? "application/octet-stream"
                                             : it->second.content_type);
}

http::response simulator::state::get_feed_document(sim::seller_state& s,
                                                   const std::string& id,
                                                   const http::request& req) {
  auto it = documents.find(id);
  if (it == documents.end() || it->second.seller != s.account.seller_id)
    return not_found("No feed document with id " + id + ".");
  auto& doc = it->second;
  doc.url_expires = now() + cfg.url_ttl;
  json answer = {
      {"feedDocumentId", doc.id},
      {"url", origin(req) + "/_sim/amazon/downloads/" + doc.id +
                  "?X-Amz-Expires=" + std::to_string(cfg.url_ttl.count()) +
                  "&X-Amz-Signature=" + random_text(64)}};
  if (doc.gzip) answer["compressionAlgorithm"] = "GZIP";
  return sp_json(
      http::status::ok, answer,
      cfg.rates[static_cast<size_t>(operation::get_feed_document)].rate);
}

// -- feeds --------------------------------------------------------------------

http::response simulator::state::create_feed(sim::seller_state& s,
                                             const http::request& req) {
  auto body = json::parse(req.body(), nullptr, false);
  if (!body.is_object())
    return invalid_input("The request body is not a JSON object.");
  auto type = body.value("feedType", json{});
  auto markets = body.value("marketplaceIds", json{});
  auto input = body.value("inputFeedDocumentId", json{});
  if (!type.is_string() || !input.is_string() || !markets.is_array())
    return invalid_input(
        "feedType, marketplaceIds and inputFeedDocumentId are required.");
  if (markets.empty() || markets.size() > 25)
    return invalid_input("marketplaceIds must have 1 to 25 items.");
  std::vector<std::string> marketplaces;
  for (auto& m : markets) {
    if (!m.is_string() || m.get<std::string>().empty())
      return invalid_input("marketplaceIds must be non-empty strings.");
    marketplaces.push_back(m.get<std::string>());
  }
  if (type != "JSON_LISTINGS_FEED")
    return invalid_input("The simulator accepts feedType JSON_LISTINGS_FEED "
                         "only.");
  auto doc = documents.find(input.get<std::string>());
  if (doc == documents.end() || doc->second.seller != s.account.seller_id ||
      doc->second.report)
    return invalid_input("inputFeedDocumentId does not name a feed document "
                         "of this seller.");
  if (!take(s, operation::json_listings_feed_submission))
    return sim::quota_exceeded();
  sim::feed f;
  f.id = std::to_string(next_feed_number++);
  f.seller = s.account.seller_id;
  f.input_document = doc->first;
  f.marketplaces = std::move(marketplaces);
  f.created = now();
  // One seller's feeds are processed one after the other.
  f.start = std::max(f.created + cfg.queue_delay, s.queue_end);
  f.end = f.start + cfg.processing_delay;
  s.queue_end = f.end;
  f.forced = faults.next_feed;
  faults.next_feed.reset();
  json answer = {{"feedId", f.id}};
  feed_index[f.id] = feeds.size();
  feeds.push_back(std::move(f));
  return sp_json(http::status::accepted, answer,
                 cfg.rates[static_cast<size_t>(operation::create_feed)].rate);
}

void simulator::state::finish(sim::feed& f) {
  f.finished = true;
  auto& seller = sellers.at(f.seller);
  auto& input = documents.at(f.input_document);
  f.body = input.body;
  std::string report;
  if (f.forced) {
    // The fault decides the outcome, but the document is still checked, on
    // scratch copies, so that the inspection tells whether it was valid.
    auto listings = seller.listings;
    auto failures = seller.failures;
    auto checked = sim::process_feed(
        f.seller, f.id, input.uploaded ? input.body : "", listings, failures);
    f.messages = checked.messages;
    f.validation_issues = std::move(checked.validation_issues);
  }
  if (f.forced == processing_status::cancelled) {
    f.status = processing_status::cancelled;
    return;
  }
  if (f.forced == processing_status::fatal) {
    f.status = processing_status::fatal;
    report = sim::forced_fatal_report(f.seller, f.id);
  } else {
    auto outcome =
        sim::process_feed(f.seller, f.id, input.uploaded ? input.body : "",
                          seller.listings, seller.failures);
    f.status =
        outcome.fatal ? processing_status::fatal : processing_status::done;
    f.messages = outcome.messages;
    f.accepted = outcome.accepted;
    f.invalid = outcome.invalid;
    f.validation_issues = std::move(outcome.validation_issues);
    if (!input.uploaded)
      f.validation_issues.insert(f.validation_issues.begin(),
                                 "the feed document was never uploaded");
    report = std::move(outcome.report);
  }
  sim::document doc;
  doc.id = "amzn1.tortuga.4.na." + random_text(32) + ".T" + random_text(12);
  doc.seller = f.seller;
  doc.report = true;
  doc.uploaded = true;
  doc.gzip = cfg.gzip_reports;
  doc.content_type = "application/json";
  doc.body = doc.gzip ? gzip_compress(report) : std::move(report);
  f.result_document = doc.id;
  documents.emplace(doc.id, std::move(doc));
}

void simulator::state::advance_locked() {
  auto t = now();
  for (auto& f : feeds)
    if (!f.finished && t >= f.end) finish(f);
}

nlohmann::json simulator::state::feed_json(const sim::feed& f) const {
  auto status = status_of(f);
  json answer = {{"feedId", f.id},
                 {"feedType", "JSON_LISTINGS_FEED"},
                 {"marketplaceIds", f.marketplaces},
                 {"createdTime", iso_time(f.created)},
                 {"processingStatus", to_string(status)}};
  if (status != processing_status::in_queue &&
      !(f.finished && f.forced == processing_status::cancelled))
    answer["processingStartTime"] = iso_time(f.start);
  if (f.finished && status != processing_status::cancelled)
    answer["processingEndTime"] = iso_time(f.end);
  if (!f.result_document.empty())
    answer["resultFeedDocumentId"] = f.result_document;
  return answer;
}

http::response simulator::state::get_feed(sim::seller_state& s,
                                          const std::string& id) {
  auto it = feed_index.find(id);
  if (it == feed_index.end() || feeds[it->second].seller != s.account.seller_id)
    return not_found("No feed with id " + id + ".");
  return sp_json(http::status::ok, feed_json(feeds[it->second]),
                 cfg.rates[static_cast<size_t>(operation::get_feed)].rate);
}

http::response simulator::state::get_feeds(sim::seller_state& s,
                                           const sim::parsed_target& target) {
  auto query = target.query;
  size_t offset = 0;
  if (auto token = query.find("nextToken"); token != query.end()) {
    if (query.size() != 1)
      return invalid_input("nextToken must be the only parameter when given.");
    auto page = feed_pages.find(token->second);
    if (page == feed_pages.end())
      return invalid_input("nextToken is not a token this API gave.");
    offset = page->second.offset;
    query = page->second.query;
  }
  auto types = split_list(query["feedTypes"]);
  if (types.empty() || types.size() > 10)
    return invalid_input("feedTypes is required: 1 to 10 feed types.");
  size_t page_size = 10;
  if (auto p = query.find("pageSize"); p != query.end()) {
    auto n = parse_number(p->second);
    if (!n || *n < 1 || *n > 100)
      return invalid_input("pageSize must be 1 to 100.");
    page_size = static_cast<size_t>(*n);
  }
  std::vector<processing_status> statuses;
  for (auto& name : split_list(query["processingStatuses"])) {
    auto st = parse_processing_status(name);
    if (!st) return invalid_input("processingStatuses: unknown " + name + ".");
    statuses.push_back(*st);
  }
  auto markets = split_list(query["marketplaceIds"]);
  // createdSince defaults to 90 days ago, createdUntil to now.
  auto since = now() - std::chrono::hours{24 * 90};
  auto until = now();
  for (auto [name, bound] :
       {std::pair{"createdSince", &since}, std::pair{"createdUntil", &until}}) {
    auto given = query.find(name);
    if (given == query.end()) continue;
    auto wall = parse_iso_time(given->second);
    if (!wall)
      return invalid_input(std::string{name} +
                           " is not an ISO 8601 date-time.");
    *bound = steady_origin + std::chrono::duration_cast<rate_clock::duration>(
                                 *wall - wall_origin);
  }
  // Newest first (the model does not say which order).
  std::vector<const sim::feed*> matching;
  for (auto f = feeds.rbegin(); f != feeds.rend(); ++f) {
    if (f->seller != s.account.seller_id || f->created < since ||
        f->created > until)
      continue;
    if (std::find(types.begin(), types.end(), "JSON_LISTINGS_FEED") ==
        types.end())
      continue;
    if (!statuses.empty() && std::find(statuses.begin(), statuses.end(),
                                       status_of(*f)) == statuses.end())
      continue;
    if (!markets.empty() &&
        std::none_of(markets.begin(), markets.end(), [&](auto& m) {
          return std::find(f->marketplaces.begin(), f->marketplaces.end(), m) !=
                 f->marketplaces.end();
        }))
      continue;
    matching.push_back(&*f);
  }
  json answer = {{"feeds", json::array()}};
  for (size_t i = offset; i < matching.size() && i < offset + page_size; ++i)
    answer["feeds"].push_back(feed_json(*matching[i]));
  if (offset + page_size < matching.size()) {
    if (feed_pages.size() >= 1000) feed_pages.clear();
    auto token = random_text(40);
    feed_pages[token] = {query, offset + page_size};
    answer["nextToken"] = token;
  }
  return sp_json(http::status::ok, answer,
                 cfg.rates[static_cast<size_t>(operation::get_feeds)].rate);
}

http::response simulator::state::cancel_feed(sim::seller_state& s,
                                             const std::string& id) {
  auto it = feed_index.find(id);
  if (it == feed_index.end() || feeds[it->second].seller != s.account.seller_id)
    return not_found("No feed with id " + id + ".");
  auto& f = feeds[it->second];
  if (f.finished || now() >= f.start)
    return invalid_input("Only feeds in IN_QUEUE status can be cancelled.");
  f.finished = true;
  f.status = processing_status::cancelled;
  f.forced = processing_status::cancelled;
  auto res = http::make_response(http::status::ok, "", "application/json");
  res.set("x-amzn-RequestId", sim::request_id());
  return res;
}

// -- listings items -----------------------------------------------------------

http::response simulator::state::patch_listings_item(
    sim::seller_state& s, const std::string& seller_id, const std::string& sku,
    const sim::parsed_target& target, const http::request& req) {
  if (seller_id != s.account.seller_id) return sim::unauthorized();
  auto markets = target.query.find("marketplaceIds");
  if (markets == target.query.end() || markets->second.empty())
    return invalid_input("marketplaceIds is required.");
  auto body = json::parse(req.body(), nullptr, false);
  if (!body.is_object() || !body.contains("productType") ||
      !body["productType"].is_string() || !body.contains("patches") ||
      !body["patches"].is_array())
    return sp_error(http::status::bad_request, "InvalidInput",
                    "Request has missing or invalid parameters and cannot be "
                    "parsed.");
  auto mode = target.query.find("mode");
  bool preview =
      mode != target.query.end() && mode->second == "VALIDATION_PREVIEW";
  auto submission = random_text(32);
  sim::listing_store scratch;
  auto& store = preview ? scratch : s.listings;
  if (preview)
    if (auto it = s.listings.find(sku); it != s.listings.end())
      scratch[sku] = it->second;
  auto issues =
      sim::apply_patches(store, sku, body["productType"].get<std::string>(),
                         body["patches"], "patchListingsItem " + submission);
  json answer = {{"sku", sku},
                 {"status", !issues.empty() ? "INVALID"
                            : preview       ? "VALID"
                                            : "ACCEPTED"},
                 {"submissionId", submission},
                 {"issues", json::array()}};
  for (auto& i : issues) {
    json issue = {{"code", i.code},
                  {"message", i.message},
                  {"severity", "ERROR"},
                  {"categories", json::array()}};
    if (!i.attribute_name.empty())
      issue["attributeNames"] = json::array({i.attribute_name});
    answer["issues"].push_back(std::move(issue));
  }
  return sp_json(
      http::status::ok, answer,
      cfg.rates[static_cast<size_t>(operation::patch_listings_item)].rate);
}

// -- routing ------------------------------------------------------------------

sim::routed_operation sim::route(http::verb method, const std::string& path) {
  routed_operation out;
  if (path.rfind(feeds_prefix, 0) == 0) {
    auto rest = path.substr(feeds_prefix.size());
    if (rest == "documents" && method == http::verb::post) {
      out.op = operation::create_feed_document;
    } else if (rest == "feeds" && method == http::verb::post) {
      out.op = operation::create_feed;
    } else if (rest == "feeds" && method == http::verb::get) {
      out.op = operation::get_feeds;
    } else if (rest.rfind("feeds/", 0) == 0 && rest.size() > 6) {
      out.arg = percent_decode(rest.substr(6));
      if (method == http::verb::get)
        out.op = operation::get_feed;
      else if (method == http::verb::delete_)
        out.op = operation::cancel_feed;
    } else if (rest.rfind("documents/", 0) == 0 && rest.size() > 10 &&
               method == http::verb::get) {
      out.arg = percent_decode(rest.substr(10));
      out.op = operation::get_feed_document;
    }
  } else if (path.rfind(listings_prefix, 0) == 0 &&
             method == http::verb::patch) {
    auto rest = path.substr(listings_prefix.size());
    auto slash = rest.find('/');
    if (slash != std::string::npos && slash > 0 && slash + 1 < rest.size()) {
      out.arg = percent_decode(rest.substr(0, slash));
      out.arg2 = percent_decode(rest.substr(slash + 1));
      out.op = operation::patch_listings_item;
    }
  }
  return out;
}

http::response simulator::state::sp_api(const sim::parsed_target& target,
                                        const http::request& req) {
  auto* seller = authenticate(req);
  if (!seller) return sim::unauthorized();
  auto& path = target.path;
  // Which operation, and its argument when the path carries one.
  auto [op, arg, arg2] = sim::route(req.method(), path);
  if (!op)
    return sp_error(http::status::not_found, "NotFound",
                    "The requested resource was not found.",
                    "No such operation: " + std::string{req.method_string()} +
                        " " + path);
  if (!take(*seller, *op)) return sim::quota_exceeded();
  switch (*op) {
  case operation::create_feed_document:
    return create_feed_document(*seller, req);
  case operation::create_feed:
    return create_feed(*seller, req);
  case operation::get_feed:
    return get_feed(*seller, arg);
  case operation::get_feeds:
    return get_feeds(*seller, target);
  case operation::cancel_feed:
    return cancel_feed(*seller, arg);
  case operation::get_feed_document:
    return get_feed_document(*seller, arg, req);
  case operation::patch_listings_item:
    return patch_listings_item(*seller, arg, arg2, target, req);
  default:
    break;
  }
  return not_found(path);
}

} // namespace shelfsync::amazon
