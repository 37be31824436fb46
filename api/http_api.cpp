#include "api/http_api.hpp"

#include <chrono>
#include <map>
#include <optional>

#include <boost/beast/core/string.hpp>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include "actors/log.hpp"
#include "api/cluster_explain.hpp"
#include "api/cluster_report.hpp"
#include "api/config_preview.hpp"
#include "api/event_parser.hpp"
#include "api/explanation.hpp"
#include "api/listings.hpp"
#include "api/status_page.hpp"
#include "cluster/shop_state.hpp"
#include "config/json_syntax.hpp"
#include "core/error.hpp"

namespace shelfsync {

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

/// The text of a JSON answer. Bytes that are not UTF-8 (in a channel's error
/// text, say) become U+FFFD rather than failing the answer.
std::string json_text(const json& body, int indent = -1) {
  return body.dump(indent, ' ', false, json::error_handler_t::replace);
}

http::response json_answer(http::status code, const json& body, bool keep_alive,
                           int indent = -1) {
  return http::make_response(code, json_text(body, indent), "application/json",
                             keep_alive);
}

http::response json_answer(http::status code, const json& body,
                           const http::request& req) {
  return json_answer(code, body, req.keep_alive());
}

http::response error_answer(http::status code, const std::string& message,
                            const http::request& req) {
  return json_answer(code, json{{"error", message}}, req);
}

http::response batch_error_answer(const batch_error& err,
                                  const http::request& req) {
  json body{{"error", err.message}};
  if (err.index) body["index"] = *err.index;
  if (err.field) body["field"] = *err.field;
  if (err.offset) body["offset"] = *err.offset;
  return json_answer(static_cast<http::status>(err.status), body, req);
}

/// Whether a Content-Type names NDJSON. Media types are case-insensitive and
/// may carry parameters: "Application/X-NDJSON; charset=utf-8" is NDJSON.
bool is_ndjson(std::string_view content_type) {
  auto media = content_type.substr(0, content_type.find(';'));
  auto first = media.find_first_not_of(" \t");
  if (first == std::string_view::npos) return false;
  media = media.substr(first, media.find_last_not_of(" \t") + 1 - first);
  return boost::beast::iequals(
      boost::beast::string_view{media.data(), media.size()},
      "application/x-ndjson");
}

/// The words an error carries (its string context), without CAF's framing.
std::string error_message(const caf::error& err) {
  auto& ctx = err.context();
  std::string out;
  for (size_t i = 0; i < ctx.size(); ++i)
    if (ctx.match_element<std::string>(i))
      out += (out.empty() ? "" : ": ") + ctx.get_as<std::string>(i);
  return out.empty() ? to_string(err) : out;
}

/// Compares in time independent of where the strings differ.
bool same_secret(std::string_view given, std::string_view expected) {
  if (given.size() != expected.size() || expected.empty()) return false;
  return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

/// True when `req` carries the bearer token; else answers 401 and is false.
bool authorized(const http::request& req, const std::string& token,
                http::responder& r) {
  auto auth = req[boost::beast::http::field::authorization];
  std::string_view given{auth.data(), auth.size()};
  constexpr std::string_view bearer = "Bearer ";
  if (given.substr(0, bearer.size()) == bearer &&
      same_secret(given.substr(bearer.size()), token))
    return true;
  auto res = error_answer(http::status::unauthorized,
                          "missing or wrong bearer token", req);
  res.set(boost::beast::http::field::www_authenticate, "Bearer");
  r.send(std::move(res));
  return false;
}

/// 503 with Retry-After: `body` says why the engine cannot answer now.
http::response unavailable_answer(const json& body, const http::request& req) {
  auto res = json_answer(http::status::service_unavailable, body, req);
  res.set(boost::beast::http::field::retry_after, "1");
  return res;
}

json location_json(const delivery* d, int64_t desired) {
  json out{{"desired", desired},
           {"confirmed", d && d->has_confirmed ? json(d->confirmed) : json()},
           {"state", delivery_state_of(d, desired)},
           {"error", d ? delivery_error_json(*d) : json()}};
  if (d && d->drifts > 0) // the drift check found the channel changed
    out["drift"] = {
        {"count", d->drifts}, {"seen", d->drift_seen}, {"at", d->drift_at}};
  return out;
}

json product_json(const std::string& code, const product_record& rec,
                  const config& conf, store& db) {
  json warehouses = json::object();
  for (auto& [id, s] : rec.stock) {
    json w{{"on_hand", s.on_hand},
           {"reserved", s.reserved},
           {"available", s.available()}};
    if (s.versioned) w["version"] = s.version;
    warehouses[id] = std::move(w);
  }
  json shops = json::object();
  for (auto& shop : conf.shops) {
    delivery_record deliveries;
    auto loaded = db.load_delivery(shop.id, code, deliveries);
    if (!loaded) deliveries.clear();
    auto view = rec.views.find(shop.id);
    auto find = [&](const std::string& loc) -> const delivery* {
      auto i = deliveries.find(loc);
      return i == deliveries.end() ? nullptr : &i->second;
    };
    json s;
    if (shop.channel == channel_kind::shopify) {
      s = json{{"channel", "shopify"}, {"stock_sync", shop.stock_sync}};
      json locations = json::object();
      if (view != rec.views.end())
        for (auto& [loc, desired] : view->second)
          locations[loc] = location_json(find(loc), desired);
      s["locations"] = std::move(locations);
    } else {
      s = json{{"channel", "amazon"}, {"stock_sync", shop.stock_sync}};
      if (view != rec.views.end()) {
        auto desired = view->second.begin()->second;
        auto* d = find("");
        s.update(location_json(d, desired));
        s["feed"] = d && !d->request.empty() ? json(d->request) : json();
      }
    }
    shops[shop.id] = std::move(s);
  }
  return json{{"product", code}, {"warehouses", warehouses}, {"shops", shops}};
}

/// A shop's status; `problem` says what keeps it from its channel (a
/// missing credential), or is empty.
json shop_json(const shop_status& s, const std::string& problem) {
  json out{
      {"id", s.shop},
      {"problem", problem.empty() ? json() : json(problem)},
      {"channel", s.channel},
      {"stock_sync", s.stock_sync},
      {"pending", s.pending},
      {"in_flight", s.in_flight},
      {"last_success", s.last_success.empty() ? json() : json(s.last_success)},
      {"last_error", s.last_error.empty() ? json() : json(s.last_error)},
      {"credentials_refused",
       s.credentials_refused.empty() ? json() : json(s.credentials_refused)}};
  auto details = json::parse(s.details, nullptr, false);
  if (details.is_object()) out.update(details);
  return out;
}

/// A shop's resync record in the cluster (`state`: requested, running or
/// finished; times in milliseconds since the Unix epoch).
json cluster_resync_json(const cluster::shop_resync& r) {
  auto state = r.running > 0          ? "running"
               : r.requested > r.done ? "requested"
                                      : "finished";
  auto ms = [](int64_t x) {
    return x > 0 ? json(x) : json();
  };
  return json{{"state", state},
              {"requested", r.requested},
              {"requested_at_ms", ms(r.requested_ms)},
              {"running", r.running > 0 ? json(r.running) : json()},
              {"node", r.node.empty() ? json() : json(r.node)},
              {"started_at_ms", ms(r.started_ms)},
              {"done", r.done},
              {"finished_at_ms", ms(r.finished_ms)},
              {"scanned", r.scanned},
              {"pushed", r.pushed}};
}

/// A shop's "cluster" object in GET /v1/shops: the node driving it and what
/// this node's driver did (counts since this node started).
json cluster_shop_json(const cluster::shop_drive_status& c) {
  return json{
      {"slot", c.slot},
      {"driver", c.driver ? json(*c.driver) : json()},
      {"driven_here", c.driven_here},
      {"rows_confirmed", c.rows_confirmed},
      {"rows_failed", c.rows_failed},
      {"stale_refusals", c.stale_refusals},
      {"pending", c.pending},
      {"checkpoint", c.checkpoint},
      {"resync", c.resync ? cluster_resync_json(*c.resync) : json()},
      {"resync_rows_pushed_here", c.resync_pushed},
      {"last_error", c.last_error.empty() ? json() : json(c.last_error)}};
}

/// Finds `name` in the query of `target` and percent-decodes its value;
/// false when absent or badly escaped.
bool query_parameter(std::string_view target, std::string_view name,
                     std::string& out) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return false;
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=')
      return percent_decode(pair.substr(name.size() + 1), out);
  }
  return false;
}

