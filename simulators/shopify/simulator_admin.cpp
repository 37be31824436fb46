// The simulator's seeding, fault switches and inspection, from C++ and over
// HTTP under /_sim/shopify/{shop}/.
#include "simulators/shopify/simulator.hpp"

#include "simulators/shopify/shop.hpp"

namespace shelfsync::shopify {

using sim::json;

namespace {

http::response json_response(http::status code, const json& body) {
  return http::make_response(code, body.dump(),
                             "application/json; charset=utf-8");
}

json faults_json(const sim_faults& f, const sim_fault_counts& injected) {
  json out{{"throttle_all", f.throttle_all},
           {"throttle_with_429", f.throttle_with_429},
           {"fail_next", f.fail_next},
           {"fail_status", f.fail_status},
           {"fail_when", to_string(f.fail_when)},
           {"drop_next", f.drop_next},
           {"drop_when", to_string(f.drop_when)},
           {"delay_ms", f.delay.count()},
           {"mutations_only", f.mutations_only}};
  http::add_json(out, f, injected);
  return out;
}

/// Applies the keys present in `doc` to `f`; returns an error sentence or "".
std::string update_faults(sim_faults& f, const json& doc) {
  if (!doc.is_object())
    return "the body must be a JSON object of fault switches";
  for (auto& item : doc.items()) {
    // Named, not bound: a lambda cannot capture a structured binding in
    // C++17 (clang refuses it).
    const auto& key = item.key();
    const auto& v = item.value();
    auto want = [&](bool ok, const char* what) {
      return ok ? std::string{}
                : "\"" + key + "\" must be " + std::string{what};
    };
    std::string err;
    if (key == "throttle_all" || key == "throttle_with_429" ||
        key == "mutations_only") {
      err = want(v.is_boolean(), "true or false");
      if (err.empty())
        (key == "throttle_all"        ? f.throttle_all
         : key == "throttle_with_429" ? f.throttle_with_429
                                      : f.mutations_only) = v.get<bool>();
    } else if (key == "fail_next" || key == "drop_next" ||
               key == "fail_status" || key == "delay_ms") {
      err = want(v.is_number_integer() && v.get<int64_t>() >= 0,
                 "a non-negative integer");
      if (err.empty()) {
        auto n = v.get<int64_t>();
        if (key == "fail_next")
          f.fail_next = static_cast<int>(n);
        else if (key == "drop_next")
          f.drop_next = static_cast<int>(n);
        else if (key == "fail_status")
          f.fail_status = static_cast<int>(n);
        else
          f.delay = std::chrono::milliseconds{n};
      }
    } else if (key == "throttle_rate" || key == "fail_rate" ||
               key == "drop_rate" || key == "slow_rate") {
      err = want(v.is_number() && v.get<double>() >= 0 && v.get<double>() <= 1,
                 "a number from 0 to 1");
      if (err.empty())
        (key == "throttle_rate" ? f.throttle_rate
         : key == "fail_rate"   ? f.fail_rate
         : key == "drop_rate"   ? f.drop_rate
                                : f.slow_rate) = v.get<double>();
    } else if (key == "slow_ms" || key == "random_seed") {
      err = want(v.is_number_unsigned(), "a non-negative integer");
      if (err.empty() && key == "slow_ms")
        f.slow = std::chrono::milliseconds{v.get<int64_t>()};
      else if (err.empty())
        f.random_seed = v.get<uint64_t>();
    } else if (key == "fail_when" || key == "drop_when") {
      bool ok = v == "before_apply" || v == "after_apply";
      err = want(ok, "\"before_apply\" or \"after_apply\"");
      if (err.empty())
        (key == "fail_when" ? f.fail_when : f.drop_when) =
            v == "before_apply" ? fault_point::before_apply
                                : fault_point::after_apply;
    } else {
      err = "unknown fault switch \"" + key + "\"";
    }
    if (!err.empty()) return err;
  }
  if (f.throttle_rate + f.fail_rate + f.drop_rate > 1)
    return "throttle_rate + fail_rate + drop_rate must not exceed 1";
  return {};
}

} // namespace

const char* to_string(fault_point p) {
  return p == fault_point::before_apply ? "before_apply" : "after_apply";
}

namespace {

json record_json(const sim_request_record& r) {
  json out{{"at", r.at},
           {"api_version", r.api_version},
           {"operation_name", r.operation_name},
           {"operations", r.operations},
           {"rows", r.rows},
           {"idempotency_keys", r.idempotency_keys},
           {"answer", r.answer},
           {"status", r.status},
           {"applied", r.applied},
           {"requested_cost", r.requested_cost}};
  out["actual_cost"] = r.actual_cost ? json(*r.actual_cost) : json(nullptr);
  if (!r.fault.empty()) out["fault"] = r.fault;
  if (!r.user_agent.empty()) out["user_agent"] = r.user_agent;
  return out;
}

} // namespace

// -- shops and data ----------------------------------------------------------

void simulator::add_shop(const std::string& shop, std::string access_token,
                         sim_bucket_config bucket) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& s = ensure(shop);
  s.access_token = std::move(access_token);
  s.bucket = bucket;
  s.available = bucket.maximum;
  s.refilled = shop_state::clock::now();
}

