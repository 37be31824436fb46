#include "simulators/shopify/resolve.hpp"

#include <algorithm>

#include "simulators/shopify/inventory.hpp"

namespace shelfsync::shopify::sim {

namespace {

/// One element of a connection: its cursor and its node.
struct entry {
  std::string cursor;
  json node;
};

/// Cursors are opaque to clients; these encode the element's stable id.
std::string cursor_of(uint64_t id) { return "c" + std::to_string(id); }

/// A page of a connection per first/after/last/before/reverse.
json connection(const std::string& node_type, std::vector<entry> all,
                const json& args) {
  if (args.value("reverse", false)) std::reverse(all.begin(), all.end());
  size_t begin = 0;
  size_t end = all.size();
  if (auto a = args.find("after"); a != args.end() && a->is_string()) {
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].cursor == a->get<std::string>()) begin = i + 1;
  }
  if (auto b = args.find("before"); b != args.end() && b->is_string()) {
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].cursor == b->get<std::string>()) end = i;
  }
  if (begin > end) begin = end;
  bool has_next = false;
  bool has_prev = begin > 0;
  if (auto f = args.find("first"); f != args.end() && f->is_number_integer()) {
    auto n = static_cast<size_t>(std::max<int64_t>(0, f->get<int64_t>()));
    if (end - begin > n) {
      end = begin + n;
      has_next = true;
    }
  }
  if (auto l = args.find("last"); l != args.end() && l->is_number_integer()) {
    auto n = static_cast<size_t>(std::max<int64_t>(0, l->get<int64_t>()));
    if (end - begin > n) {
      begin = end - n;
      has_prev = true;
    }
  }
  json nodes = json::array();
  json edges = json::array();
  for (size_t i = begin; i < end; ++i) {
    nodes.push_back(all[i].node);
    edges.push_back({{"__typename", node_type + "Edge"},
                     {"cursor", all[i].cursor},
                     {"node", all[i].node}});
  }
  json page_info{
      {"__typename", "PageInfo"},
      {"hasNextPage", has_next},
      {"hasPreviousPage", has_prev},
      {"startCursor", begin < end ? json(all[begin].cursor) : json()},
      {"endCursor", begin < end ? json(all[end - 1].cursor) : json()}};
  return {{"__typename", node_type + "Connection"},
          {"nodes", std::move(nodes)},
          {"edges", std::move(edges)},
          {"pageInfo", std::move(page_info)}};
}

std::string str_arg(const json& args, const char* name) {
  auto i = args.find(name);
  return i != args.end() && i->is_string() ? i->get<std::string>()
                                           : std::string{};
}

std::string level_gid(const level& lv, const item& it) {
  return "gid://shopify/InventoryLevel/" + std::to_string(lv.level_id) +
         "?inventory_item_id=" + std::to_string(it.legacy_id);
}

/// The object an id names, or null.
json node_by_id(store& st, const std::string& id) {
  if (id.rfind("gid://shopify/InventoryItem/", 0) == 0)
    return st.find_item(id) ? item_ref(id) : json();
  if (id.rfind("gid://shopify/Location/", 0) == 0)
    return st.find_location(id) ? location_ref(id) : json();
  if (id.rfind("gid://shopify/InventoryLevel/", 0) == 0) {
    auto n = gid_number(id.substr(0, id.find('?')));
    for (auto& it : st.items())
      for (auto& lv : it.levels)
        if (lv.level_id == n) return level_ref(it.id, lv.location_id);
  }
  return nullptr;
}

json resolve_query_root(store& st, const std::string& f, const json& args) {
  if (f == "inventoryItems") {
    std::vector<entry> all;
    for (auto* it : st.search(str_arg(args, "query")))
      all.push_back({cursor_of(it->legacy_id), item_ref(it->id)});
    return connection("InventoryItem", std::move(all), args);
  }
  if (f == "inventoryItem" || f == "inventoryLevel" || f == "node") {
    auto n = node_by_id(st, str_arg(args, "id"));
    auto want = f == "node"            ? std::string{}
                : f == "inventoryItem" ? "InventoryItem"
                                       : "InventoryLevel";
    if (!want.empty() && !n.is_null() && n["__typename"] != want)
      return nullptr;
    return n;
  }
  if (f == "nodes") {
    json out = json::array();
    for (auto& id : args.at("ids"))
      out.push_back(node_by_id(st, id.get<std::string>()));
    return out;
  }
  if (f == "locations") {
    bool inactive = args.value("includeInactive", false);
    std::vector<entry> all;
    for (auto& l : st.locations())
      if (l.active || inactive)
        all.push_back({cursor_of(l.legacy_id), location_ref(l.id)});
    return connection("Location", std::move(all), args);
  }
  if (f == "location") {
    auto id = str_arg(args, "id");
    if (id.empty())
      return st.locations().empty() ? json()
                                    : location_ref(st.locations().front().id);
    return st.find_location(id) ? location_ref(id) : json();
  }
  return nullptr;
}

