#include "channels/shopify/wire.hpp"

#include <set>
#include <utility>

namespace shelfsync::shopify {

using nlohmann::json;

namespace {

/// The item selection shared by lookups and reads.
std::string item_fields(int levels_first) {
  return "id sku tracked "
         "inventoryLevels(first: " +
         std::to_string(levels_first) +
         ") { nodes { location { id } "
         "quantities(names: [\"available\"]) { name quantity } } "
         "pageInfo { hasNextPage endCursor } }";
}

/// `sku:'...'` with `\` and `'` escaped, as Shopify's search syntax wants.
std::string sku_query(const std::string& sku) {
  std::string q = "sku:'";
  for (char c : sku) {
    if (c == '\\' || c == '\'') q += '\\';
    q += c;
  }
  return q + "'";
}

std::string str(const json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

double number(const json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_number() ? i->get<double>() : 0;
}

/// Reads an item object of item_fields().
item_state read_item(const json& node) {
  item_state it;
  it.id = str(node, "id");
  it.sku = str(node, "sku");
  it.tracked = node.value("tracked", false);
  auto levels = node.value("inventoryLevels", json::object());
  for (auto& lv : levels.value("nodes", json::array())) {
    level_state s;
    s.location_id = str(lv.value("location", json::object()), "id");
    for (auto& q : lv.value("quantities", json::array()))
      if (str(q, "name") == "available" && q["quantity"].is_number_integer())
        s.available = q["quantity"].get<int64_t>();
    it.levels.push_back(std::move(s));
  }
  auto page = levels.value("pageInfo", json::object());
  it.levels_complete = !page.value("hasNextPage", false);
  if (!it.levels_complete) it.levels_cursor = str(page, "endCursor");
  return it;
}

std::vector<user_error> read_user_errors(const json& payload) {
  std::vector<user_error> out;
  if (!payload.is_object()) return out;
  for (auto& e : payload.value("userErrors", json::array())) {
    user_error u;
    if (e.contains("field") && e["field"].is_array())
      for (auto& f : e["field"])
        u.field.push_back(f.is_string() ? f.get<std::string>() : f.dump());
    u.message = str(e, "message");
    u.code = str(e, "code");
    out.push_back(std::move(u));
  }
  return out;
}

const char* const user_errors_coded = "userErrors { field message code }";
const char* const user_errors_plain = "userErrors { field message }";

} // namespace

// -- requests and answers ----------------------------------------------------

std::string graphql_request::body() const {
  json b{{"query", query}, {"variables", variables}};
  if (!operation_name.empty()) b["operationName"] = operation_name;
  return b.dump();
}

bool graphql_answer::throttled() const {
  return find_error("THROTTLED") != nullptr;
}

const graphql_error* graphql_answer::find_error(std::string_view code) const {
  for (auto& e : errors)
    if (e.code == code) return &e;
  return nullptr;
}

std::optional<graphql_answer> parse_answer(std::string_view body,
                                           std::string* why) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    if (why != nullptr) *why = "the answer is not a JSON object";
    return std::nullopt;
  }
  graphql_answer a;
  if (auto d = j.find("data"); d != j.end()) a.data = *d;
  if (auto e = j.find("errors"); e != j.end()) {
    if (e->is_array()) {
      for (auto& x : *e) {
        graphql_error g;
        g.message = str(x, "message");
        if (x.contains("extensions") && x["extensions"].is_object())
          g.code = str(x["extensions"], "code");
        if (x.contains("path")) g.path = x["path"];
        a.errors.push_back(std::move(g));
      }
    } else {
      // REST-style {"errors": "..."} or {"errors": {"query": "..."}}.
      a.errors.push_back(
          {e->is_string() ? e->get<std::string>() : e->dump(), {}, nullptr});
    }
  }
  auto ext = j.find("extensions");
  if (ext != j.end() && ext->is_object() && ext->contains("cost")) {
    auto& c = (*ext)["cost"];
    query_cost cost;
    cost.requested = number(c, "requestedQueryCost");
    if (c.contains("actualQueryCost") && c["actualQueryCost"].is_number())
      cost.actual = c["actualQueryCost"].get<double>();
    auto ts = c.value("throttleStatus", json::object());
    cost.throttle = {number(ts, "maximumAvailable"),
                     number(ts, "currentlyAvailable"),
                     number(ts, "restoreRate")};
    a.cost = cost;
  }
  return a;
}

// -- (a) SKU lookup ----------------------------------------------------------