/// The value of query parameter `name` of `target`, percent-decoded, in
/// `out`; false when absent. A bad escape is a 400 naming the parameter,
/// left in `bad`.
bool query_value(std::string_view target, std::string_view name,
                 std::string& out, std::optional<http::response>& bad,
                 const http::request& req) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return false;
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    if (pair.substr(0, pair.find('=')) != name) continue;
    if (pair.size() == name.size()) return out.clear(), true;
    if (!percent_decode(pair.substr(name.size() + 1), out)) {
      bad = json_answer(http::status::bad_request,
                        json{{"error", "query parameter " + std::string{name} +
                                           ": a bad %-escape"},
                             {"parameter", name}},
                        req);
      return false;
    }
    return true;
  }
  return false;
}

/// A 422 saying what is wrong with query parameter `name`.
http::response parameter_answer(std::string_view name,
                                const std::string& message,
                                const http::request& req) {
  return json_answer(
      http::status::unprocessable_entity,
      json{{"error", "query parameter " + std::string{name} + ": " + message},
           {"parameter", name}},
      req);
}

/// Reads the `limit` of a listing into `limit`; false with the answer in
/// `bad` when it is not an integer from 1 to listings::max_limit.
bool limit_parameter(std::string_view target, size_t& limit,
                     std::optional<http::response>& bad,
                     const http::request& req) {
  limit = listings::default_limit;
  std::string text;
  if (!query_value(target, "limit", text, bad, req)) return !bad;
  auto range = "must be an integer from 1 to " +
               std::to_string(listings::max_limit) + ", got \"" +
               shorten(text) + "\"";
  if (text.empty() || text.size() > 4 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    bad = parameter_answer("limit", range, req);
    return false;
  }
  limit = std::stoul(text);
  if (limit < 1 || limit > listings::max_limit) {
    bad = parameter_answer("limit", range, req);
    return false;
  }
  return true;
}

/// Cursors and prefixes are product codes, at most 128 characters (bytes
/// here: a longer one cannot match anything stored).
constexpr size_t max_code_bytes = 4 * 128;

} // namespace

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2])))
      return false;
    out.push_back(static_cast<char>(
        std::stoi(std::string{in.substr(i + 1, 2)}, nullptr, 16)));
    i += 2;
  }
  return true;
}

