// The simulator's front: routing, fault injection, the control and
// inspection endpoints, and the standalone server.
#include "simulators/amazon/simulator.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "simulators/amazon/state.hpp"

namespace shelfsync::amazon {

namespace {

/// The wall clock now, RFC 3339 UTC with milliseconds.
std::string wall_time_ms() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                now.time_since_epoch())
                .count();
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return out;
}

using nlohmann::json;

constexpr std::string_view sim_prefix = "/_sim/amazon/";
constexpr size_t log_limit = 10'000;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// Paths that belong to the simulated Amazon (as opposed to /_sim/ control).
bool is_amazon_path(std::string_view path) {
  return path == "/auth/o2/token" || starts_with(path, "/feeds/2021-06-30/") ||
         starts_with(path, "/listings/2021-08-01/") ||
         starts_with(path, "/_sim/amazon/uploads/") ||
         starts_with(path, "/_sim/amazon/downloads/");
}

/// What the random fault switches drew for one request.
struct random_fault {
  enum class kind { none, drop_before, drop_after, fail, throttle };
  kind what = kind::none;
  std::chrono::milliseconds slow{0};
};

/// Draws the random faults of a request: always three numbers, so that the
/// sequence depends on the request order alone. A kind the request is not
/// eligible for (see sim_faults) draws nothing.
random_fault draw_fault(const sim_faults& f, std::mt19937_64& rng,
                        const rate_table& rates, http::verb method,
                        const std::string& path) {
  random_fault out;
  if (!f.any()) return out;
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  auto x = unit(rng);
  auto after = unit(rng) < 0.5;
  auto slow = unit(rng);
  using kind = random_fault::kind;
  auto op = sim::route(method, path).op;
  if (x < f.drop_rate)
    out.what = after ? kind::drop_after : kind::drop_before;
  else if (x < f.drop_rate + f.fail_rate)
    out.what = op ? kind::fail : kind::none;
  else if (x < f.drop_rate + f.fail_rate + f.throttle_rate)
    out.what = op && rates[static_cast<size_t>(*op)].rate >= 0.5
                   ? kind::throttle
                   : kind::none;
  if (slow < f.slow_rate) out.slow = f.slow;
  return out;
}

/// Sets the random fault rates `body` names, all or none; returns an error
/// sentence or "".
std::string set_rates(sim_faults& f, const json& body) {
  auto next = f;
  for (auto [key, field] : {std::pair{"drop_rate", &next.drop_rate},
                            std::pair{"fail_rate", &next.fail_rate},
                            std::pair{"throttle_rate", &next.throttle_rate},
                            std::pair{"slow_rate", &next.slow_rate}}) {
    if (!body.contains(key)) continue;
    auto& v = body[key];
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)
      return std::string{"faults."} + key + ": expected a number from 0 to 1";
    *field = v.get<double>();
  }
  if (next.drop_rate + next.fail_rate + next.throttle_rate > 1)
    return "faults: drop_rate + fail_rate + throttle_rate must not exceed 1";
  f = next;
  return {};
}

json faults_to_json(const sim_faults& f, const sim_fault_counts& injected) {
  json out = {
      {"path_prefix", f.path_prefix}, {"fail_next", f.fail_next},
      {"fail_status", f.fail_status}, {"throttle_next", f.throttle_next},
      {"drop_next", f.drop_next},     {"drop_after_next", f.drop_after_next},
      {"delay_ms", f.delay.count()},  {"delay_next", f.delay_next},
      {"next_feed", nullptr}};
  if (f.next_feed) out["next_feed"] = to_string(*f.next_feed);
  http::add_json(out, f, injected);
  return out;
}

/// SP-API's answer to a request that failed inside Amazon.
http::response internal_failure(const sim_faults& f) {
  return sim::sp_error(static_cast<http::status>(f.fail_status),
                       "InternalFailure",
                       "We encountered an internal error. Please try again.");
}

http::response control_error(http::status status, std::string message) {
  return http::make_json_error(status, message);
}

json listing_to_json(const sim::listing& l) {
  json avail = json::array();
  for (auto& [code, qty] : l.availability) {
    json e = {{"fulfillment_channel_code", code}};
    if (qty) e["quantity"] = *qty;
    avail.push_back(std::move(e));
  }
  json out = {{"quantity", nullptr},
              {"history", l.history},
              {"sources", l.sources},
              {"productType", l.product_type},
              {"fulfillment_availability", std::move(avail)}};
  if (auto q = l.quantity()) out["quantity"] = *q;
  return out;
}

json feed_to_json(const sim_feed_view& f) {
  return {{"feedId", f.feed_id},
          {"sellerId", f.seller_id},
          {"processingStatus", to_string(f.status)},
          {"inputFeedDocumentId", f.input_document_id},
          {"resultFeedDocumentId", f.result_document_id},
          {"messages", f.messages},
          {"accepted", f.accepted},
          {"invalid", f.invalid},
          {"validationIssues", f.validation_issues}};
}

} // namespace