graphql_request lookup_request(const std::vector<std::string>& skus,
                               const read_options& opts) {
  graphql_request r;
  r.operation_name = "ShelfsyncLookupSkus";
  std::string vars;
  std::string body;
  for (size_t i = 0; i < skus.size(); ++i) {
    auto n = std::to_string(i);
    vars += (i ? ", " : "") + std::string{"$q"} + n + ": String!";
    body += "  s" + n +
            ": inventoryItems(first: " + std::to_string(opts.matches_first) +
            ", query: $q" + n +
            ") { nodes { ...ShelfsyncItem } "
            "pageInfo { hasNextPage endCursor } }\n";
    r.variables["q" + n] = sku_query(skus[i]);
  }
  r.query = "query ShelfsyncLookupSkus(" + vars + ") {\n" + body +
            "}\nfragment ShelfsyncItem on InventoryItem { " +
            item_fields(opts.levels_first) + " }\n";
  return r;
}

std::vector<sku_match> parse_lookup(const graphql_answer& a,
                                    const std::vector<std::string>& skus) {
  std::vector<sku_match> out;
  for (size_t i = 0; i < skus.size(); ++i) {
    sku_match m;
    m.sku = skus[i];
    json conn;
    if (a.data.is_object())
      conn = a.data.value("s" + std::to_string(i), json());
    std::vector<item_state> exact;
    if (conn.is_object()) {
      for (auto& node : conn.value("nodes", json::array()))
        if (str(node, "sku") == skus[i]) exact.push_back(read_item(node));
    }
    for (auto& e : exact)
      m.exact_ids.push_back(e.id);
    auto page = conn.is_object() ? conn.value("pageInfo", json::object())
                                 : json::object();
    bool more = page.value("hasNextPage", false);
    if (exact.size() >= 2) {
      m.status = sku_status::ambiguous;
      m.error = "several inventory items have SKU " + skus[i];
    } else if (more) {
      m.status = sku_status::incomplete;
      m.cursor = str(page, "endCursor");
    } else if (exact.size() == 1) {
      m.status = sku_status::found;
      m.item = std::move(exact.front());
    }
    out.push_back(std::move(m));
  }
  return out;
}

graphql_request sku_candidates_request(const std::string& sku,
                                       const std::string& after) {
  graphql_request r;
  r.operation_name = "ShelfsyncSkuCandidates";
  r.query = "query ShelfsyncSkuCandidates($q: String!, $after: String) {\n"
            "  inventoryItems(first: 50, after: $after, query: $q) "
            "{ nodes { id sku } pageInfo { hasNextPage endCursor } }\n}\n";
  r.variables["q"] = sku_query(sku);
  r.variables["after"] = after.empty() ? json(nullptr) : json(after);
  return r;
}

std::vector<std::string> parse_sku_candidates(const graphql_answer& a,
                                              const std::string& sku,
                                              std::string& next_cursor) {
  std::vector<std::string> ids;
  next_cursor.clear();
  if (!a.data.is_object() || !a.data.contains("inventoryItems")) return ids;
  auto& conn = a.data["inventoryItems"];
  for (auto& node : conn.value("nodes", json::array()))
    if (str(node, "sku") == sku) ids.push_back(str(node, "id"));
  auto page = conn.value("pageInfo", json::object());
  if (page.value("hasNextPage", false)) next_cursor = str(page, "endCursor");
  return ids;
}

// -- (b) current levels ------------------------------------------------------

graphql_request read_levels_request(const std::vector<std::string>& item_ids,
                                    const read_options& opts) {
  graphql_request r;
  r.operation_name = "ShelfsyncReadLevels";
  r.query = "query ShelfsyncReadLevels($ids: [ID!]!) {\n"
            "  nodes(ids: $ids) { ... on InventoryItem { " +
            item_fields(opts.levels_first) + " } }\n}\n";
  r.variables["ids"] = item_ids;
  return r;
}

std::vector<item_read> parse_read_levels(const graphql_answer& a,
                                         const std::vector<std::string>& ids) {
  std::vector<item_read> out;
  json nodes =
      a.data.is_object() ? a.data.value("nodes", json::array()) : json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    item_read r;
    r.id = ids[i];
    if (i < nodes.size() && nodes[i].is_object() &&
        str(nodes[i], "id") == ids[i])
      r.item = read_item(nodes[i]);
    out.push_back(std::move(r));
  }
  return out;
}