http_api::http_api(engine& eng, metrics& counters, std::string token,
                   reload_function reload)
    : engine_(eng), metrics_(counters), token_(std::move(token)),
      reload_(std::move(reload)) {}

http_api::~http_api() {
  preview_cancel_ = true;
  std::lock_guard<std::mutex> guard{preview_mutex_};
  if (preview_thread_.joinable()) preview_thread_.join();
}

void http_api::set_token(std::string token) {
  std::lock_guard<std::mutex> guard{token_mutex_};
  token_ = std::move(token);
}

void http_api::handle(http::request&& req, http::responder r) {
  std::string_view target{req.target().data(), req.target().size()};
  auto path = target.substr(0, target.find('?'));
  auto method = req.method();
  // One access line per request, when it is answered. Probes and scrapes
  // come every few seconds: they are logged at debug level.
  auto probe = path == "/healthz" || path == "/readyz" || path == "/metrics";
  r.on_answer([started = clock_type::now(),
               verb = std::string{req.method_string()}, logged = shorten(path),
               probe](unsigned status) {
    std::chrono::duration<double, std::milli> took =
        clock_type::now() - started;
    log_access(probe ? log_level::debug : log_level::info, verb, logged,
               static_cast<int>(status), took.count());
  });
  if (path == "/healthz") {
    r.send(json_answer(http::status::ok, json{{"status", "ok"}}, req));
    return;
  }
  if (path == "/readyz") {
    // Liveness stays /healthz: an engine that cannot take events now (its
    // store cannot be written) is alive, and recovers by itself.
    if (auto why = engine_.readiness()) {
      r.send(unavailable_answer(
          json{{"status", "not ready"}, {"reason", error_message(why)}}, req));
      return;
    }
    // A cluster node whose config differs from the cluster's takes neither
    // slots nor events: out of a load balancer's rotation.
    if (cluster_ != nullptr)
      if (auto problem = cluster_->config_problem(); !problem.empty()) {
        r.send(unavailable_answer(
            json{{"status", "not ready"}, {"reason", problem}}, req));
        return;
      }
    // A shop whose channel refuses its credentials (or that has none)
    // delivers nothing until someone changes them.
    auto keep_alive = req.keep_alive();
    engine_.shops([r, keep_alive](std::vector<shop_status> all) {
      std::string reason;
      for (auto& s : all)
        if (!s.credentials_refused.empty())
          reason +=
              (reason.empty() ? "" : "; ") + std::string{"shop \""} + s.shop +
              "\": its " + s.channel +
              " credentials are refused or not set: " + s.credentials_refused;
      if (reason.empty()) {
        r.send(json_answer(http::status::ok, json{{"status", "ready"}},
                           keep_alive));
        return;
      }
      auto res = json_answer(http::status::service_unavailable,
                             json{{"status", "not ready"}, {"reason", reason}},
                             keep_alive);
      res.set(boost::beast::http::field::retry_after, "1");
      r.send(std::move(res));
    });
    return;
  }
  if (method == http::verb::get) // the status page, no token needed
    if (auto file = status_page_file(path, req.keep_alive())) {
      r.send(std::move(*file));
      return;
    }
  if (path == "/metrics" && method == http::verb::get) {
    get_metrics(req, std::move(r));
    return;
  }
  std::string token;
  {
    std::lock_guard<std::mutex> guard{token_mutex_};
    token = token_;
  }
  if (!authorized(req, token, r)) return;
  auto bad_method = [&] {
    r.send(error_answer(http::status::method_not_allowed,
                        "method not allowed on " + shorten(path), req));
  };
  if (path == "/v1/cluster") {
    if (method != http::verb::get) return bad_method();
    get_cluster(req, std::move(r));
    return;
  }
  if (path == "/v1/stock/events") {
    if (method != http::verb::post) return bad_method();
    post_events(std::move(req), std::move(r));
    return;
  }
  if (path == "/v1/products") {
    if (method != http::verb::get) return bad_method();
    get_product_list(target, req, std::move(r));
    return;
  }
  constexpr std::string_view products = "/v1/products/";
  if (path.substr(0, products.size()) == products) {
    if (method != http::verb::get) return bad_method();
    std::string code;
    auto raw = path.substr(products.size());
    constexpr std::string_view explain = "/explain";
    bool explaining = raw.size() > explain.size() &&
                      raw.substr(raw.size() - explain.size()) == explain;
    if (explaining) raw.remove_suffix(explain.size());
    if (raw.empty() || raw.find('/') != std::string_view::npos ||
        !percent_decode(raw, code)) {
      r.send(error_answer(http::status::not_found,
                          "no such resource: " + shorten(path), req));
      return;
    }
    if (explaining) return get_explanation(code, target, req, std::move(r));
    get_product(code, req, std::move(r));
    return;
  }
  constexpr std::string_view resync = "/resync";
  if (path.substr(0, 10) == "/v1/shops/" && path.size() > 10 + resync.size() &&
      path.substr(path.size() - resync.size()) == resync) {
    if (method != http::verb::post) return bad_method();
    post_resync(std::string{path.substr(10, path.size() - 10 - resync.size())},
                req, std::move(r));
    return;
  }
  constexpr std::string_view deliveries = "/deliveries";
  if (path.substr(0, 10) == "/v1/shops/" &&
      path.size() > 10 + deliveries.size() &&
      path.substr(path.size() - deliveries.size()) == deliveries) {
    if (method != http::verb::get) return bad_method();
    get_deliveries(
        std::string{path.substr(10, path.size() - 10 - deliveries.size())},
        target, req, std::move(r));
    return;
  }
  if (path == "/v1/shops" || path.substr(0, 10) == "/v1/shops/") {
    if (method != http::verb::get) return bad_method();
    get_shops(path.size() > 10 ? std::string{path.substr(10)} : "", req,
              std::move(r));
    return;
  }
  if (path == "/v1/config/preview") {
    if (method != http::verb::post) return bad_method();
    post_preview(std::move(req), std::move(r));
    return;
  }
  if (path == "/v1/backup") {
    if (method != http::verb::post) return bad_method();
    post_backup(req, std::move(r));
    return;
  }
  if (path == "/v1/config/reload") {
    if (method != http::verb::post) return bad_method();
    auto problems = reload_();
    if (problems.empty()) {
      r.send(json_answer(http::status::ok, json{{"reloaded", true}}, req));
      return;
    }
    json list = json::array();
    for (auto& p : problems)
      list.push_back(json{{"path", p.path}, {"message", p.message}});
    r.send(json_answer(http::status::unprocessable_entity,
                       json{{"error", "the new config is invalid; the old "
                                      "one stays in force"},
                            {"problems", list}},
                       req));
    return;
  }
  r.send(error_answer(http::status::not_found,
                      "no such resource: " + shorten(path), req));
}