// -- state --------------------------------------------------------------------

simulator::state::state(simulator_config config)
    : cfg(std::move(config)), rng(std::random_device{}()),
      steady_origin(rate_clock::now()),
      wall_origin(std::chrono::system_clock::now()) {
  for (auto& s : cfg.sellers)
    sellers[s.seller_id].account = s;
  steady_origin = now();
}

rate_clock::time_point simulator::state::now() const {
  return cfg.now ? cfg.now() : rate_clock::now();
}

std::string simulator::state::iso_time(rate_clock::time_point t) const {
  auto wall = wall_origin +
              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  t - steady_origin);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                wall.time_since_epoch())
                .count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", text, static_cast<int>(ms % 1000));
  return out;
}

std::string simulator::state::random_text(size_t n) {
  static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i)
    out += alphabet[rng() % 36];
  return out;
}

sim_feed_view simulator::state::view(const sim::feed& f) const {
  sim_feed_view v;
  v.feed_id = f.id;
  v.seller_id = f.seller;
  v.status = status_of(f);
  v.input_document_id = f.input_document;
  v.result_document_id = f.result_document;
  v.messages = f.messages;
  v.accepted = f.accepted;
  v.invalid = f.invalid;
  v.validation_issues = f.validation_issues;
  return v;
}

processing_status simulator::state::status_of(const sim::feed& f) const {
  if (f.finished) return f.status;
  return now() < f.start ? processing_status::in_queue
                         : processing_status::in_progress;
}