json resolve_item(store& st, const item& it, const std::string& f,
                  const json& args) {
  if (f == "id") return it.id;
  if (f == "legacyResourceId") return std::to_string(it.legacy_id);
  if (f == "sku") return it.sku;
  if (f == "tracked") return it.tracked;
  if (f == "duplicateSkuCount") return st.duplicate_sku_count(it);
  if (f == "requiresShipping") return true;
  if (f == "createdAt") return it.created_at;
  if (f == "updatedAt") return it.updated_at;
  if (f == "trackedEditable")
    return {{"__typename", "EditableProperty"},
            {"locked", false},
            {"reason", nullptr}};
  if (f == "inventoryLevels") {
    bool inactive = args.value("includeInactive", false);
    std::vector<entry> all;
    for (auto& lv : it.levels)
      if (lv.active || inactive)
        all.push_back(
            {cursor_of(lv.level_id), level_ref(it.id, lv.location_id)});
    return connection("InventoryLevel", std::move(all), args);
  }
  if (f == "inventoryLevel") {
    auto* lv = it.find_level(str_arg(args, "locationId"));
    if (lv == nullptr || (!lv->active && !args.value("includeInactive", false)))
      return nullptr;
    return level_ref(it.id, lv->location_id);
  }
  return nullptr;
}

json resolve_level(store& st, const item& it, const level& lv,
                   const std::string& f, const json& args) {
  if (f == "id") return level_gid(lv, it);
  if (f == "isActive") return lv.active;
  if (f == "canDeactivate") {
    size_t active = 0;
    for (auto& other : it.levels)
      active += other.active ? 1 : 0;
    return lv.active && active > 1;
  }
  if (f == "createdAt") return lv.created_at;
  if (f == "updatedAt") return lv.updated_at;
  if (f == "item") return item_ref(it.id);
  if (f == "location") return location_ref(lv.location_id);
  if (f == "quantities") {
    json out = json::array();
    for (auto& n : args.at("names")) {
      auto name = n.get<std::string>();
      int64_t q = name == "available" ? lv.available
                  : name == "on_hand" ? lv.on_hand
                                      : 0;
      out.push_back(
          {{"__typename", "InventoryQuantity"},
           {"id", "gid://shopify/InventoryQuantity/" +
                      std::to_string(lv.level_id) + "?inventory_item_id=" +
                      std::to_string(it.legacy_id) + "&name=" + name},
           {"name", name},
           {"quantity", q},
           {"updatedAt", lv.updated_at}});
    }
    return out;
  }
  return nullptr;
}

json resolve_location(store& st, const location& l, const std::string& f,
                      const json& args) {
  if (f == "id") return l.id;
  if (f == "name") return l.name;
  if (f == "isActive") return l.active;
  if (f == "legacyResourceId") return std::to_string(l.legacy_id);
  if (f == "shipsInventory" || f == "fulfillsOnlineOrders") return true;
  if (f == "activatable") return !l.active;
  if (f == "deactivatable") return l.active;
  if (f == "isFulfillmentService") return false;
  std::vector<entry> all;
  for (auto& it : st.items())
    if (auto* lv = it.stocked_at(l.id))
      all.push_back({cursor_of(lv->level_id), level_ref(it.id, l.id)});
  if (f == "hasActiveInventory") return !all.empty();
  if (f == "inventoryLevels")
    return connection("InventoryLevel", std::move(all), args);
  if (f == "inventoryLevel") {
    auto* it = st.find_item(str_arg(args, "inventoryItemId"));
    if (it == nullptr || it->stocked_at(l.id) == nullptr) return nullptr;
    return level_ref(it->id, l.id);
  }
  return nullptr;
}

bool matches_filter(const json& filter, const json& value) {
  if (!filter.is_array()) return true;
  for (auto& f : filter)
    if (f == value) return true;
  return false;
}

} // namespace

json resolve_field(store& st, const std::string& type_name, const json& parent,
                   const field_def& field, const json& args) {
  auto& f = field.name;
  if (type_name == schema::query_root) return resolve_query_root(st, f, args);
  if (type_name == "InventoryItem") {
    auto* it = st.find_item(parent.value("id", ""));
    return it ? resolve_item(st, *it, f, args) : json();
  }
  if (type_name == "Location") {
    auto* l = st.find_location(parent.value("id", ""));
    return l ? resolve_location(st, *l, f, args) : json();
  }
  if (type_name == "InventoryLevel") {
    auto* it = st.find_item(parent.value("_item", ""));
    auto* lv = it ? it->find_level(parent.value("_location", "")) : nullptr;
    return lv ? resolve_level(st, *it, *lv, f, args) : json();
  }
  if (type_name == "InventoryAdjustmentGroup" && f == "changes") {
    json out = json::array();
    for (auto& c : parent.at("changes"))
      if (matches_filter(args.value("inventoryItemIds", json()),
                         c["item"]["id"]) &&
          matches_filter(args.value("locationIds", json()),
                         c["location"]["id"]) &&
          matches_filter(args.value("quantityNames", json()), c["name"]))
        out.push_back(c);
    return out;
  }
  auto i = parent.find(f);
  return i == parent.end() ? json() : *i;
}

} // namespace shelfsync::shopify::sim