starting_api::starting_api(std::string token, std::string reason)
    : token_(std::move(token)), reason_(std::move(reason)) {}

void starting_api::set_reason(std::string reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  reason_ = std::move(reason);
}

void starting_api::handle(http::request&& req, http::responder r) {
  std::string_view target{req.target().data(), req.target().size()};
  auto path = target.substr(0, target.find('?'));
  if (path == "/healthz") {
    r.send(json_answer(http::status::ok, json{{"status", "ok"}}, req));
    return;
  }
  std::string reason;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    reason = reason_;
  }
  if (path == "/readyz") {
    r.send(unavailable_answer(json{{"status", "starting"}, {"reason", reason}},
                              req));
    return;
  }
  if (path != "/metrics" && !authorized(req, token_, r)) return;
  r.send(unavailable_answer(
      json{{"error", "shelfsync is starting and takes no requests yet (" +
                         reason + "); send it again later"}},
      req));
}

void http_api::answer_stored(const http::responder& r, bool keep_alive,
                             clock_type::time_point started, size_t accepted,
                             size_t duplicates, uint64_t last_seq) {
  std::chrono::duration<double> took = clock_type::now() - started;
  metrics_.batch_done(accepted, duplicates, took.count());
  r.send(json_answer(http::status::ok,
                     json{{"accepted", accepted},
                          {"duplicates", duplicates},
                          {"last_seq", last_seq}},
                     keep_alive));
}

void http_api::answer_unstored(const http::responder& r, bool keep_alive,
                               const std::string& why) {
  auto res = json_answer(http::status::service_unavailable,
                         json{{"error", why}}, keep_alive);
  res.set(boost::beast::http::field::retry_after, "1");
  r.send(std::move(res));
}

void http_api::post_events(http::request&& req, http::responder r) {
  auto started = clock_type::now();
  auto type = req[boost::beast::http::field::content_type];
  auto format = is_ndjson({type.data(), type.size()})
                    ? batch_format::ndjson
                    : batch_format::json_array;
  auto conf = engine_.current_config();
  auto parsed = parse_events(req.body(), format, [&](std::string_view wh) {
    return conf->has_warehouse(std::string{wh});
  });
  if (auto* err = std::get_if<batch_error>(&parsed)) {
    metrics_.batch_rejected(err->index ? *err->index + 1 : 0);
    r.send(batch_error_answer(*err, req));
    return;
  }
  if (cluster_ != nullptr)
    return post_events_to_cluster(
        std::move(std::get<std::vector<stock_event>>(parsed)), req,
        std::move(r));
  auto keep_alive = req.keep_alive();
  engine_.ingest(
      std::move(std::get<std::vector<stock_event>>(parsed)),
      [this, r, keep_alive, started](caf::expected<ingest_result> result) {
        if (!result)
          return answer_unstored(r, keep_alive,
                                 "the batch could not be stored, nothing of "
                                 "it was accepted; send it again later: " +
                                     error_message(result.error()));
        answer_stored(r, keep_alive, started, result->accepted,
                      result->duplicates, result->last_seq);
      });
}

void http_api::post_events_to_cluster(std::vector<stock_event> events,
                                      const http::request& req,
                                      http::responder r) {
  auto started = clock_type::now();
  auto keep_alive = req.keep_alive();
  // Its events were checked against a config the cluster does not share.
  if (auto problem = cluster_->config_problem(); !problem.empty())
    return answer_unstored(r, keep_alive,
                           "this node takes no events, nothing of the batch "
                           "was stored; send it to another node: " +
                               problem);
  // On one of the node's request threads: publishing blocks until every
  // slot's message is acknowledged by a quorum.
  cluster_->ingest_async(
      std::move(events), [this, r, keep_alive, started](
                             cluster::outcome<cluster::ingest_answer> result) {
        if (!result)
          return answer_unstored(r, keep_alive,
                                 "the batch could not be stored on a quorum "
                                 "of the cluster in time; send it again "
                                 "(resending is safe): " +
                                     result.err().message);
        answer_stored(r, keep_alive, started, result->accepted,
                      result->duplicates, result->last_seq);
      });
}