http::response simulator::state::control(const sim::parsed_target& target,
                                         const http::request& req) {
  auto rest = target.path.substr(sim_prefix.size());
  auto method = req.method();
  if (rest == "faults") {
    if (method == http::verb::post) {
      auto body = json::parse(req.body(), nullptr, false);
      if (!body.is_object())
        return control_error(http::status::bad_request,
                             "faults: the body must be a JSON object");
      try {
        // Refuse bad rates before anything is applied.
        auto probe = body.value("reset", false) ? sim_faults{} : faults;
        if (auto err = set_rates(probe, body); !err.empty())
          return control_error(http::status::unprocessable_entity, err);
        if (body.value("reset", false)) {
          faults = {};
          for (auto& [id, s] : sellers)
            s.failures.clear();
        }
        auto count = [&](const char* key, uint32_t& field) {
          if (body.contains(key)) field = body[key].get<uint32_t>();
        };
        if (body.contains("path_prefix"))
          faults.path_prefix = body["path_prefix"].get<std::string>();
        count("fail_next", faults.fail_next);
        if (body.contains("fail_status"))
          faults.fail_status = body["fail_status"].get<int>();
        count("throttle_next", faults.throttle_next);
        count("drop_next", faults.drop_next);
        count("drop_after_next", faults.drop_after_next);
        count("delay_next", faults.delay_next);
        if (body.contains("delay_ms"))
          faults.delay =
              std::chrono::milliseconds{body["delay_ms"].get<int64_t>()};
        set_rates(faults, body);
        if (body.contains("slow_ms"))
          faults.slow =
              std::chrono::milliseconds{body["slow_ms"].get<uint32_t>()};
        if (body.contains("random_seed")) {
          faults.random_seed = body["random_seed"].get<uint64_t>();
          fault_rng.seed(faults.random_seed);
        }
        if (body.contains("rate_limits"))
          cfg.rate_limits = body["rate_limits"].get<bool>();
        if (body.contains("next_feed")) {
          auto v = body["next_feed"];
          if (v.is_null())
            faults.next_feed.reset();
          else if (v == "FATAL")
            faults.next_feed = processing_status::fatal;
          else if (v == "CANCELLED")
            faults.next_feed = processing_status::cancelled;
          else
            return control_error(http::status::bad_request,
                                 "faults.next_feed: expected FATAL, "
                                 "CANCELLED or null");
        }
        if (body.contains("queue_delay_ms"))
          cfg.queue_delay =
              std::chrono::milliseconds{body["queue_delay_ms"].get<int64_t>()};
        if (body.contains("processing_delay_ms"))
          cfg.processing_delay = std::chrono::milliseconds{
              body["processing_delay_ms"].get<int64_t>()};
        if (body.contains("gzip_reports"))
          cfg.gzip_reports = body["gzip_reports"].get<bool>();
        if (body.value("clear_sku_errors", false))
          for (auto& [id, s] : sellers)
            s.failures.clear();
        if (body.contains("sku_errors")) {
          size_t i = 0;
          for (auto& e : body["sku_errors"]) {
            auto where = "faults.sku_errors[" + std::to_string(i++) + "]";
            auto seller = sellers.find(e.value("seller", ""));
            if (seller == sellers.end())
              return control_error(http::status::unprocessable_entity,
                                   where + ".seller: unknown seller");
            auto kind = e.value("kind", "transient");
            if (kind != "transient" && kind != "permanent")
              return control_error(http::status::unprocessable_entity,
                                   where + ".kind: expected transient or "
                                           "permanent");
            auto times = e.value("times", kind == "transient" ? 1u : 0u);
            auto failure = kind == "transient" ? sim::transient_failure(times)
                                               : sim::permanent_failure(times);
            failure.code = e.value("code", failure.code);
            failure.message = e.value("message", failure.message);
            seller->second.failures[e.value("sku", "")] = failure;
          }
        }
      } catch (const json::exception& e) {
        return control_error(http::status::unprocessable_entity,
                             std::string{"faults: "} + e.what());
      }
    }
    return http::make_json_response(http::status::ok,
                                    faults_to_json(faults, injected).dump());
  }
  if (rest == "sellers" && method == http::verb::post) {
    const auto body = json::parse(req.body(), nullptr, false);
    sim_seller account;
    for (auto [key, field] :
         {std::pair{"seller_id", &account.seller_id},
          std::pair{"client_id", &account.client_id},
          std::pair{"client_secret", &account.client_secret},
          std::pair{"refresh_token", &account.refresh_token}}) {
      const json* value = nullptr;
      if (body.is_object() && body.contains(key)) value = &body[key];
      if (!value || !value->is_string() || value->get<std::string>().empty())
        return control_error(http::status::unprocessable_entity,
                             std::string{"sellers."} + key +
                                 ": required, a non-empty string");
      *field = value->get<std::string>();
    }
    auto id = account.seller_id;
    sellers[id].account = std::move(account);
    return http::make_json_response(http::status::ok,
                                    json{{"sellerId", id}}.dump());
  }
  if (method != http::verb::get)
    return control_error(http::status::method_not_allowed,
                         "use GET for inspection endpoints");
  if (rest == "feeds") {
    json list = json::array();
    for (auto& f : feeds)
      list.push_back(feed_to_json(view(f)));
    return http::make_json_response(http::status::ok,
                                    json{{"feeds", std::move(list)}}.dump());
  }
  if (rest == "requests") {
    json list = json::array();
    for (auto& r : log)
      list.push_back({{"method", r.method},
                      {"path", r.path},
                      {"status", r.status},
                      {"at", r.at},
                      {"user_agent", r.user_agent}});
    return http::make_json_response(http::status::ok,
                                    json{{"requests", std::move(list)}}.dump());
  }
  auto slash = rest.find('/');
  if (slash != std::string::npos && rest.substr(slash) == "/listings") {
    auto seller = sellers.find(sim::percent_decode(rest.substr(0, slash)));
    if (seller == sellers.end())
      return control_error(http::status::not_found, "unknown seller");
    json listings = json::object();
    for (auto& [sku, l] : seller->second.listings)
      listings[sku] = listing_to_json(l);
    return http::make_json_response(
        http::status::ok,
        json{{"sellerId", seller->first}, {"listings", std::move(listings)}}
            .dump());
  }
  return control_error(http::status::not_found,
                       "no such simulator endpoint: " + target.path);
}

// -- simulator ----------------------------------------------------------------

simulator::simulator(simulator_config cfg)
    : state_(std::make_unique<state>(std::move(cfg))) {}

simulator::~simulator() = default;

