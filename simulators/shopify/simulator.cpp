#include "simulators/shopify/simulator.hpp"

#include <cmath>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <random>
#include <thread>

#include "simulators/shopify/cost.hpp"
#include "simulators/shopify/document.hpp"
#include "simulators/shopify/shop.hpp"
#include "simulators/shopify/validate.hpp"

namespace shelfsync::shopify {

using sim::json;

// -- timer -------------------------------------------------------------------

/// One thread that runs delayed answers at their time.
struct simulator::timer {
  using clock = std::chrono::steady_clock;

  timer()
      : thread([this] {
          loop();
        }) {}

  ~timer() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      stopping = true;
    }
    cv.notify_all();
    thread.join();
  }

  void at(clock::time_point when, std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      tasks.emplace(when, std::move(fn));
    }
    cv.notify_all();
  }

  void loop() {
    std::unique_lock<std::mutex> lock{mtx};
    while (!stopping) {
      if (tasks.empty()) {
        cv.wait(lock);
        continue;
      }
      auto first = tasks.begin();
      if (clock::now() < first->first) {
        cv.wait_until(lock, first->first);
        continue;
      }
      auto fn = std::move(first->second);
      tasks.erase(first);
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::mutex mtx;
  std::condition_variable cv;
  std::multimap<clock::time_point, std::function<void()>> tasks;
  bool stopping = false;
  std::thread thread;
};

// -- helpers -----------------------------------------------------------------

namespace {

std::string now_with_millis() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                now.time_since_epoch())
                .count() %
            1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

http::response json_response(http::status code, const json& body) {
  auto res =
      http::make_response(code, body.dump(), "application/json; charset=utf-8");
  return res;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/')
      ++i;
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

/// `[/{shop}]/admin/api/{version}/graphql.json`.
bool is_graphql_path(const std::vector<std::string>& p) {
  if (p.size() == 4)
    return p[0] == "admin" && p[1] == "api" && p[3] == "graphql.json";
  if (p.size() == 5)
    return p[1] == "admin" && p[2] == "api" && p[4] == "graphql.json";
  return false;
}

json graphql_body(json errors) { return {{"errors", std::move(errors)}}; }

/// What the random fault switches drew for one request.
struct random_fault {
  enum class kind { none, throttle, fail, drop } what = kind::none;
  fault_point when = fault_point::before_apply;
  std::chrono::milliseconds slow{0};
};

/// Draws the random faults of one request: always three numbers, so that
/// the sequence depends on the request order alone.
random_fault draw_fault(const sim_faults& f, std::mt19937_64& rng) {
  random_fault out;
  if (!f.any()) return out;
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  auto x = unit(rng);
  auto when = unit(rng);
  auto slow = unit(rng);
  using kind = random_fault::kind;
  if (x < f.throttle_rate)
    out.what = kind::throttle;
  else if (x < f.throttle_rate + f.fail_rate)
    out.what = kind::fail;
  else if (x < f.throttle_rate + f.fail_rate + f.drop_rate)
    out.what = kind::drop;
  out.when = when < 0.5 ? fault_point::before_apply : fault_point::after_apply;
  if (slow < f.slow_rate) out.slow = f.slow;
  return out;
}

json cost_extension(double requested, std::optional<double> actual,
                    const json& throttle_status) {
  json cost{{"requestedQueryCost", static_cast<int64_t>(requested)}};
  cost["actualQueryCost"] =
      actual ? json(static_cast<int64_t>(*actual)) : json(nullptr);
  cost["throttleStatus"] = throttle_status;
  return {{"cost", cost}};
}

} // namespace

// -- simulator ---------------------------------------------------------------

simulator::simulator(simulator_options opts)
    : opts_(opts), timer_(std::make_unique<timer>()) {}

simulator::~simulator() = default;

simulator::shop_state* simulator::find(const std::string& shop) {
  auto i = shops_.find(shop);
  return i == shops_.end() ? nullptr : i->second.get();
}

const simulator::shop_state* simulator::find(const std::string& shop) const {
  auto i = shops_.find(shop);
  return i == shops_.end() ? nullptr : i->second.get();
}

simulator::shop_state& simulator::ensure(const std::string& shop) {
  auto& slot = shops_[shop];
  if (!slot) slot = std::make_unique<shop_state>();
  return *slot;
}

bool simulator::handle(http::request& req, http::responder& r) {
  auto target = std::string_view{req.target().data(), req.target().size()};
  auto path = target.substr(0, target.find('?'));
  auto parts = split_path(path);
  bool graphql_path = is_graphql_path(parts);
  bool sim_path =
      parts.size() >= 2 && parts[0] == "_sim" && parts[1] == "shopify";
  if (!graphql_path && !sim_path) return false;
  auto rep = answer(req);
  auto deliver = [rep = std::move(rep), r]() mutable {
    if (rep.drop)
      r.drop();
    else
      r.send(std::move(rep.res));
  };
  if (rep.delay.count() > 0)
    timer_->at(timer::clock::now() + rep.delay, std::move(deliver));
  else
    deliver();
  return true;
}

simulator::reply simulator::answer(const http::request& req) {
  auto target = std::string_view{req.target().data(), req.target().size()};
  auto path = target.substr(0, target.find('?'));
  auto parts = split_path(path);
  if (parts.size() >= 2 && parts[0] == "_sim")
    return inspect(std::string{path.substr(std::strlen("/_sim/shopify"))}, req);
  // [/{shop}]/admin/api/{version}/graphql.json
  std::string shop_name = parts.size() == 5 ? parts[0] : "default";
  auto& version = parts[parts.size() - 2];
  std::lock_guard<std::mutex> guard{mtx_};
  auto* shop = find(shop_name);
  if (shop == nullptr) {
    reply rep;
    rep.res = json_response(http::status::not_found, {{"errors", "Not Found"}});
    return rep;
  }
  return graphql(*shop, version, req);
}

simulator::reply simulator::graphql(shop_state& shop,
                                    const std::string& version_text,
                                    const http::request& req) {
  using clock = shop_state::clock;
  auto now = clock::now();
  sim_request_record rec;
  rec.at = now_with_millis();
  if (auto agent = req.find("User-Agent"); agent != req.end())
    rec.user_agent = std::string{agent->value()};
  auto version =
      api_version::parse(version_text).value_or(opts_.oldest_supported);
  if (version < opts_.oldest_supported) version = opts_.oldest_supported;
  rec.api_version = version.to_string();
  reply rep;
  random_fault drawn;
  auto finish = [&](http::status code, const json& body, std::string cls) {
    rep.res = json_response(code, body);
    rep.res.set("X-Shopify-API-Version", rec.api_version);
    rep.res.set("X-Request-Id", "sim-" + std::to_string(shop.log.size() + 1));
    rec.answer = std::move(cls);
    rec.status = static_cast<int>(code);
    rep.delay = shop.faults.delay + drawn.slow;
    shop.log.push_back(rec);
    return std::move(rep);
  };

  // Authentication comes first, as on Shopify.
  auto token = req.find("X-Shopify-Access-Token");
  if (token == req.end() || token->value() != shop.access_token)
    return finish(http::status::unauthorized,
                  {{"errors", "[API] Invalid API key or access token "
                              "(unrecognized login or wrong password)"}},
                  "unauthorized");

  // Faults that strike before anything is applied.
  auto& f = shop.faults;
  using random_kind = random_fault::kind;
  auto server_error = [&](fault_point when) {
    rec.fault = to_string(when);
    auto code = static_cast<http::status>(f.fail_status);
    return finish(
        code,
        {{"errors", std::string{boost::beast::http::obsolete_reason(code)}}},
        "server_error");
  };
  auto dropped = [&](fault_point when, const json& body) {
    rec.fault = to_string(when);
    auto r = finish(http::status::ok, body, "dropped");
    r.drop = true;
    return r;
  };
  auto fault_before = [&]() -> std::optional<reply> {
    if (f.fail_next > 0 && f.fail_when == fault_point::before_apply) {
      --f.fail_next;
      return server_error(fault_point::before_apply);
    }
    if (f.drop_next > 0 && f.drop_when == fault_point::before_apply) {
      --f.drop_next;
      return dropped(fault_point::before_apply, json::object());
    }
    if (drawn.when != fault_point::before_apply) return std::nullopt;
    if (drawn.what == random_kind::fail) {
      ++shop.injected.failed;
      return server_error(fault_point::before_apply);
    }
    if (drawn.what == random_kind::drop) {
      ++shop.injected.dropped;
      return dropped(fault_point::before_apply, json::object());
    }
    return std::nullopt;
  };
  if (!f.mutations_only)
    if (auto r = fault_before()) return std::move(*r);

  // The request body: JSON {query, variables, operationName} or raw GraphQL.
  std::string query;
  json variables = json::object();
  std::string operation_name;
  auto ctype = req.find(boost::beast::http::field::content_type);
  bool raw_graphql =
      ctype != req.end() && ctype->value().find("application/graphql") !=
                                boost::beast::string_view::npos;
  if (req.method() != http::verb::post)
    return finish(http::status::bad_request,
                  {{"errors",
                    {{"query", "Required parameter missing or "
                               "invalid"}}}},
                  "bad_request");
  if (raw_graphql) {
    query = req.body();
  } else {
    auto body = json::parse(req.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("query") ||
        !body["query"].is_string())
      return finish(http::status::bad_request,
                    {{"errors",
                      {{"query", "Required parameter missing or "
                                 "invalid"}}}},
                    "bad_request");
    query = body["query"].get<std::string>();
    if (body.contains("variables") && body["variables"].is_object())
      variables = body["variables"];
    if (body.contains("operationName") && body["operationName"].is_string())
      operation_name = body["operationName"].get<std::string>();
  }
  rec.operation_name = operation_name;

  // Parse, validate, pick the operation and coerce the variables; none of
  // these is charged.
  auto parsed = graphql::parse(query);
  if (!parsed.ok())
    return finish(
        http::status::ok,
        graphql_body(json::array({sim::make_error(
            parsed.error->message, parsed.error->at, nullptr, nullptr)})),
        "graphql_error");
  auto schema = sim::schema::for_version(version);
  auto errors = sim::validate(*schema, parsed.doc);
  if (!errors.empty())
    return finish(http::status::ok, graphql_body(errors), "graphql_error");
  auto* op = sim::select_operation(parsed.doc, operation_name, errors);
  if (op == nullptr)
    return finish(http::status::ok, graphql_body(errors), "graphql_error");
  if (rec.operation_name.empty()) rec.operation_name = op->name;
  auto vars = sim::coerce_variables(*schema, *op, variables, errors);
  if (!errors.empty())
    return finish(http::status::ok, graphql_body(errors), "graphql_error");
  for (auto& sel : op->selections)
    if (sel.type == graphql::selection::kind::field)
      rec.operations.push_back(sel.name);
  bool faults_apply =
      !f.mutations_only || op->kind == graphql::operation_kind::mutation;
  if (faults_apply) {
    drawn = draw_fault(f, shop.fault_rng);
    if (drawn.slow.count() > 0) ++shop.injected.slowed;
  }
  if (faults_apply)
    if (auto r = fault_before()) return std::move(*r);

  // Cost and the leaky bucket.
  auto requested = sim::requested_cost(*schema, parsed.doc, *op, vars);
  rec.requested_cost = requested;
  if (requested > sim::max_query_cost) {
    auto cost = static_cast<int64_t>(requested);
    return finish(http::status::ok,
                  graphql_body(json::array(
                      {{{"message", "Query cost is " + std::to_string(cost) +
                                        ", which exceeds the single query max "
                                        "cost limit (1000).\n\nSee "
                                        "https://shopify.dev/concepts/"
                                        "about-apis/rate-limits for more "
                                        "information on how the\ncost of a "
                                        "query is calculated.\n\nTo query "
                                        "larger amounts of data with fewer "
                                        "limits, bulk operations should be "
                                        "used instead.\nSee "
                                        "https://shopify.dev/tutorials/"
                                        "perform-bulk-operations-with-admin-"
                                        "api for usage details.\n"},
                        {"extensions",
                         {{"code", "MAX_COST_EXCEEDED"},
                          {"cost", cost},
                          {"maxCost", 1000}}}}})),
                  "graphql_error");
  }
  shop.refill(now);
  if (f.throttle_all) shop.available = 0;
  if (drawn.what == random_kind::throttle) {
    ++shop.injected.throttled;
    shop.available = 0;
  }
  if (requested > shop.available) {
    json body = graphql_body(
        json::array({{{"message", "Throttled"},
                      {"extensions",
                       {{"code", "THROTTLED"},
                        {"documentation",
                         "https://shopify.dev/api/usage/rate-limits"}}}}}));
    body["extensions"] =
        cost_extension(requested, std::nullopt, shop.throttle_status());
    if (f.throttle_with_429) {
      auto wait = (requested - shop.available) / shop.bucket.restore_rate;
      auto r = finish(http::status::too_many_requests, body, "throttled");
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.1f", std::ceil(wait * 10) / 10);
      r.res.set(boost::beast::http::field::retry_after, buf);
      return r;
    }
    return finish(http::status::ok, body, "throttled");
  }
  shop.available -= requested;

  // Execute, then refund what was reserved but not used.
  sim::execution_env env{shop.inventory, shop.idempotency, version, now,
                         f.delay + drawn.slow};
  auto result = sim::execute(*schema, parsed.doc, *op, vars, env);
  auto actual = std::min(result.actual_cost, requested);
  shop.available =
      std::min(shop.bucket.maximum, shop.available + (requested - actual));
  rec.actual_cost = actual;
  rec.rows = result.rows;
  rec.idempotency_keys = result.idempotency_keys;
  rec.applied = result.wrote;
  json body = json::object();
  if (!result.errors.empty()) body["errors"] = result.errors;
  body["data"] = result.data;
  body["extensions"] =
      cost_extension(requested, actual, shop.throttle_status());
  std::string cls = !result.errors.empty() ? "graphql_error"
                    : result.replayed      ? "replayed"
                    : result.user_errors   ? "user_errors"
                                           : "ok";

  // Faults that strike after the request was applied.
  auto after = drawn.when == fault_point::after_apply;
  if (faults_apply && f.fail_next > 0 &&
      f.fail_when == fault_point::after_apply) {
    --f.fail_next;
    return server_error(fault_point::after_apply);
  }
  if (faults_apply && f.drop_next > 0 &&
      f.drop_when == fault_point::after_apply) {
    --f.drop_next;
    return dropped(fault_point::after_apply, body);
  }
  if (after && drawn.what == random_kind::fail) {
    ++shop.injected.failed;
    return server_error(fault_point::after_apply);
  }
  if (after && drawn.what == random_kind::drop) {
    ++shop.injected.dropped;
    return dropped(fault_point::after_apply, body);
  }
  return finish(http::status::ok, body, cls);
}

// -- standalone server -------------------------------------------------------

simulator_server::simulator_server(simulator& sim, http::server_options opts)
    : host_(opts.host) {
  server_ = std::make_unique<http::server>(opts, [&sim](http::request&& req,
                                                        http::responder r) {
    if (!sim.handle(req, r))
      r.send(http::make_json_error(http::status::not_found,
                                   "no such path on the Shopify simulator"));
  });
  server_->start();
}

simulator_server::~simulator_server() { stop(); }

uint16_t simulator_server::port() const { return server_->port(); }

std::string simulator_server::shop_url(const std::string& shop) const {
  auto base = "http://" + host_ + ":" + std::to_string(port());
  return shop == "default" ? base : base + "/" + shop;
}

void simulator_server::stop() { server_->stop(); }

} // namespace shelfsync::shopify