void http_api::get_cluster_product(const std::string& code,
                                   const http::request& req,
                                   http::responder r) {
  auto keep_alive = req.keep_alive();
  cluster_->product_async(
      code, [code, r, keep_alive](
                cluster::outcome<std::optional<cluster::product_state>> state) {
        if (!state) {
          auto res = json_answer(
              http::status::service_unavailable,
              json{{"error",
                    "cannot read product \"" + shorten(code) +
                        "\" from the cluster now: " + state.err().message}},
              keep_alive);
          res.set(boost::beast::http::field::retry_after, "1");
          r.send(std::move(res));
          return;
        }
        if (!*state) {
          r.send(json_answer(http::status::not_found,
                             json{{"error", "shelfsync never saw product \"" +
                                                shorten(code) + "\""}},
                             keep_alive));
          return;
        }
        json warehouses = json::object();
        for (auto& [id, s] : (*state)->record.stock) {
          json w{{"on_hand", s.on_hand},
                 {"reserved", s.reserved},
                 {"available", s.available()}};
          if (s.versioned) w["version"] = s.version;
          warehouses[id] = std::move(w);
        }
        // Shops are not driven in clustered mode yet: no shop views.
        r.send(json_answer(
            http::status::ok,
            json{{"product", code},
                 {"warehouses", std::move(warehouses)},
                 {"shops", json::object()},
                 {"cluster", {{"applied_seq", (*state)->applied_seq}}}},
            keep_alive));
      });
}

void http_api::get_product(const std::string& code, const http::request& req,
                           http::responder r) {
  if (cluster_ != nullptr) return get_cluster_product(code, req, std::move(r));
  auto keep_alive = req.keep_alive();
  engine_.product(
      code, [this, code, r, keep_alive](caf::expected<product_record> rec) {
        if (!rec) {
          auto missing = rec.error() == ec::not_found;
          r.send(json_answer(
              missing ? http::status::not_found
                      : http::status::internal_server_error,
              json{{"error", missing ? "shelfsync never saw product \"" +
                                           shorten(code) + "\""
                                     : to_string(rec.error())}},
              keep_alive));
          return;
        }
        auto body =
            product_json(code, *rec, *engine_.current_config(), engine_.db());
        r.send(json_answer(http::status::ok, body, keep_alive));
      });
}

void http_api::get_explanation(const std::string& code, std::string_view target,
                               const http::request& req, http::responder r) {
  std::string shop;
  if (!query_parameter(target, "shop", shop) || shop.empty()) {
    r.send(error_answer(http::status::bad_request,
                        "missing query parameter shop: which shop's numbers "
                        "to explain, e.g. ?shop=eu-store",
                        req));
    return;
  }
  auto conf = engine_.current_config();
  if (conf->find_shop(shop) == nullptr) {
    r.send(error_answer(http::status::not_found,
                        "no shop \"" + shorten(shop) + "\" in the config",
                        req));
    return;
  }
  auto keep_alive = req.keep_alive();
  if (cluster_ != nullptr)
    return get_cluster_explanation(code, conf, shop, keep_alive, std::move(r));
  engine_.product(code, [this, conf, code, shop, r,
                         keep_alive](caf::expected<product_record> rec) {
    auto answer = [&](http::status status, const json& body) {
      r.send(json_answer(status, body, keep_alive, 2));
    };
    if (!rec) {
      if (rec.error() == ec::not_found)
        return answer(http::status::not_found,
                      json{{"error", "shelfsync never saw product \"" +
                                         shorten(code) + "\""}});
      return answer(http::status::internal_server_error,
                    json{{"error", to_string(rec.error())}});
    }
    auto x = explain_product(engine_.db(), *conf, *conf->find_shop(shop), code,
                             *rec);
    if (!x)
      return answer(http::status::internal_server_error,
                    json{{"error", to_string(x.error())}});
    answer(http::status::ok, *x);
  });
}

void http_api::get_cluster_explanation(const std::string& code, config_ptr conf,
                                       const std::string& shop, bool keep_alive,
                                       http::responder r) {
  // On one of the node's request threads: the reads block.
  cluster_->read_async([this, code, conf, shop, keep_alive,
                        r](cluster::jetstream& js) {
    auto answer = [&](http::status status, const json& body) {
      auto res = json_answer(status, body, keep_alive, 2);
      if (status == http::status::service_unavailable)
        res.set(boost::beast::http::field::retry_after, "1");
      r.send(std::move(res));
    };
    auto state = cluster_->product(code);
    if (!state)
      return answer(http::status::service_unavailable,
                    json{{"error", "cannot read product \"" + shorten(code) +
                                       "\" from the cluster now: " +
                                       state.err().message}});
    if (!*state)
      return answer(http::status::not_found,
                    json{{"error", "shelfsync never saw product \"" +
                                       shorten(code) + "\""}});
    auto x = explain_in_cluster(js, cluster_->options().slots, *conf,
                                *conf->find_shop(shop), code, **state);
    if (!x)
      return answer(http::status::service_unavailable,
                    json{{"error", "cannot read the cluster's log now: " +
                                       x.err().message}});
    answer(http::status::ok, *x);
  });
}