graphql_request levels_page_request(const std::string& item_id,
                                    const std::string& after, int first) {
  graphql_request r;
  r.operation_name = "ShelfsyncLevelsPage";
  r.query = "query ShelfsyncLevelsPage($id: ID!, $after: String) {\n"
            "  inventoryItem(id: $id) { id inventoryLevels(first: " +
            std::to_string(first) +
            ", after: $after) { nodes { location { id } "
            "quantities(names: [\"available\"]) { name quantity } } "
            "pageInfo { hasNextPage endCursor } } }\n}\n";
  r.variables["id"] = item_id;
  r.variables["after"] = after.empty() ? json(nullptr) : json(after);
  return r;
}

bool parse_levels_page(const graphql_answer& a, item_state& item) {
  if (!a.data.is_object() || !a.data.contains("inventoryItem") ||
      !a.data["inventoryItem"].is_object())
    return false;
  auto page = read_item(a.data["inventoryItem"]);
  for (auto& lv : page.levels)
    item.levels.push_back(std::move(lv));
  item.levels_complete = page.levels_complete;
  item.levels_cursor = page.levels_cursor;
  return true;
}

// -- (c) push ----------------------------------------------------------------

std::string check_push(const push_request& p, api_version v) {
  if (p.quantities.empty() && p.activate.empty() && p.track.empty())
    return "the push is empty";
  if (p.quantities.size() > max_rows_per_push)
    return "the push has " + std::to_string(p.quantities.size()) +
           " quantity rows; Shopify accepts at most 250 per call";
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < p.quantities.size(); ++i) {
    auto& q = p.quantities[i];
    if (q.inventory_item_id.empty() || q.location_id.empty())
      return "quantities[" + std::to_string(i) +
             "] needs an inventory item id and a location id";
    if (!seen.insert({q.inventory_item_id, q.location_id}).second)
      return "quantities[" + std::to_string(i) + "] repeats item " +
             q.inventory_item_id + " at location " + q.location_id +
             "; coalesce rows before pushing";
    if (q.quantity > 1'000'000'000 || q.quantity < -1'000'000'000)
      return "quantities[" + std::to_string(i) +
             "].quantity is outside Shopify's ±1,000,000,000";
  }
  if (push_cost(p) > max_query_cost)
    return "the push would cost " +
           std::to_string(static_cast<int64_t>(push_cost(p))) +
           " points, above Shopify's 1000 per query; send fewer activations "
           "and tracking switches per push";
  bool blank =
      p.idempotency_key.find_first_not_of(" \t\r\n") == std::string::npos;
  if (v.has_change_from_quantity() && blank &&
      (!p.quantities.empty() || !p.activate.empty()))
    return "the push needs an idempotency key (mandatory from 2026-04)";
  return {};
}

graphql_request push_request_document(const push_request& p, api_version v) {
  graphql_request r;
  r.operation_name = "ShelfsyncPush";
  bool idempotent = v.has_change_from_quantity();
  std::string vars;
  std::string body;
  auto var = [&](const std::string& name, const char* type, json value) {
    vars += (vars.empty() ? "" : ", ") + ("$" + name) + ": " + type;
    r.variables[name] = std::move(value);
  };
  for (size_t i = 0; i < p.track.size(); ++i) {
    auto n = "t" + std::to_string(i);
    var(n, "ID!", p.track[i]);
    body += "  track" + std::to_string(i) + ": inventoryItemUpdate(id: $" + n +
            ", input: {tracked: true}) { inventoryItem { id tracked } " +
            user_errors_plain + " }\n";
  }
  for (size_t i = 0; i < p.activate.size(); ++i) {
    auto& a = p.activate[i];
    auto n = "a" + std::to_string(i);
    var(n + "i", "ID!", a.inventory_item_id);
    var(n + "l", "ID!", a.location_id);
    std::string args = "inventoryItemId: $" + n + "i, locationId: $" + n + "l";
    if (a.available) {
      var(n + "q", "Int!", *a.available);
      args += ", available: $" + n + "q";
    }
    std::string directive;
    if (idempotent) {
      var(n + "k", "String!", p.idempotency_key + "." + n);
      directive = " @idempotent(key: $" + n + "k)";
    }
    body += "  activate" + std::to_string(i) + ": inventoryActivate(" + args +
            ")" + directive + " { inventoryLevel { id } " + user_errors_plain +
            " }\n";
  }
  if (!p.quantities.empty()) {
    json rows = json::array();
    // Before 2026-01 a compare is all or nothing.
    bool compare_all = !v.has_change_from_quantity();
    for (auto& q : p.quantities)
      compare_all = compare_all && q.change_from.has_value();
    for (auto& q : p.quantities) {
      json row{{"inventoryItemId", q.inventory_item_id},
               {"locationId", q.location_id},
               {"quantity", q.quantity}};
      if (v.has_change_from_quantity())
        // null: explicitly "no compare".
        row["changeFromQuantity"] =
            q.change_from ? json(*q.change_from) : json(nullptr);
      else if (compare_all)
        row["compareQuantity"] = *q.change_from;
      rows.push_back(std::move(row));
    }
    json input{{"name", "available"},
               {"reason", "correction"},
               {"quantities", std::move(rows)}};
    if (!v.has_change_from_quantity() && !compare_all)
      input["ignoreCompareQuantity"] = true;
    if (!p.reference_document_uri.empty())
      input["referenceDocumentUri"] = p.reference_document_uri;
    var("input", "InventorySetQuantitiesInput!", std::move(input));
    std::string directive;
    if (idempotent) {
      var("key", "String!", p.idempotency_key);
      directive = " @idempotent(key: $key)";
    }
    body += "  set: inventorySetQuantities(input: $input)" + directive +
            " { inventoryAdjustmentGroup { id changes { name delta "
            "item { id } location { id } } } " +
            user_errors_coded + " }\n";
  }
  r.query = "mutation ShelfsyncPush(" + vars + ") {\n" + body + "}\n";
  return r;
}

