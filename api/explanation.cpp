#include "api/explanation.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "api/product_history.hpp"
#include "core/clock.hpp"
#include "core/shop_view.hpp"

namespace shelfsync {

namespace {

using json = nlohmann::json;

json optional_json(const std::optional<int64_t>& x) {
  return x ? json(*x) : json();
}

json stock_json(const std::string& warehouse, const product_record& rec) {
  json out{{"warehouse", warehouse}};
  auto i = rec.stock.find(warehouse);
  if (i == rec.stock.end()) {
    out.update(json{{"on_hand", 0},
                    {"reserved", 0},
                    {"available", 0},
                    {"note", "no event for this warehouse yet"}});
    return out;
  }
  auto& s = i->second;
  out.update(json{{"on_hand", s.on_hand},
                  {"reserved", s.reserved},
                  {"available", s.available()},
                  {"last_changed_by_seq", s.last_seq}});
  if (s.versioned) out["version"] = s.version;
  return out;
}

/// The warehouses whose stock does not count for `shop`, with the reason.
json excluded_json(const config& conf, const shop_config& shop,
                   const product_record& rec) {
  json out = json::array();
  std::set<std::string> listed;
  auto add = [&](const std::string& wh, const char* reason) {
    auto x = stock_json(wh, rec);
    x["reason"] = reason;
    out.push_back(std::move(x));
  };
  for (auto& w : shop.warehouses) {
    listed.insert(w.warehouse);
    if (!w.enabled)
      add(w.warehouse, "disabled for this shop");
    else if (shop.channel == channel_kind::shopify && w.location.empty())
      add(w.warehouse, "enabled but not mapped to a location");
  }
  for (auto& w : conf.warehouses)
    if (listed.insert(w.id).second) add(w.id, "not listed for this shop");
  for (auto& [wh, s] : rec.stock)
    if (listed.insert(wh).second) add(wh, "no longer declared in the config");
  return out;
}

/// The rules of `shop` applied to `x` one at a time, with each result.
json calculation_json(const shop_config& shop, int64_t x, std::string detail,
                      int64_t& result) {
  json steps = json::array();
  steps.push_back(
      json{{"step", "available"}, {"value", x}, {"detail", std::move(detail)}});
  auto step = [&](const char* name, int64_t rule, stock_rules only,
                  std::string detail) {
    x = apply_rules(only, x);
    steps.push_back(
        json{{"step", name}, {"rule", rule}, {"value", x}, {"detail", detail}});
  };
  auto& r = shop.rules;
  if (r.buffer)
    step("buffer", *r.buffer, stock_rules{r.buffer, {}, {}},
         "minus " + std::to_string(*r.buffer) + ", never below 0");
  if (r.percent)
    step("percent", *r.percent, stock_rules{{}, r.percent, {}},
         std::to_string(*r.percent) + " percent, rounded down");
  if (r.max)
    step("max", *r.max, stock_rules{{}, {}, r.max},
         "at most " + std::to_string(*r.max));
  result = x;
  return steps;
}

json delivery_json(const delivery_record& deliveries,
                   const std::string& location, channel_kind channel,
                   int64_t desired) {
  auto i = deliveries.find(location);
  if (i == deliveries.end())
    return json{{"state", "pending"}, {"note", "nothing sent yet"}};
  auto& d = i->second;
  json out{{"state", delivery_state_of(&d, desired)},
           {"channel_state", to_string(d.state)},
           {"confirmed", d.has_confirmed ? json(d.confirmed) : json()},
           {"sent", d.request.empty() ? json() : json(d.sent)},
           {"sent_at", d.sent_ms == 0 ? json() : json(rfc3339(d.sent_ms))}};
  auto kind = channel == channel_kind::amazon ? "feed_id" : "idempotency_key";
  out[kind] = d.request.empty() ? json() : json(d.request);
  auto error = delivery_error_json(d);
  if (!error.is_null()) error["permanent"] = d.permanent;
  out["error"] = std::move(error);
  return out;
}

} // namespace

const char* delivery_state_of(const delivery* d, int64_t desired) {
  if (d == nullptr) return "pending";
  if (d->state == delivery_state::in_flight ||
      d->state == delivery_state::failed)
    return to_string(d->state);
  if (d->has_confirmed && d->confirmed == desired) return "confirmed";
  return "pending";
}

json delivery_error_json(const delivery& d) {
  if (d.error_code.empty()) return nullptr;
  return json{
      {"code", d.error_code}, {"message", d.error_message}, {"at", d.error_at}};
}

caf::expected<json> explain_product(const store& db, const config& conf,
                                    const shop_config& shop,
                                    const std::string& code,
                                    const product_record& rec) {
  auto events = db.read_events(rec.recent);
  if (!events) return events.error();
  delivery_record deliveries;
  if (auto loaded = db.load_delivery(shop.id, code, deliveries); !loaded)
    return loaded.error();
  return explain_from(conf, shop, code, rec, *events, deliveries);
}

json explain_from(const config& conf, const shop_config& shop,
                  const std::string& code, const product_record& rec,
                  const std::vector<stock_event>& events,
                  const delivery_record& deliveries) {
  bool amazon = shop.channel == channel_kind::amazon;
  json mapping = json::array();
  for (auto& w : shop.warehouses) {
    json m{{"warehouse", w.warehouse}, {"enabled", w.enabled}};
    if (!amazon) m["location"] = w.location.empty() ? json() : json(w.location);
    mapping.push_back(std::move(m));
  }
  json out{{"product", code},
           {"shop", shop.id},
           {"channel", amazon ? "amazon" : "shopify"},
           {"stock_sync", shop.stock_sync},
           {"applied_seq", rec.applied_seq},
           {"rules",
            {{"buffer", optional_json(shop.rules.buffer)},
             {"percent", optional_json(shop.rules.percent)},
             {"max", optional_json(shop.rules.max)}}},
           {"mapping", std::move(mapping)},
           {"excluded", excluded_json(conf, shop, rec)}};
  // The quantities before the rules, computed as the engine does.
  auto raw_shop = shop;
  raw_shop.rules = {};
  raw_shop.stock_sync = true;
  auto raw = compute_view(raw_shop, rec).value_or(shop_view{});
  json numbers = json::array();
  auto view = rec.views.find(shop.id);
  if (view == rec.views.end())
    out["note"] = shop.stock_sync
                      ? "no view of this product for this shop yet"
                      : "stock sync is off for this shop: nothing is sent";
  else
    for (auto& [location, value] : view->second) {
      std::vector<std::string> sources;
      for (auto& w : shop.warehouses)
        if (w.enabled && (amazon || w.location == location))
          sources.push_back(w.warehouse);
      json warehouses = json::array();
      std::string names;
      for (auto& wh : sources) {
        warehouses.push_back(stock_json(wh, rec));
        names += (names.empty() ? "" : ", ") + wh;
      }
      json n{{"value", value}};
      if (!amazon) {
        n["location"] = location;
        n["warehouse"] = sources.empty() ? json() : json(sources.front());
      }
      n["warehouses"] = std::move(warehouses);
      int64_t computed = 0;
      auto r = raw.find(location);
      auto detail = sources.empty() ? std::string{"no enabled warehouse maps "
                                                  "here under the config in "
                                                  "force"}
                    : amazon        ? "sum of available over " + names
                                    : "available in " + names;
      n["calculation"] = calculation_json(shop, r == raw.end() ? 0 : r->second,
                                          detail, computed);
      n["computed_now"] = computed;
      if (computed != value)
        n["note"] = "the value differs from what the config in force gives "
                    "now; it changes with the product's next update or a "
                    "resync";
      json list = json::array();
      for (auto& e : events)
        if (std::find(sources.begin(), sources.end(), e.warehouse) !=
            sources.end())
          list.push_back(event_json(e));
      n["events"] = std::move(list);
      n["delivery"] = delivery_json(deliveries, location, shop.channel, value);
      numbers.push_back(std::move(n));
    }
  out["numbers"] = std::move(numbers);
  // What the channel was last told at locations that are no longer in the
  // view (remapped or disabled since).
  json former = json::array();
  for (auto& [location, d] : deliveries)
    if (view == rec.views.end() || view->second.count(location) == 0)
      former.push_back(
          json{{"location", location},
               {"delivery", delivery_json(deliveries, location, shop.channel,
                                          d.has_confirmed ? d.confirmed : 0)}});
  if (!former.empty()) out["former_locations"] = std::move(former);
  // The product keeps only its latest seqs: older events need a log scan.
  bool truncated = rec.recent.size() >= product_record::recent_limit;
  json history{{"events_kept", rec.recent.size()}, {"truncated", truncated}};
  if (truncated)
    history["note"] = "only the latest " +
                      std::to_string(product_record::recent_limit) +
                      " events are kept with the product; the whole "
                      "history: shelfsync log --config FILE --product " +
                      code;
  out["history"] = std::move(history);
  return out;
}

namespace {

std::string text_of(const json& x) {
  if (x.is_null()) return "none";
  return x.is_string() ? x.get<std::string>() : x.dump();
}

std::string stock_text(const json& w) {
  std::ostringstream out;
  out << w["warehouse"].get<std::string>() << ": on_hand "
      << text_of(w["on_hand"]) << ", reserved " << text_of(w["reserved"])
      << ", available " << text_of(w["available"]);
  if (w.contains("version")) out << ", version " << text_of(w["version"]);
  if (w.contains("last_changed_by_seq"))
    out << ", last changed by seq " << text_of(w["last_changed_by_seq"]);
  if (w.contains("note")) out << " (" << text_of(w["note"]) << ")";
  return out.str();
}

std::string event_text(const json& e) {
  std::ostringstream out;
  out << "seq " << text_of(e["seq"]) << "  " << text_of(e["accepted_at"])
      << "  " << text_of(e["id"]) << "  " << text_of(e["type"]) << "  "
      << text_of(e["warehouse"]);
  for (auto* field : {"on_hand", "delta", "reserved", "version"})
    if (e.contains(field))
      out << ' ' << field << '='
          << (field == std::string_view{"delta"} && e[field] >= 0 ? "+" : "")
          << text_of(e[field]);
  return out.str();
}

std::string delivery_text(const json& d) {
  std::ostringstream out;
  out << text_of(d["state"]);
  if (d.contains("note")) return out.str() + " (" + text_of(d["note"]) + ")";
  out << "; confirmed " << text_of(d["confirmed"]);
  if (!d["sent"].is_null()) {
    out << "; last sent " << text_of(d["sent"]) << " at "
        << text_of(d["sent_at"]);
    if (d.contains("feed_id")) out << " in feed " << text_of(d["feed_id"]);
    if (d.contains("idempotency_key"))
      out << " with idempotency key " << text_of(d["idempotency_key"]);
  }
  auto& e = d["error"];
  if (e.is_null())
    out << "; no error";
  else
    out << "; error " << text_of(e["code"]) << " ("
        << (e["permanent"].get<bool>() ? "permanent" : "transient") << ") at "
        << text_of(e["at"]) << ": " << text_of(e["message"]);
  return out.str();
}

} // namespace

std::string explanation_text(const json& x) {
  std::ostringstream out;
  out << "product " << text_of(x["product"]) << " at shop "
      << text_of(x["shop"]) << " (" << text_of(x["channel"]) << "), stock sync "
      << (x["stock_sync"].get<bool>() ? "on" : "off") << ", applied seq "
      << text_of(x["applied_seq"]) << "\n";
  auto& r = x["rules"];
  out << "rules: buffer " << text_of(r["buffer"]) << ", percent "
      << text_of(r["percent"]) << ", max " << text_of(r["max"]) << "\n";
  out << "mapping:\n";
  for (auto& m : x["mapping"]) {
    out << "  " << text_of(m["warehouse"])
        << (m["enabled"].get<bool>() ? " enabled" : " disabled");
    if (m.contains("location")) out << " -> " << text_of(m["location"]);
    out << "\n";
  }
  out << "excluded:" << (x["excluded"].empty() ? " none" : "") << "\n";
  for (auto& w : x["excluded"])
    out << "  " << stock_text(w) << " -- " << text_of(w["reason"]) << "\n";
  if (x.contains("note")) out << "note: " << text_of(x["note"]) << "\n";
  for (auto& n : x["numbers"]) {
    out << "\n";
    if (n.contains("location"))
      out << "location " << text_of(n["location"]) << ": ";
    else
      out << "quantity: ";
    out << text_of(n["value"]) << "\n";
    out << "  stock:\n";
    for (auto& w : n["warehouses"])
      out << "    " << stock_text(w) << "\n";
    out << "  calculation:\n";
    for (auto& s : n["calculation"])
      out << "    " << text_of(s["step"]) << " -> " << text_of(s["value"])
          << "  (" << text_of(s["detail"]) << ")\n";
    if (n.contains("note"))
      out << "  note: computed now " << text_of(n["computed_now"]) << "; "
          << text_of(n["note"]) << "\n";
    out << "  events:" << (n["events"].empty() ? " none kept" : "") << "\n";
    for (auto& e : n["events"])
      out << "    " << event_text(e) << "\n";
    out << "  delivery: " << delivery_text(n["delivery"]) << "\n";
  }
  if (x.contains("former_locations")) {
    out << "\nno longer in the view:\n";
    for (auto& f : x["former_locations"])
      out << "  " << text_of(f["location"]) << ": "
          << delivery_text(f["delivery"]) << "\n";
  }
  auto& h = x["history"];
  out << "\nhistory: " << text_of(h["events_kept"])
      << " latest events kept with the product";
  if (h.contains("note")) out << "; " << text_of(h["note"]);
  out << "\n";
  return out.str();
}

} // namespace shelfsync