void http_api::get_shops(const std::string& id, const http::request& req,
                         http::responder r) {
  auto keep_alive = req.keep_alive();
  auto unset = unset_variables(*engine_.current_config());
  // Clustered mode: the shop's driver as this node sees it.
  std::map<std::string, json> in_cluster;
  if (cluster_shops_ != nullptr)
    for (auto& c : cluster_shops_->status())
      in_cluster[c.shop] = cluster_shop_json(c);
  engine_.shops([id, r, keep_alive, unset,
                 in_cluster](std::vector<shop_status> all) {
    auto one = [&](const shop_status& s) {
      auto out = shop_json(s, shop_problem(unset, s.shop));
      if (auto c = in_cluster.find(s.shop); c != in_cluster.end())
        out["cluster"] = c->second;
      return out;
    };
    if (id.empty()) {
      json list = json::array();
      for (auto& s : all)
        list.push_back(one(s));
      r.send(json_answer(http::status::ok, json{{"shops", list}}, keep_alive));
      return;
    }
    for (auto& s : all)
      if (s.shop == id) {
        r.send(json_answer(http::status::ok, one(s), keep_alive));
        return;
      }
    r.send(json_answer(
        http::status::not_found,
        json{{"error", "no shop \"" + shorten(id) + "\" in the config"}},
        keep_alive));
  });
}

void http_api::post_resync(const std::string& id, const http::request& req,
                           http::responder r) {
  auto keep_alive = req.keep_alive();
  if (cluster_shops_ != nullptr) {
    // Clustered mode: recorded in the cluster, where the shop's driver (on
    // whichever node) finds it.
    cluster_shops_->request_resync_async(
        id, [id, r, keep_alive](cluster::outcome<cluster::shop_resync> done) {
          if (done) {
            r.send(json_answer(http::status::accepted,
                               json{{"resync", cluster_resync_json(*done)}},
                               keep_alive));
            return;
          }
          auto code = done.err().code;
          auto status = code == cluster::errc::not_found
                            ? http::status::not_found
                        : code == cluster::errc::conflict
                            ? http::status::conflict
                            : http::status::service_unavailable;
          auto message =
              code == cluster::errc::not_found
                  ? "no shop \"" + shorten(id) + "\" in the config"
              : code == cluster::errc::conflict
                  ? "a resync of shop \"" + id +
                        "\" is asked for or running; its progress is under "
                        "cluster.resync in GET /v1/shops/" +
                        id
                  : "cannot record the resync in the cluster: " +
                        done.err().message;
          r.send(json_answer(status, json{{"error", message}}, keep_alive));
        });
    return;
  }
  engine_.resync(id, [id, r, keep_alive](caf::expected<std::string> progress) {
    if (progress) {
      auto body = json{{"resync", json::parse(*progress, nullptr, false)}};
      r.send(json_answer(http::status::accepted, body, keep_alive));
      return;
    }
    auto& err = progress.error();
    auto code = err == ec::not_found  ? http::status::not_found
                : err == ec::conflict ? http::status::conflict
                                      : http::status::internal_server_error;
    auto message =
        err == ec::not_found ? "no shop \"" + shorten(id) + "\" in the config"
        : err == ec::conflict
            ? "a resync of shop \"" + id +
                  "\" is running; its progress is in GET /v1/shops/" + id
            : "cannot start the resync: " + to_string(err);
    r.send(json_answer(code, json{{"error", message}}, keep_alive));
  });
}

void http_api::post_preview(http::request&& req, http::responder r) {
  std::string_view target{req.target().data(), req.target().size()};
  size_t top = 10;
  std::string given;
  if (query_parameter(target, "top", given)) {
    auto bad = given.empty() || given.size() > 4 ||
               given.find_first_not_of("0123456789") != std::string::npos;
    if (!bad) top = std::stoul(given);
    if (bad || top > 1000) {
      r.send(error_answer(http::status::bad_request,
                          "query parameter top must be a number from 0 to "
                          "1000 (largest changes listed per shop)",
                          req));
      return;
    }
  }
  // The same checks, with the same JSON paths, as check-config and reload.
  auto next = parse_config(req.body(), "request body");
  if (!next) {
    json list = json::array();
    for (auto& p : next.problems)
      list.push_back(json{{"path", p.path}, {"message", p.message}});
    r.send(json_answer(http::status::unprocessable_entity,
                       json{{"error", "the new config is invalid; nothing "
                                      "was previewed"},
                            {"problems", list}},
                       req));
    return;
  }
  std::lock_guard<std::mutex> guard{preview_mutex_};
  if (preview_running_) {
    r.send(error_answer(http::status::conflict,
                        "a config preview is running; ask again once it "
                        "has answered",
                        req));
    return;
  }
  if (preview_thread_.joinable()) preview_thread_.join(); // finished
  preview_running_ = true;
  auto keep_alive = req.keep_alive();
  auto conf = next.value;
  preview_thread_ = std::thread{[this, conf, top, r, keep_alive] {
    preview_options opts;
    opts.top = top;
    opts.cancel = &preview_cancel_;
    auto report = preview_config(engine_.db(), *conf, opts);
    if (report) {
      auto body = preview_json(*report);
      json warnings = json::array();
      for (auto& w : preview_warnings(*conf))
        warnings.push_back(w);
      if (conf->node.data_dir != engine_.current_config()->node.data_dir)
        warnings.push_back("node.data_dir differs from the running "
                           "server's; node settings take effect only after a "
                           "restart, and the preview read the running "
                           "server's store");
      body["warnings"] = std::move(warnings);
      r.send(json_answer(http::status::ok, body, keep_alive, 2));
    } else {
      r.send(json_answer(http::status::internal_server_error,
                         json{{"error", "the preview failed: " +
                                            error_message(report.error())}},
                         keep_alive));
    }
    preview_running_ = false;
  }};
}