json simulator::seed(const std::string& shop, const json& doc) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!doc.is_object()) return {{"error", "the seed must be a JSON object"}};
  auto* existing = find(shop);
  if (existing == nullptr && !doc.contains("access_token"))
    return {{"error", "shop \"" + shop +
                          "\" does not exist; give \"access_token\" to "
                          "create it"}};
  auto& s = ensure(shop);
  if (auto t = doc.find("access_token"); t != doc.end()) {
    if (!t->is_string())
      return {{"error", "\"access_token\" must be a string"}};
    s.access_token = t->get<std::string>();
  }
  if (auto b = doc.find("bucket"); b != doc.end()) {
    s.bucket.maximum = b->value("maximum", s.bucket.maximum);
    s.bucket.restore_rate = b->value("restore_rate", s.bucket.restore_rate);
    s.available = s.bucket.maximum;
  }
  json created{{"locations", json::array()}, {"items", json::array()}};
  auto locations = doc.value("locations", json::array());
  for (size_t i = 0; i < locations.size(); ++i) {
    auto& l = locations[i];
    auto id = l.value("id", std::string{});
    if (!id.empty() && s.inventory.find_location(id) != nullptr) continue;
    auto name = l.value("name", std::string{});
    auto& loc = s.inventory.add_location(name, id);
    if (name.empty()) loc.name = "Location " + std::to_string(loc.legacy_id);
    loc.active = l.value("active", true);
    created["locations"].push_back({{"id", loc.id}, {"name", loc.name}});
  }
  auto items = doc.value("items", json::array());
  for (size_t i = 0; i < items.size(); ++i) {
    auto& spec = items[i];
    auto where = "items[" + std::to_string(i) + "]";
    if (!spec.is_object()) return {{"error", where + " must be an object"}};
    auto id = spec.value("id", std::string{});
    auto* it = id.empty() ? nullptr : s.inventory.find_item(id);
    if (it == nullptr) {
      if (!spec.contains("sku") || !spec["sku"].is_string())
        return {{"error", where + ".sku must be a string"}};
      it = &s.inventory.add_item(spec["sku"].get<std::string>(),
                                 spec.value("tracked", true), id);
    } else {
      it->sku = spec.value("sku", it->sku);
      it->tracked = spec.value("tracked", it->tracked);
    }
    it->non_mutable = spec.value("non_mutable", it->non_mutable);
    auto levels = spec.value("levels", json::object());
    for (auto& [loc_id, qty] : levels.items()) {
      if (s.inventory.find_location(loc_id) == nullptr)
        return {{"error", where + ".levels names unknown location " + loc_id}};
      if (!qty.is_number_integer())
        return {{"error",
                 where + ".levels[\"" + loc_id + "\"] must be an integer"}};
      auto& lv = s.inventory.activate(*it, loc_id);
      s.inventory.set_available(*it, lv, qty.get<int64_t>());
    }
    for (auto& loc_id : spec.value("inactive_levels", json::array())) {
      if (auto* lv = it->find_level(loc_id.get<std::string>()))
        lv->active = false;
    }
    created["items"].push_back({{"id", it->id}, {"sku", it->sku}});
  }
  return created;
}

std::string simulator::add_location(const std::string& shop, std::string name,
                                    std::string id) {
  json loc{{"id", id}, {"name", name}};
  json doc{{"locations", json::array({loc})}};
  auto r = seed(shop, doc);
  if (r.contains("error") || r["locations"].empty()) return id;
  return r["locations"][0]["id"].get<std::string>();
}

std::string simulator::add_item(const std::string& shop, std::string sku,
                                bool tracked,
                                const std::map<std::string, int64_t>& levels,
                                bool non_mutable) {
  json lv = json::object();
  for (auto& [loc, qty] : levels)
    lv[loc] = qty;
  json spec{{"sku", sku},
            {"tracked", tracked},
            {"non_mutable", non_mutable},
            {"levels", lv}};
  json doc{{"items", json::array({spec})}};
  auto r = seed(shop, doc);
  if (r.contains("error")) return {};
  return r["items"][0]["id"].get<std::string>();
}

void simulator::set_available(const std::string& shop,
                              const std::string& item_id,
                              const std::string& location_id,
                              int64_t available) {
  json lv = json::object();
  lv[location_id] = available;
  json spec{{"id", item_id}, {"levels", lv}};
  json doc{{"items", json::array({spec})}};
  seed(shop, doc);
}

