#include "simulators/shopify/inventory.hpp"

#include <map>
#include <set>

namespace shelfsync::shopify::sim {

namespace {

constexpr int64_t quantity_limit = 1'000'000'000;

const char* const valid_reasons[] = {"correction",
                                     "cycle_count_available",
                                     "damaged",
                                     "movement_canceled",
                                     "movement_created",
                                     "movement_received",
                                     "movement_updated",
                                     "other",
                                     "promotion",
                                     "quality_control",
                                     "received",
                                     "reservation_created",
                                     "reservation_deleted",
                                     "reservation_updated",
                                     "restock",
                                     "safety_stock",
                                     "shrinkage"};

json user_error(json field, std::string message, const char* code = nullptr) {
  json e{{"__typename",
          code != nullptr ? "InventorySetQuantitiesUserError" : "UserError"},
         {"field", std::move(field)},
         {"message", std::move(message)}};
  e["code"] = code != nullptr ? json(code) : json(nullptr);
  return e;
}

json row_field(size_t i, const char* name) {
  return json::array({"input", "quantities", std::to_string(i), name});
}

bool valid_reference_uri(const std::string& uri) {
  auto sep = uri.find("://");
  if (sep == std::string::npos || sep == 0 || sep + 3 >= uri.size())
    return false;
  for (size_t i = 0; i < sep; ++i) {
    char c = uri[i];
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return uri.find(' ') == std::string::npos;
}

int64_t as_int(const json& v) {
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

} // namespace

json item_ref(const std::string& id) {
  return {{"__typename", "InventoryItem"}, {"id", id}};
}

json location_ref(const std::string& id) {
  return {{"__typename", "Location"}, {"id", id}};
}

json level_ref(const std::string& item_id, const std::string& location_id) {
  return {{"__typename", "InventoryLevel"},
          {"_item", item_id},
          {"_location", location_id}};
}

mutation_outcome set_quantities(store& st, const json& input, api_version v) {
  json errors = json::array();
  auto name = input.value("name", std::string{});
  auto reason = input.value("reason", std::string{});
  if (name != "available" && name != "on_hand")
    errors.push_back(
        user_error(json::array({"input", "name"}),
                   "The quantity name must be either 'available' or 'on_hand'.",
                   "INVALID_NAME"));
  bool reason_ok = false;
  std::string reason_list;
  for (auto* r : valid_reasons) {
    reason_ok = reason_ok || reason == r;
    reason_list += (reason_list.empty() ? "" : ", ") + std::string{r};
  }
  if (!reason_ok)
    errors.push_back(user_error(json::array({"input", "reason"}),
                                "The specified reason is invalid. Valid values "
                                "are: " +
                                    reason_list + ".",
                                "INVALID_REASON"));
  auto ref = input.find("referenceDocumentUri");
  json ref_uri = nullptr;
  if (ref != input.end() && ref->is_string()) {
    ref_uri = *ref;
    if (!valid_reference_uri(ref->get<std::string>()))
      errors.push_back(
          user_error(json::array({"input", "referenceDocumentUri"}),
                     "The specified reference document URI is invalid.",
                     "INVALID_REFERENCE_DOCUMENT"));
  }

  // Compare-and-swap contract by version (see the reference, §1.2).
  bool ignore_compare = input.value("ignoreCompareQuantity", false);
  bool compare_required_reported = false;

  auto& rows = input.at("quantities");
  std::map<std::pair<std::string, std::string>, int> pair_count;
  for (auto& row : rows)
    ++pair_count[{row.value("inventoryItemId", ""),
                  row.value("locationId", "")}];

  for (size_t i = 0; i < rows.size(); ++i) {
    auto& row = rows[i];
    auto item_id = row.value("inventoryItemId", std::string{});
    auto location_id = row.value("locationId", std::string{});
    auto quantity = as_int(row.value("quantity", json(0)));
    auto* it = st.find_item(item_id);
    auto* loc = st.find_location(location_id);
    if (it == nullptr)
      errors.push_back(user_error(row_field(i, "inventoryItemId"),
                                  "The specified inventory item could not be "
                                  "found.",
                                  "INVALID_INVENTORY_ITEM"));
    if (loc == nullptr || !loc->active)
      errors.push_back(user_error(row_field(i, "locationId"),
                                  "The specified location could not be found.",
                                  "INVALID_LOCATION"));
    if (pair_count[{item_id, location_id}] > 1)
      errors.push_back(user_error(
          row_field(i, "locationId"),
          "The combination of inventoryItemId and locationId must be "
          "unique.",
          "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"));
    if (name == "on_hand" && quantity < 0)
      errors.push_back(user_error(row_field(i, "quantity"),
                                  "The quantity can't be negative.",
                                  "INVALID_QUANTITY_NEGATIVE"));
    else if (quantity > quantity_limit)
      errors.push_back(
          user_error(row_field(i, "quantity"),
                     "The quantity can't be higher than 1,000,000,000.",
                     "INVALID_QUANTITY_TOO_HIGH"));
    else if (quantity < -quantity_limit)
      errors.push_back(
          user_error(row_field(i, "quantity"),
                     "The quantity can't be lower than -1,000,000,000.",
                     "INVALID_QUANTITY_TOO_LOW"));
    if (it == nullptr || loc == nullptr) continue;
    if (it->non_mutable) {
      errors.push_back(user_error(row_field(i, "inventoryItemId"),
                                  "The specified inventory item is not allowed "
                                  "to be adjusted via API. Example: if the "
                                  "inventory item is a parent bundle.",
                                  "NON_MUTABLE_INVENTORY_ITEM"));
      continue;
    }
    auto* lv = it->stocked_at(location_id);
    if (lv == nullptr) {
      errors.push_back(user_error(row_field(i, "locationId"),
                                  "The specified inventory item is not stocked "
                                  "at the location.",
                                  "ITEM_NOT_STOCKED_AT_LOCATION"));
      continue;
    }
    auto current = name == "on_hand" ? lv->on_hand : lv->available;
    auto cfq = row.find("changeFromQuantity");
    bool uses_change_from = v.has_change_from_quantity() && cfq != row.end();
    if (uses_change_from) {
      if (!cfq->is_null() && as_int(*cfq) != current)
        errors.push_back(user_error(row_field(i, "changeFromQuantity"),
                                    "The changeFromQuantity value does not "
                                    "match persisted value.",
                                    "CHANGE_FROM_QUANTITY_STALE"));
      continue;
    }
    auto cq = row.find("compareQuantity");
    bool has_compare = cq != row.end() && !cq->is_null();
    if (!ignore_compare && !has_compare && !compare_required_reported) {
      compare_required_reported = true;
      errors.push_back(
          user_error(json::array({"input", "ignoreCompareQuantity"}),
                     "The compareQuantity argument must be given to each "
                     "quantity or ignored using ignoreCompareQuantity.",
                     "COMPARE_QUANTITY_REQUIRED"));
    } else if (!ignore_compare && has_compare && as_int(*cq) != current) {
      errors.push_back(user_error(row_field(i, "compareQuantity"),
                                  "The compareQuantity value does not match "
                                  "persisted value.",
                                  "COMPARE_QUANTITY_STALE"));
    }
  }

  mutation_outcome out;
  out.payload = {{"__typename", "InventorySetQuantitiesPayload"},
                 {"inventoryAdjustmentGroup", nullptr},
                 {"userErrors", errors}};
  if (!errors.empty()) {
    out.user_errors = true;
    return out;
  }

  // Apply: one change row per name, all available rows first, then on_hand.
  json available_rows = json::array();
  json on_hand_rows = json::array();
  for (auto& row : rows) {
    auto& it = *st.find_item(row.at("inventoryItemId").get<std::string>());
    auto location_id = row.at("locationId").get<std::string>();
    auto& lv = *it.find_level(location_id);
    auto quantity = as_int(row.at("quantity"));
    auto before_available = lv.available;
    if (name == "on_hand")
      st.set_on_hand(it, lv, quantity);
    else
      st.set_available(it, lv, quantity);
    auto delta = lv.available - before_available;
    if (delta == 0) continue;
    auto change = [&](const char* n) {
      return json{{"__typename", "InventoryChange"},
                  {"name", n},
                  {"delta", delta},
                  {"quantityAfterChange", nullptr},
                  {"ledgerDocumentUri", nullptr},
                  {"item", item_ref(it.id)},
                  {"location", location_ref(location_id)}};
    };
    available_rows.push_back(change("available"));
    on_hand_rows.push_back(change("on_hand"));
  }
  out.wrote = true;
  if (available_rows.empty()) return out;
  for (auto& r : on_hand_rows)
    available_rows.push_back(std::move(r));
  out.payload["inventoryAdjustmentGroup"] = {
      {"__typename", "InventoryAdjustmentGroup"},
      {"id", st.next_group_id()},
      {"createdAt", now_rfc3339()},
      {"reason", reason},
      {"referenceDocumentUri", ref_uri},
      {"changes", std::move(available_rows)}};
  return out;
}

mutation_outcome activate(store& st, const json& args) {
  json errors = json::array();
  auto item_id = args.value("inventoryItemId", std::string{});
  auto location_id = args.value("locationId", std::string{});
  auto* it = st.find_item(item_id);
  auto* loc = st.find_location(location_id);
  auto has = [&](const char* k) {
    auto i = args.find(k);
    return i != args.end() && !i->is_null();
  };
  if (it == nullptr)
    errors.push_back(user_error(json::array({"inventoryItemId"}),
                                "The product couldn't be stocked because the "
                                "product was deleted."));
  if (loc == nullptr)
    errors.push_back(user_error(json::array({"locationId"}),
                                "The product couldn't be stocked because the "
                                "location wasn't found."));
  if (it != nullptr && loc != nullptr) {
    auto stocked = it->stocked_at(location_id) != nullptr;
    if (has("available") && has("onHand")) {
      auto msg = "The product couldn't be stocked at " + loc->name +
                 " because not allowed to set available and on_hand "
                 "quantities at the same time.";
      errors.push_back(user_error(json::array({"available"}), msg));
      errors.push_back(user_error(json::array({"onHand"}), msg));
    } else if (stocked && has("available")) {
      errors.push_back(user_error(json::array({"available"}),
                                  "Not allowed to set available quantity when "
                                  "the item is already active at the "
                                  "location."));
    } else if (stocked && has("onHand")) {
      errors.push_back(user_error(json::array({"onHand"}),
                                  "Not allowed to set on_hand quantity when "
                                  "the item is already active at the "
                                  "location."));
    } else {
      for (auto* k : {"available", "onHand"})
        if (has(k) && (as_int(args.at(k)) > quantity_limit ||
                       as_int(args.at(k)) < -quantity_limit))
          errors.push_back(user_error(json::array({k}),
                                      "The product couldn't be stocked at " +
                                          loc->name +
                                          " because the quantity needs to be "
                                          "between -1 billion and 1 billion."));
    }
  }
  mutation_outcome out;
  out.payload = {{"__typename", "InventoryActivatePayload"},
                 {"inventoryLevel", nullptr},
                 {"userErrors", errors}};
  if (!errors.empty()) {
    out.user_errors = true;
    return out;
  }
  auto& lv = st.activate(*it, location_id);
  if (has("available"))
    st.set_available(*it, lv, as_int(args.at("available")));
  else if (has("onHand"))
    st.set_on_hand(*it, lv, as_int(args.at("onHand")));
  out.wrote = true;
  out.payload["inventoryLevel"] = level_ref(item_id, location_id);
  return out;
}

mutation_outcome update_item(store& st, const json& args) {
  mutation_outcome out;
  auto id = args.value("id", std::string{});
  auto* it = st.find_item(id);
  out.payload = {{"__typename", "InventoryItemUpdatePayload"},
                 {"inventoryItem", nullptr},
                 {"userErrors", json::array()}};
  if (it == nullptr) {
    out.payload["userErrors"].push_back(user_error(
        json::array({"id"}),
        "The product couldn't be updated because it does not exist."));
    out.user_errors = true;
    return out;
  }
  auto& input = args.at("input");
  if (auto t = input.find("tracked"); t != input.end() && t->is_boolean())
    it->tracked = t->get<bool>();
  if (auto s = input.find("sku"); s != input.end() && s->is_string())
    it->sku = s->get<std::string>();
  it->updated_at = now_rfc3339();
  out.wrote = true;
  out.payload["inventoryItem"] = item_ref(it->id);
  return out;
}

mutation_outcome idempotency_refusal(const std::string& payload_type,
                                     const std::string& code) {
  mutation_outcome out;
  bool coded = payload_type == "InventorySetQuantitiesPayload";
  std::string message =
      code == "IDEMPOTENCY_CONCURRENT_REQUEST"
          ? "The request with this idempotency key is currently in progress, "
            "please try again."
          : "The idempotency key has already been used with different "
            "parameters.";
  auto err = user_error(nullptr, message, coded ? code.c_str() : nullptr);
  const char* object_field = payload_type == "InventorySetQuantitiesPayload"
                                 ? "inventoryAdjustmentGroup"
                             : payload_type == "InventoryActivatePayload"
                                 ? "inventoryLevel"
                                 : "inventoryItem";
  out.payload = {{"__typename", payload_type},
                 {object_field, nullptr},
                 {"userErrors", json::array({err})}};
  out.user_errors = true;
  return out;
}

} // namespace shelfsync::shopify::sim