void http_api::get_cluster_deliveries(const shop_config& shop,
                                      delivery_state state,
                                      const std::string& cursor, size_t limit,
                                      const http::request& req,
                                      http::responder r) {
  auto keep_alive = req.keep_alive();
  if (limit == 0) limit = listings::default_limit;
  // On one of the node's request threads: the records are read from the
  // cluster (every record of the shop, then the page after the cursor).
  cluster_->post([this, shop, state, cursor, limit, r, keep_alive] {
    auto all = cluster::scan_deliveries(cluster_->js(), shop.id);
    if (!all) {
      r.send(json_answer(http::status::service_unavailable,
                         json{{"error", "cannot read the cluster's delivery "
                                        "records: " +
                                            all.err().message}},
                         keep_alive));
      return;
    }
    json entries = json::array();
    std::string last;
    bool more = false;
    for (auto i = all->upper_bound(cursor); i != all->end(); ++i) {
      json locations = json::array();
      for (auto& [location, d] : i->second.locations) {
        bool in_state = state == delivery_state::failed
                            ? !d.failed.empty() && !d.pending
                            : d.pending.has_value();
        if (!in_state) continue;
        json x = shop.channel == channel_kind::amazon
                     ? json{{"sku", i->first}}
                     : json{{"location", location}};
        if (state == delivery_state::failed) {
          x["value"] = nullptr;
          x["product_seq"] = d.failed_seq;
          x["request"] = nullptr;
          x["error"] = json{{"message", d.failed}, {"permanent", true}};
        } else {
          x["value"] = *d.pending;
          x["product_seq"] = d.pending_seq;
          x["request"] = d.key.empty() ? json() : json(d.key);
          x["error"] = nullptr;
        }
        x["confirmed"] = d.confirmed ? json(*d.confirmed) : json();
        locations.push_back(std::move(x));
      }
      if (locations.empty()) continue;
      if (entries.size() == limit) {
        more = true;
        break;
      }
      last = i->first;
      entries.push_back(
          json{{"product", i->first}, {"locations", std::move(locations)}});
    }
    r.send(json_answer(http::status::ok,
                       json{{"shop", shop.id},
                            {"state", to_string(state)},
                            {"entries", std::move(entries)},
                            {"next_cursor", more ? json(last) : json()}},
                       keep_alive));
  });
}

void http_api::get_deliveries(const std::string& id, std::string_view target,
                              const http::request& req, http::responder r) {
  auto conf = engine_.current_config();
  auto* shop = conf->find_shop(id);
  if (shop == nullptr) {
    r.send(error_answer(http::status::not_found,
                        "no shop \"" + shorten(id) + "\" in the config", req));
    return;
  }
  std::optional<http::response> bad;
  std::string state_text;
  std::string cursor;
  size_t limit = 0;
  constexpr auto states = "one of failed, pending, in_flight";
  bool has_state = query_value(target, "state", state_text, bad, req);
  if (!bad && !has_state)
    bad = json_answer(
        http::status::bad_request,
        json{{"error", std::string{"missing query parameter state: "} + states},
             {"parameter", "state"}},
        req);
  delivery_state state = delivery_state::pending;
  if (!bad) {
    if (state_text == "failed")
      state = delivery_state::failed;
    else if (state_text == "in_flight")
      state = delivery_state::in_flight;
    else if (state_text != "pending")
      bad = parameter_answer("state",
                             std::string{"must be "} + states + ", got \"" +
                                 shorten(state_text) + "\"",
                             req);
  }
  if (!bad && query_value(target, "cursor", cursor, bad, req) &&
      cursor.size() > max_code_bytes)
    bad =
        parameter_answer("cursor", "longer than any cursor of this list", req);
  if (!bad) limit_parameter(target, limit, bad, req);
  if (bad) {
    r.send(std::move(*bad));
    return;
  }
  if (cluster_shops_ != nullptr && cluster_ != nullptr) {
    if (state == delivery_state::pending) {
      r.send(error_answer(
          http::status::not_implemented,
          "in clustered mode the pending list is not kept: what waits is "
          "every product state past shop \"" +
              shorten(id) +
              "\"'s checkpoint (cluster.checkpoint in GET /v1/shops/" +
              shorten(id) + "); state=in_flight and state=failed are listed",
          req));
      return;
    }
    return get_cluster_deliveries(*shop, state, cursor, limit, req,
                                  std::move(r));
  }
  auto page = listings::deliveries(engine_.db(), *shop, state, cursor, limit);
  if (!page) {
    if (page.error() == ec::invalid_input)
      r.send(parameter_answer("cursor", error_message(page.error()), req));
    else
      r.send(error_answer(
          http::status::internal_server_error,
          "cannot list deliveries: " + error_message(page.error()), req));
    return;
  }
  r.send(json_answer(http::status::ok, *page, req));
}