sim::store simulator::inventory(const std::string& shop) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto* s = find(shop);
  return s ? s->inventory : sim::store{};
}

// -- faults and bucket -------------------------------------------------------

void simulator::set_faults(const std::string& shop, sim_faults f) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& s = ensure(shop);
  s.faults = f;
  s.fault_rng.seed(f.random_seed);
}

sim_faults simulator::faults(const std::string& shop) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto* s = find(shop);
  return s ? s->faults : sim_faults{};
}

sim_fault_counts simulator::injected(const std::string& shop) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto* s = find(shop);
  return s ? s->injected : sim_fault_counts{};
}

void simulator::set_bucket_available(const std::string& shop, double points) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& s = ensure(shop);
  s.available = std::min(points, s.bucket.maximum);
  s.refilled = shop_state::clock::now();
}

// -- inspection --------------------------------------------------------------

json simulator::levels(const std::string& shop) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto* s = find(shop);
  json items = json::array();
  if (s == nullptr) return {{"shop", shop}, {"items", items}};
  for (auto& it : s->inventory.items()) {
    json levels = json::array();
    for (auto& lv : it.levels) {
      std::string name;
      for (auto& l : s->inventory.locations())
        if (l.id == lv.location_id) name = l.name;
      levels.push_back({{"location", lv.location_id},
                        {"location_name", name},
                        {"active", lv.active},
                        {"available", lv.available},
                        {"on_hand", lv.on_hand},
                        {"writes", lv.writes},
                        {"history", lv.history}});
    }
    items.push_back({{"id", it.id},
                     {"sku", it.sku},
                     {"tracked", it.tracked},
                     {"levels", std::move(levels)}});
  }
  json locations = json::array();
  for (auto& l : s->inventory.locations())
    locations.push_back({{"id", l.id}, {"name", l.name}, {"active", l.active}});
  return {{"shop", shop}, {"locations", locations}, {"items", items}};
}

std::vector<sim_request_record>
simulator::requests(const std::string& shop) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto* s = find(shop);
  return s ? s->log : std::vector<sim_request_record>{};
}

void simulator::clear_requests(const std::string& shop) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto* s = find(shop)) s->log.clear();
}

simulator::reply simulator::inspect(const std::string& rest,
                                    const http::request& req) {
  // rest is "/{shop}/{what}".
  reply rep;
  auto slash = rest.find('/', 1);
  auto shop = rest.substr(1, slash == std::string::npos ? std::string::npos
                                                        : slash - 1);
  auto what =
      slash == std::string::npos ? std::string{} : rest.substr(slash + 1);
  auto get = req.method() == http::verb::get;
  auto post = req.method() == http::verb::post;
  auto del = req.method() == http::verb::delete_;
  auto bad = [&](http::status code, const std::string& msg) {
    rep.res = http::make_json_error(code, msg);
    return std::move(rep);
  };
  if (shop.empty())
    return bad(http::status::not_found, "the path must name a shop: "
                                        "/_sim/shopify/{shop}/...");
  bool known;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    known = find(shop) != nullptr;
  }
  if (!known && !(what == "seed" && post))
    return bad(http::status::not_found,
               "the simulator has no shop \"" + shop +
                   "\"; create it with POST /_sim/shopify/" + shop + "/seed");
  if (what == "levels" && get) {
    rep.res = json_response(http::status::ok, levels(shop));
  } else if (what == "requests" && get) {
    json list = json::array();
    for (auto& r : requests(shop))
      list.push_back(record_json(r));
    rep.res = json_response(http::status::ok, {{"requests", list}});
  } else if (what == "requests" && del) {
    clear_requests(shop);
    rep.res = json_response(http::status::ok, {{"cleared", true}});
  } else if (what == "seed" && post) {
    auto doc = json::parse(req.body(), nullptr, false);
    if (doc.is_discarded())
      return bad(http::status::bad_request, "the seed body is not valid JSON");
    auto created = seed(shop, doc);
    if (created.contains("error"))
      return bad(http::status::unprocessable_entity,
                 created["error"].get<std::string>());
    rep.res = json_response(http::status::ok, created);
  } else if (what == "faults" && (get || post)) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& s = *find(shop);
    if (post) {
      auto doc = json::parse(req.body(), nullptr, false);
      auto copy = s.faults;
      auto err = doc.is_discarded() ? "the faults body is not valid JSON"
                                    : update_faults(copy, doc);
      if (!err.empty()) {
        rep.res =
            http::make_json_error(http::status::unprocessable_entity, err);
        return rep;
      }
      s.faults = copy;
      if (doc.contains("random_seed")) s.fault_rng.seed(copy.random_seed);
    }
    rep.res =
        json_response(http::status::ok, faults_json(s.faults, s.injected));
  } else {
    return bad(http::status::not_found,
               "unknown simulator path; use levels, requests, seed or faults");
  }
  return rep;
}

} // namespace shelfsync::shopify
