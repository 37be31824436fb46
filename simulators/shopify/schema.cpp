#include "simulators/shopify/schema.hpp"

#include <mutex>
#include <stdexcept>

namespace shelfsync::shopify::sim {

namespace {

graphql::type_ref t(std::string_view text) {
  auto r = graphql::parse_type(text);
  if (!r)
    throw std::logic_error("bad type in simulator schema: " +
                           std::string{text});
  return *r;
}

input_value_def arg(std::string name, std::string_view type,
                    std::optional<json> def = std::nullopt) {
  return {std::move(name), t(type), std::move(def)};
}

field_def f(std::string name, std::string_view type,
            std::vector<input_value_def> args = {}) {
  return {std::move(name), t(type), std::move(args), false};
}

/// A connection field with the standard paging arguments plus `extra`.
field_def conn(std::string name, std::string_view type,
               std::vector<input_value_def> extra = {}) {
  std::vector<input_value_def> args{arg("first", "Int"), arg("after", "String"),
                                    arg("last", "Int"), arg("before", "String"),
                                    arg("reverse", "Boolean", false)};
  for (auto& a : extra)
    args.push_back(std::move(a));
  return {std::move(name), t(type), std::move(args), true};
}

type_def object(std::string name, std::vector<field_def> fields,
                std::vector<std::string> interfaces = {}) {
  type_def d;
  d.name = std::move(name);
  d.kind = type_kind::object;
  d.fields = std::move(fields);
  d.related = std::move(interfaces);
  return d;
}

type_def input(std::string name, std::vector<input_value_def> fields) {
  type_def d;
  d.name = std::move(name);
  d.kind = type_kind::input_object;
  d.input_fields = std::move(fields);
  return d;
}

type_def scalar(std::string name) {
  type_def d;
  d.name = std::move(name);
  d.kind = type_kind::scalar;
  return d;
}

type_def enumeration(std::string name, std::vector<std::string> values) {
  type_def d;
  d.name = std::move(name);
  d.kind = type_kind::enumeration;
  d.enum_values = std::move(values);
  return d;
}

/// `Name`, `NameEdge` and `NameConnection`.
void add_connection(std::vector<type_def>& out, const std::string& node) {
  out.push_back(
      object(node + "Edge", {f("cursor", "String!"), f("node", node + "!")}));
  out.push_back(object(node + "Connection", {f("nodes", "[" + node + "!]!"),
                                             f("edges", "[" + node + "Edge!]!"),
                                             f("pageInfo", "PageInfo!")}));
}

} // namespace

// -- lookups -----------------------------------------------------------------

const input_value_def* field_def::find_arg(std::string_view n) const {
  for (auto& a : args)
    if (a.name == n) return &a;
  return nullptr;
}

const field_def* type_def::find_field(std::string_view n) const {
  for (auto& x : fields)
    if (x.name == n) return &x;
  return nullptr;
}

const input_value_def* type_def::find_input_field(std::string_view n) const {
  for (auto& x : input_fields)
    if (x.name == n) return &x;
  return nullptr;
}

const type_def* schema::find_type(std::string_view name) const {
  auto i = types_.find(name);
  return i == types_.end() ? nullptr : &i->second;
}

const directive_def* schema::find_directive(std::string_view name) const {
  for (auto& d : directives_)
    if (d.name == name) return &d;
  return nullptr;
}

bool schema::is_possible(std::string_view abstract_or_same,
                         std::string_view object_type) const {
  if (abstract_or_same == object_type) return true;
  auto* a = find_type(abstract_or_same);
  if (a == nullptr || a->kind != type_kind::interface) return false;
  for (auto& r : a->related)
    if (r == object_type) return true;
  return false;
}

std::shared_ptr<const schema> schema::for_version(api_version v) {
  // Three contracts exist for the inventory inputs; key the cache by the
  // exact version anyway, it is small.
  static std::mutex mtx;
  static std::map<std::string, std::shared_ptr<const schema>> cache;
  std::lock_guard<std::mutex> guard{mtx};
  auto& slot = cache[v.to_string()];
  if (!slot) slot.reset(new schema(v));
  return slot;
}

void schema::add(type_def d) {
  auto name = d.name;
  types_.emplace(std::move(name), std::move(d));
}

// -- the schema --------------------------------------------------------------

schema::schema(api_version v) : version_(v) {
  std::vector<type_def> ts;
  for (auto name : {"ID", "String", "Int", "Float", "Boolean", "DateTime",
                    "URL", "Decimal", "UnsignedInt64", "FormattedString"})
    ts.push_back(scalar(name));
  ts.push_back(enumeration(
      "InventorySetQuantitiesUserErrorCode",
      {"INVALID_INVENTORY_ITEM", "INVALID_LOCATION",
       "INVALID_QUANTITY_NEGATIVE", "INVALID_REASON",
       "INVALID_REFERENCE_DOCUMENT", "ITEM_NOT_STOCKED_AT_LOCATION",
       "INVALID_QUANTITY_TOO_HIGH", "INVALID_QUANTITY_TOO_LOW",
       "COMPARE_QUANTITY_REQUIRED", "COMPARE_QUANTITY_STALE",
       "CHANGE_FROM_QUANTITY_STALE", "INVALID_NAME",
       "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
       "NON_MUTABLE_INVENTORY_ITEM", "IDEMPOTENCY_CONCURRENT_REQUEST",
       "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
       "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"}));

  type_def node;
  node.name = "Node";
  node.kind = type_kind::interface;
  node.fields = {f("id", "ID!")};
  node.related = {"InventoryItem", "InventoryLevel", "Location",
                  "InventoryAdjustmentGroup"};
  ts.push_back(node);

  ts.push_back(
      object("PageInfo",
             {f("hasNextPage", "Boolean!"), f("hasPreviousPage", "Boolean!"),
              f("startCursor", "String"), f("endCursor", "String")}));
  ts.push_back(object("EditableProperty", {f("locked", "Boolean!"),
                                           f("reason", "FormattedString")}));

  ts.push_back(object(
      "InventoryItem",
      {f("id", "ID!"), f("legacyResourceId", "UnsignedInt64!"),
       f("sku", "String"), f("tracked", "Boolean!"),
       f("duplicateSkuCount", "Int!"), f("requiresShipping", "Boolean!"),
       f("createdAt", "DateTime!"), f("updatedAt", "DateTime!"),
       f("trackedEditable", "EditableProperty!"),
       conn("inventoryLevels", "InventoryLevelConnection!",
            {arg("query", "String"), arg("includeInactive", "Boolean", false)}),
       f("inventoryLevel", "InventoryLevel",
         {arg("locationId", "ID!"), arg("includeInactive", "Boolean", false)})},
      {"Node"}));
  add_connection(ts, "InventoryItem");

  ts.push_back(object(
      "InventoryLevel",
      {f("id", "ID!"), f("isActive", "Boolean!"),
       f("canDeactivate", "Boolean!"), f("createdAt", "DateTime!"),
       f("updatedAt", "DateTime!"), f("item", "InventoryItem!"),
       f("location", "Location!"),
       f("quantities", "[InventoryQuantity!]!", {arg("names", "[String!]!")})},
      {"Node"}));
  add_connection(ts, "InventoryLevel");

  ts.push_back(object("InventoryQuantity",
                      {f("id", "ID!"), f("name", "String!"),
                       f("quantity", "Int!"), f("updatedAt", "DateTime")}));

  ts.push_back(object(
      "Location",
      {f("id", "ID!"), f("name", "String!"), f("isActive", "Boolean!"),
       f("legacyResourceId", "UnsignedInt64!"), f("shipsInventory", "Boolean!"),
       f("fulfillsOnlineOrders", "Boolean!"),
       f("hasActiveInventory", "Boolean!"), f("activatable", "Boolean!"),
       f("deactivatable", "Boolean!"), f("isFulfillmentService", "Boolean!"),
       f("inventoryLevel", "InventoryLevel", {arg("inventoryItemId", "ID!")}),
       conn("inventoryLevels", "InventoryLevelConnection!",
            {arg("query", "String")})},
      {"Node"}));
  add_connection(ts, "Location");

  ts.push_back(
      object("InventoryChange",
             {f("name", "String!"), f("delta", "Int!"),
              f("quantityAfterChange", "Int"), f("ledgerDocumentUri", "URL"),
              f("item", "InventoryItem"), f("location", "Location")}));
  ts.push_back(
      object("InventoryAdjustmentGroup",
             {f("id", "ID!"), f("createdAt", "DateTime!"),
              f("reason", "String!"), f("referenceDocumentUri", "URL"),
              f("changes", "[InventoryChange!]!",
                {arg("inventoryItemIds", "[ID!]"), arg("locationIds", "[ID!]"),
                 arg("quantityNames", "[String!]")})},
             {"Node"}));
  ts.push_back(
      object("UserError", {f("field", "[String!]"), f("message", "String!")}));
  ts.push_back(object("InventorySetQuantitiesUserError",
                      {f("code", "InventorySetQuantitiesUserErrorCode"),
                       f("field", "[String!]"), f("message", "String!")}));
  ts.push_back(
      object("InventorySetQuantitiesPayload",
             {f("inventoryAdjustmentGroup", "InventoryAdjustmentGroup"),
              f("userErrors", "[InventorySetQuantitiesUserError!]!")}));
  ts.push_back(
      object("InventoryActivatePayload", {f("inventoryLevel", "InventoryLevel"),
                                          f("userErrors", "[UserError!]!")}));
  ts.push_back(
      object("InventoryItemUpdatePayload", {f("inventoryItem", "InventoryItem"),
                                            f("userErrors", "[UserError!]!")}));

  // Inputs: the compare-and-swap redesign (2026-01 additive, 2026-04
  // breaking) is the reason the schema is per version.
  std::vector<input_value_def> quantity_fields{arg("inventoryItemId", "ID!"),
                                               arg("locationId", "ID!"),
                                               arg("quantity", "Int!")};
  std::vector<input_value_def> set_fields{
      arg("reason", "String!"), arg("name", "String!"),
      arg("referenceDocumentUri", "URL"),
      arg("quantities", "[InventoryQuantityInput!]!")};
  if (!v.requires_idempotency()) {
    quantity_fields.push_back(arg("compareQuantity", "Int"));
    set_fields.push_back(arg("ignoreCompareQuantity", "Boolean", false));
  }
  if (v.has_change_from_quantity())
    quantity_fields.push_back(arg("changeFromQuantity", "Int"));
  ts.push_back(input("InventoryQuantityInput", quantity_fields));
  ts.push_back(input("InventorySetQuantitiesInput", set_fields));
  ts.push_back(
      input("InventoryItemInput",
            {arg("sku", "String"), arg("tracked", "Boolean"),
             arg("cost", "Decimal"), arg("requiresShipping", "Boolean"),
             arg("harmonizedSystemCode", "String"),
             arg("countryCodeOfOrigin", "String"),
             arg("provinceCodeOfOrigin", "String")}));

  ts.push_back(object(
      query_root,
      {conn("inventoryItems", "InventoryItemConnection!",
            {arg("query", "String")}),
       f("inventoryItem", "InventoryItem", {arg("id", "ID!")}),
       f("inventoryLevel", "InventoryLevel", {arg("id", "ID!")}),
       conn("locations", "LocationConnection!",
            {arg("query", "String"), arg("includeLegacy", "Boolean", false),
             arg("includeInactive", "Boolean", false)}),
       f("location", "Location", {arg("id", "ID")}),
       f("node", "Node", {arg("id", "ID!")}),
       f("nodes", "[Node]!", {arg("ids", "[ID!]!")})}));
  ts.push_back(
      object(mutation_root,
             {f("inventorySetQuantities", "InventorySetQuantitiesPayload",
                {arg("input", "InventorySetQuantitiesInput!")}),
              f("inventoryActivate", "InventoryActivatePayload",
                {arg("inventoryItemId", "ID!"), arg("locationId", "ID!"),
                 arg("available", "Int"), arg("onHand", "Int"),
                 arg("stockAtLegacyLocation", "Boolean", false)}),
              f("inventoryItemUpdate", "InventoryItemUpdatePayload",
                {arg("id", "ID!"), arg("input", "InventoryItemInput!")})}));

  for (auto& d : ts)
    add(std::move(d));

  directives_.push_back({"include", {arg("if", "Boolean!")}, true, true});
  directives_.push_back({"skip", {arg("if", "Boolean!")}, true, true});
  if (v.has_change_from_quantity())
    directives_.push_back({"idempotent", {arg("key", "String!")}, true, false});
}

} // namespace shelfsync::shopify::sim