void http_api::get_product_list(std::string_view target,
                                const http::request& req, http::responder r) {
  std::optional<http::response> bad;
  std::string prefix;
  std::string cursor;
  size_t limit = 0;
  if (query_value(target, "prefix", prefix, bad, req) &&
      prefix.size() > max_code_bytes)
    bad = parameter_answer("prefix", "longer than any product code (128)", req);
  if (!bad && query_value(target, "cursor", cursor, bad, req) &&
      cursor.size() > max_code_bytes)
    bad = parameter_answer("cursor", "longer than any product code (128)", req);
  if (!bad) limit_parameter(target, limit, bad, req);
  if (bad) {
    r.send(std::move(*bad));
    return;
  }
  auto page = listings::products(engine_.db(), prefix, cursor, limit);
  if (!page) {
    r.send(error_answer(http::status::internal_server_error,
                        "cannot list products: " + error_message(page.error()),
                        req));
    return;
  }
  r.send(json_answer(http::status::ok, *page, req));
}

void http_api::post_backup(const http::request& req, http::responder r) {
  auto body = json::parse(req.body(), nullptr, false);
  if (!body.is_object() || !body.contains("dir") || !body["dir"].is_string() ||
      body["dir"].get<std::string>().empty() ||
      body["dir"].get<std::string>()[0] != '/') {
    r.send(json_answer(
        http::status::unprocessable_entity,
        json{{"error", "the body must be {\"dir\": \"/absolute/new/dir\"}: "
                       "where the server writes the copy"},
             {"field", "dir"}},
        req));
    return;
  }
  auto dir = body["dir"].get<std::string>();
  // A checkpoint flushes and links files: quick on one file system, a copy
  // otherwise. It runs on this I/O thread; the others go on serving.
  auto seq = engine_.db().backup_to(dir);
  if (!seq) {
    auto& err = seq.error();
    r.send(error_answer(err == ec::invalid_input
                            ? http::status::conflict
                            : http::status::internal_server_error,
                        error_message(err), req));
    return;
  }
  log_line(log_level::info, "backup",
           "backed the store up into " + dir + " (log up to seq " +
               std::to_string(*seq) + ")");
  r.send(json_answer(http::status::ok, json{{"dir", dir}, {"last_seq", *seq}},
                     req));
}

void http_api::get_cluster(const http::request& req, http::responder r) {
  auto keep_alive = req.keep_alive();
  if (cluster_ == nullptr) {
    r.send(json_answer(
        http::status::not_found,
        json{{"error", "this node is not clustered: it runs alone on its "
                       "own store (its config has no node.cluster)"},
             {"clustered", false}},
        keep_alive));
    return;
  }
  // Read from the cluster on one of the node's request threads (blocking).
  cluster_->view_async([this, r, keep_alive](
                           cluster::outcome<cluster::cluster_view> view) {
    if (!view) {
      auto res =
          json_answer(http::status::service_unavailable,
                      json{{"error", "cannot read the cluster's state now: " +
                                         view.err().message}},
                      keep_alive);
      res.set(boost::beast::http::field::retry_after, "1");
      r.send(std::move(res));
      return;
    }
    auto& o = cluster_->options();
    r.send(json_answer(http::status::ok,
                       cluster_json(*view, o.node_id, o.config_digest,
                                    cluster_->config_problem()),
                       keep_alive));
  });
}

void http_api::get_metrics(const http::request& req, http::responder r) {
  auto keep_alive = req.keep_alive();
  if (cluster_ != nullptr) {
    // The lag of the owned slots is read from the cluster first, on one of
    // the node's request threads (blocking calls).
    cluster_->owned_lags_async(
        [this, keep_alive,
         r](std::vector<std::pair<uint32_t, cluster::slot_lag>> lags) {
          render_metrics(keep_alive, r, std::move(lags));
        });
    return;
  }
  render_metrics(keep_alive, std::move(r), {});
}

void http_api::render_metrics(
    bool keep_alive, http::responder r,
    std::vector<std::pair<uint32_t, cluster::slot_lag>> lags) {
  engine_.shops([this, r, keep_alive,
                 lags = std::move(lags)](std::vector<shop_status> all) {
    auto text = metrics_.render(all);
    if (cluster_ != nullptr) {
      text += cluster_lag_metrics(lags, cluster_->config_problem().empty());
      // This node's share of the cluster (no JetStream call: read-only
      // figures the node keeps).
      text += "# HELP shelfsync_cluster_slot_owned Whether this node owns "
              "the slot (holds its lease, fencing deadline not passed).\n"
              "# TYPE shelfsync_cluster_slot_owned gauge\n";
      std::string applied =
          "# HELP shelfsync_cluster_slot_applied_seq Events-stream sequence "
          "this node applied the slot up to while it owned it.\n"
          "# TYPE shelfsync_cluster_slot_applied_seq gauge\n";
      for (auto& s : cluster_->slots()) {
        auto label = "{slot=\"" + std::to_string(s.slot) + "\"} ";
        text +=
            "shelfsync_cluster_slot_owned" + label + (s.owned ? "1\n" : "0\n");
        applied += "shelfsync_cluster_slot_applied_seq" + label +
                   std::to_string(s.applied_seq) + "\n";
      }
      text += applied;
      text += "# HELP shelfsync_cluster_lease_renewals_total Slot lease "
              "renewals, by result.\n"
              "# TYPE shelfsync_cluster_lease_renewals_total counter\n"
              "shelfsync_cluster_lease_renewals_total{result=\"ok\"} " +
              std::to_string(cluster_->renewals()) +
              "\nshelfsync_cluster_lease_renewals_total{result=\"failed\"} " +
              std::to_string(cluster_->failed_renewals()) + "\n";
    }
    r.send(http::make_response(http::status::ok, std::move(text),
                               "text/plain; version=0.0.4", keep_alive));
  });
}

} // namespace shelfsync