bool simulator::handle(http::request& req, const http::responder& r) {
  auto target = sim::parse_target(
      std::string_view{req.target().data(), req.target().size()});
  auto& path = target.path;
  bool amazon = is_amazon_path(path);
  if (!amazon && !starts_with(path, sim_prefix)) return false;
  auto& st = *state_;
  std::unique_lock<std::mutex> lock{st.mtx};
  st.advance_locked();
  if (!amazon) {
    auto res = st.control(target, req);
    lock.unlock();
    r.send(std::move(res));
    return true;
  }
  sim_request_view entry{std::string{req.method_string()}, path, 0};
  entry.at = wall_time_ms();
  if (auto agent = req.find("User-Agent"); agent != req.end())
    entry.user_agent = std::string{agent->value()};
  auto& f = st.faults;
  bool hit = starts_with(path, f.path_prefix);
  std::optional<http::response> res;
  bool drop_after = false;
  std::chrono::milliseconds delay{0};
  using kind = random_fault::kind;
  auto drawn =
      hit ? draw_fault(f, st.fault_rng, st.cfg.rates, req.method(), path)
          : random_fault{};
  auto& injected = st.injected;
  if (hit && f.drop_next > 0) {
    --f.drop_next;
    ++injected.dropped;
  } else if (hit && f.fail_next > 0) {
    --f.fail_next;
    ++injected.failed;
    res = internal_failure(f);
  } else if (hit && f.throttle_next > 0) {
    --f.throttle_next;
    ++injected.throttled;
    res = sim::quota_exceeded();
  } else if (drawn.what == kind::drop_before) {
    ++injected.dropped;
  } else if (drawn.what == kind::fail) {
    ++injected.failed;
    res = internal_failure(f);
  } else if (drawn.what == kind::throttle) {
    ++injected.throttled;
    res = sim::quota_exceeded();
  } else {
    if (path == "/auth/o2/token")
      res = st.lwa_token(req);
    else if (starts_with(path, "/_sim/amazon/uploads/"))
      res = st.upload(sim::percent_decode(path.substr(21)), req);
    else if (starts_with(path, "/_sim/amazon/downloads/"))
      res = st.download(sim::percent_decode(path.substr(23)));
    else
      res = st.sp_api(target, req);
    if (hit && f.drop_after_next > 0) {
      --f.drop_after_next;
      drop_after = true;
    } else if (drawn.what == kind::drop_after) {
      drop_after = true;
    }
    if (drop_after) ++injected.dropped;
  }
  if (hit && f.delay_next > 0 && f.delay.count() > 0) {
    --f.delay_next;
    delay = f.delay;
  } else if (drawn.slow.count() > 0) {
    delay = drawn.slow;
  }
  if (delay.count() > 0) ++injected.slowed;
  if (res && !drop_after) entry.status = static_cast<int>(res->result_int());
  st.log.push_back(std::move(entry));
  if (st.log.size() > log_limit) st.log.pop_front();
  if (drop_after) res.reset();
  if (delay.count() > 0) {
    st.sender.post(delay, r, std::move(res));
    return true;
  }
  lock.unlock();
  if (res)
    r.send(std::move(*res));
  else
    r.drop();
  return true;
}

void simulator::add_seller(sim_seller seller) {
  std::lock_guard<std::mutex> guard{state_->mtx};
  auto id = seller.seller_id;
  state_->sellers[id].account = std::move(seller);
}

void simulator::set_faults(sim_faults faults) {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->fault_rng.seed(faults.random_seed);
  state_->faults = std::move(faults);
}

sim_fault_counts simulator::injected() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->injected;
}

sim_faults simulator::faults() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->faults;
}

void simulator::fail_sku(const std::string& seller_id, const std::string& sku,
                         sim::sku_failure failure) {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->sellers.at(seller_id).failures[sku] = std::move(failure);
}

void simulator::clear_sku_failures() {
  std::lock_guard<std::mutex> guard{state_->mtx};
  for (auto& [id, s] : state_->sellers)
    s.failures.clear();
}

void simulator::set_processing_delay(std::chrono::milliseconds queue,
                                     std::chrono::milliseconds processing) {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->cfg.queue_delay = queue;
  state_->cfg.processing_delay = processing;
}

void simulator::set_gzip_reports(bool on) {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->cfg.gzip_reports = on;
}

void simulator::advance() {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->advance_locked();
}

std::optional<sim::listing> simulator::listing(const std::string& seller_id,
                                               const std::string& sku) const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->advance_locked();
  auto seller = state_->sellers.find(seller_id);
  if (seller == state_->sellers.end()) return std::nullopt;
  auto it = seller->second.listings.find(sku);
  if (it == seller->second.listings.end()) return std::nullopt;
  return it->second;
}

std::vector<sim_feed_view> simulator::feeds() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->advance_locked();
  std::vector<sim_feed_view> out;
  for (auto& f : state_->feeds) {
    auto v = state_->view(f);
    auto doc = state_->documents.find(f.input_document);
    if (doc != state_->documents.end()) v.body = doc->second.body;
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<sim_request_view> simulator::requests() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return {state_->log.begin(), state_->log.end()};
}

uint64_t simulator::tokens_issued() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->tokens_issued;
}

// -- simulator_server ---------------------------------------------------------

simulator_server::simulator_server(simulator& sim, uint16_t port,
                                   std::string host)
    : host_(std::move(host)) {
  http::server_options opts;
  opts.host = host_;
  opts.port = port;
  opts.threads = 2;
  server_ = std::make_unique<http::server>(
      opts, [&sim](http::request&& req, http::responder r) {
        if (!sim.handle(req, r))
          r.send(http::make_json_error(http::status::not_found,
                                       "no simulator serves " +
                                           std::string{req.target()}));
      });
  port_ = server_->start();
}

simulator_server::~simulator_server() { stop(); }

uint16_t simulator_server::port() const { return port_; }

std::string simulator_server::base_url() const {
  return "http://" + host_ + ":" + std::to_string(port_);
}

void simulator_server::stop() {
  if (server_) server_->stop();
}

} // namespace shelfsync::amazon