push_outcome parse_push(const graphql_answer& a, const push_request& p) {
  push_outcome out;
  auto field = [&](const std::string& key) {
    return a.data.is_object() ? a.data.value(key, json()) : json();
  };
  for (size_t i = 0; i < p.track.size(); ++i)
    for (auto& e : read_user_errors(field("track" + std::to_string(i))))
      out.tracking_errors.emplace_back(p.track[i], std::move(e));
  for (size_t i = 0; i < p.activate.size(); ++i)
    for (auto& e : read_user_errors(field("activate" + std::to_string(i))))
      out.activation_errors.emplace_back(i, std::move(e));
  if (p.quantities.empty()) {
    out.applied = true;
    return out;
  }
  auto set = field("set");
  if (!set.is_object()) return out;
  for (auto& e : read_user_errors(set)) {
    // ["input", "quantities", "<i>", ...] names a row.
    if (e.field.size() >= 3 && e.field[0] == "input" &&
        e.field[1] == "quantities") {
      try {
        auto row = static_cast<size_t>(std::stoul(e.field[2]));
        if (row < p.quantities.size()) {
          out.row_errors.push_back({row, std::move(e)});
          continue;
        }
      } catch (...) {
      }
    }
    out.errors.push_back(std::move(e));
  }
  out.applied = out.row_errors.empty() && out.errors.empty();
  auto group = set.value("inventoryAdjustmentGroup", json());
  if (group.is_object()) {
    out.adjustment_group_id = str(group, "id");
    for (auto& c : group.value("changes", json::array())) {
      inventory_change ch;
      ch.name = str(c, "name");
      ch.delta = c.value("delta", int64_t{0});
      ch.inventory_item_id = str(c.value("item", json::object()), "id");
      ch.location_id = str(c.value("location", json::object()), "id");
      out.changes.push_back(std::move(ch));
    }
  }
  return out;
}

// -- cost estimates ----------------------------------------------------------

double lookup_cost(size_t skus, const read_options& opts) {
  // Per SKU: the connection (2) + matches x (item 1 + levels connection 2
  // + levels x (level 1 + location 1)).
  double per_item = 1 + 2 + 2.0 * opts.levels_first;
  return static_cast<double>(skus) * (2 + opts.matches_first * per_item);
}

double read_levels_cost(size_t items, const read_options& opts) {
  return static_cast<double>(items) * (1 + 2 + 2.0 * opts.levels_first);
}

double push_cost(size_t setup_fields, size_t rows) {
  // A mutation field costs 10; the selections add 1 (inventoryItem,
  // inventoryLevel) or 3 (group, item, location).
  double cost = 11.0 * static_cast<double>(setup_fields);
  if (rows > 0) cost += 13;
  return cost;
}

double push_cost(const push_request& p) {
  return push_cost(p.track.size() + p.activate.size(), p.quantities.size());
}

size_t max_setup_fields(double max_cost) {
  size_t n = 1;
  while (push_cost(n + 1, 1) <= max_cost)
    ++n;
  return n;
}

} // namespace shelfsync::shopify
