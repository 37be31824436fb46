#include "api/listings.hpp"

#include <cctype>
#include <unordered_set>

#include "api/explanation.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace shelfsync::listings {

namespace {

using json = nlohmann::json;

/// How a location is named in an entry: by location id on Shopify, by SKU
/// (the product code) on Amazon.
json place(const shop_config& shop, const std::string& product,
           const std::string& location) {
  if (shop.channel == channel_kind::amazon) return {{"sku", product}};
  return {{"location", location}};
}

/// The current view of `shop` for `product`, if the product has one.
const shop_view* current_view(const product_record& rec,
                              const shop_config& shop) {
  auto i = rec.views.find(shop.id);
  return i == rec.views.end() ? nullptr : &i->second;
}

/// A page of failed or in-flight deliveries, from the store's index.
caf::expected<json> flagged(const store& db, const shop_config& shop,
                            delivery_state state, const std::string& cursor,
                            size_t limit) {
  json entries = json::array();
  std::string last;
  caf::error err;
  auto more = db.scan_flagged_deliveries(
      shop.id, state, cursor, limit,
      [&](std::string_view code, delivery_record&& rec) {
        last.assign(code);
        product_record product;
        auto loaded = db.load_product(code, product);
        if (!loaded && !err) err = loaded.error();
        const shop_view* view =
            loaded && *loaded ? current_view(product, shop) : nullptr;
        json locations = json::array();
        for (auto& [location, d] : rec) {
          if (d.state != state) continue;
          auto x = place(shop, last, location);
          x["value"] = d.sent;
          // What the shop should show now: newer than `value` when a later
          // change waits behind this one.
          auto desired =
              view ? view->find(location) : shop_view::const_iterator{};
          x["desired"] =
              view && desired != view->end() ? json(desired->second) : json();
          if (state == delivery_state::failed)
            x["since"] = d.error_at.empty() ? json() : json(d.error_at);
          else
            x["since"] = d.sent_ms == 0 ? json() : json(rfc3339(d.sent_ms));
          x["request"] = d.request.empty() ? json() : json(d.request);
          auto error = delivery_error_json(d);
          if (!error.is_null()) error["permanent"] = d.permanent;
          x["error"] = std::move(error);
          locations.push_back(std::move(x));
        }
        entries.push_back(
            json{{"product", last}, {"locations", std::move(locations)}});
      });
  if (!more) return more.error();
  if (err) return err;
  return json{{"shop", shop.id},
              {"state", to_string(state)},
              {"entries", std::move(entries)},
              {"next_cursor", *more ? json(last) : json()}};
}

/// Reads a pending list's cursor, `segment.position`.
bool parse_position(const std::string& cursor, uint64_t& segment,
                    uint64_t& index) {
  auto dot = cursor.find('.');
  auto digits = [](std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    out = 0;
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
  };
  return dot != std::string::npos &&
         digits(std::string_view{cursor}.substr(0, dot), segment) &&
         digits(std::string_view{cursor}.substr(dot + 1), index);
}

/// A page of pending deliveries, from the shop's outbox segments.
caf::expected<json> pending(const store& db, const shop_config& shop,
                            const std::string& cursor, size_t limit) {
  uint64_t from_segment = 0;
  uint64_t from_index = 0;
  bool after = !cursor.empty();
  if (after && !parse_position(cursor, from_segment, from_index))
    return caf::make_error(
        ec::invalid_input,
        "\"" + cursor.substr(0, 40) +
            "\" is not a cursor of the pending list (segment.position, as "
            "next_cursor gave it)");
  json entries = json::array();
  // Products listed on this page: a product whose view went A, B, A keeps
  // two live-looking changes until the older segment goes.
  std::unordered_set<std::string> listed;
  std::string position; // of the last change listed
  std::string reached;  // of the last change looked at
  size_t examined = 0;
  bool more = false;
  caf::error err;
  auto visit = [&](view_change&& c, size_t index) {
    if (after && c.segment == from_segment && index <= from_index) return true;
    if (examined == pending_scan_budget) {
      // The page ends early; the next one goes on from here.
      more = true;
      position = reached;
      return false;
    }
    ++examined;
    reached = std::to_string(c.segment) + "." + std::to_string(index);
    if (listed.count(c.product) != 0) return true;
    product_record rec;
    auto loaded = db.load_product(c.product, rec);
    if (!loaded) {
      err = loaded.error();
      return false;
    }
    auto* view = *loaded ? current_view(rec, shop) : nullptr;
    if (view == nullptr || *view != c.desired) return true; // superseded
    delivery_record deliveries;
    auto known = db.load_delivery(shop.id, c.product, deliveries);
    if (!known) {
      err = known.error();
      return false;
    }
    json locations = json::array();
    for (auto& [location, value] : c.desired) {
      auto d = deliveries.find(location);
      auto* sent = d == deliveries.end() ? nullptr : &d->second;
      if (std::string_view{delivery_state_of(sent, value)} != "pending")
        continue;
      auto x = place(shop, c.product, location);
      x["value"] = value;
      x["since"] = nullptr;
      x["request"] = nullptr;
      x["error"] = sent ? delivery_error_json(*sent) : json();
      if (sent && !x["error"].is_null())
        x["error"]["permanent"] = sent->permanent;
      locations.push_back(std::move(x));
    }
    if (locations.empty()) return true; // delivered
    if (entries.size() == limit) {
      more = true;
      return false;
    }
    // Pending since the event that made this view was accepted.
    auto events = db.read_events({c.seq});
    if (events && !events->empty())
      for (auto& x : locations)
        x["since"] = rfc3339(events->front().received_ms);
    listed.insert(c.product);
    position = reached;
    entries.push_back(
        json{{"product", c.product}, {"locations", std::move(locations)}});
    return true;
  };
  if (auto failed = db.for_each_outbox(shop.id, from_segment, visit))
    return failed;
  if (err) return err;
  return json{{"shop", shop.id},
              {"state", "pending"},
              {"entries", std::move(entries)},
              {"next_cursor", more ? json(position) : json()}};
}

} // namespace

caf::expected<json> deliveries(const store& db, const shop_config& shop,
                               delivery_state state, const std::string& cursor,
                               size_t limit) {
  if (state == delivery_state::pending) return pending(db, shop, cursor, limit);
  return flagged(db, shop, state, cursor, limit);
}

caf::expected<json> products(const store& db, const std::string& prefix,
                             const std::string& cursor, size_t limit) {
  json entries = json::array();
  std::string last;
  auto more = db.scan_products_with_prefix(
      prefix, cursor, limit, [&](std::string_view code, product_record&& rec) {
        last.assign(code);
        json warehouses = json::object();
        for (auto& [id, s] : rec.stock)
          warehouses[id] = json{{"on_hand", s.on_hand},
                                {"reserved", s.reserved},
                                {"available", s.available()}};
        json views = json::object();
        for (auto& [shop, view] : rec.views) {
          json v = json::object();
          for (auto& [location, value] : view)
            v[location] = value;
          views[shop] = std::move(v);
        }
        entries.push_back(json{{"product", last},
                               {"warehouses", std::move(warehouses)},
                               {"views", std::move(views)}});
      });
  if (!more) return more.error();
  return json{{"prefix", prefix},
              {"entries", std::move(entries)},
              {"next_cursor", *more ? json(last) : json()}};
}

} // namespace shelfsync::listings
