#include "channels/shopify/wire.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "simulators/shopify/document.hpp"
#include "simulators/shopify/graphql.hpp"
#include "simulators/shopify/validate.hpp"

using namespace shelfsync::shopify;
using nlohmann::json;

namespace {

push_request sample_push(size_t rows) {
  push_request p;
  p.idempotency_key = "push-7";
  p.track = {"gid://shopify/InventoryItem/1"};
  p.activate = {
      {"gid://shopify/InventoryItem/1", "gid://shopify/Location/9", {}}};
  for (size_t i = 0; i < rows; ++i)
    p.quantities.push_back(
        {"gid://shopify/InventoryItem/" + std::to_string(i + 1),
         "gid://shopify/Location/1", static_cast<int64_t>(i), std::nullopt});
  return p;
}

/// Validates a built document with the simulator's schema of `v`.
void expect_valid(const graphql_request& r, api_version v) {
  auto parsed = graphql::parse(r.query);
  ASSERT_TRUE(parsed.ok()) << parsed.error->message << "\n" << r.query;
  auto schema = sim::schema::for_version(v);
  auto errors = sim::validate(*schema, parsed.doc);
  EXPECT_TRUE(errors.empty()) << errors.dump(2) << "\n" << r.query;
  sim::json errs = sim::json::array();
  auto vars = sim::json::parse(r.variables.dump());
  sim::coerce_variables(*schema, parsed.doc.operations.at(0), vars, errs);
  EXPECT_TRUE(errs.empty()) << errs.dump(2);
}

TEST(wire_push, every_row_carries_an_explicit_null_change_from_quantity) {
  auto r = push_request_document(sample_push(3), api_version{2026, 10});
  auto body = r.body();
  // The literal null must be on the wire, not dropped by the serializer.
  std::regex row(R"(\{[^{}]*"inventoryItemId"[^{}]*\})");
  size_t rows = 0;
  for (std::sregex_iterator i(body.begin(), body.end(), row), end; i != end;
       ++i) {
    EXPECT_NE(i->str().find("\"changeFromQuantity\":null"), std::string::npos)
        << i->str();
    ++rows;
  }
  EXPECT_EQ(rows, 3u);
  EXPECT_EQ(body.find("ignoreCompareQuantity"), std::string::npos);
  EXPECT_EQ(r.variables["input"]["name"], "available");
  EXPECT_EQ(r.variables["input"]["reason"], "correction");
}

TEST(wire_push, a_row_with_a_compare_value_sends_it_as_an_integer) {
  auto p = sample_push(2);
  p.quantities[1].change_from = 41;
  auto r = push_request_document(p, api_version{2026, 10});
  auto& rows = r.variables["input"]["quantities"];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0]["changeFromQuantity"].is_null());
  ASSERT_TRUE(rows[1]["changeFromQuantity"].is_number_integer());
  EXPECT_EQ(rows[1]["changeFromQuantity"], 41);
  expect_valid(r, api_version{2026, 10});
  // Before 2026-01: compareQuantity on every row when every row has one.
  p.quantities[0].change_from = 0;
  auto old = push_request_document(p, api_version{2025, 10});
  EXPECT_FALSE(old.variables["input"].contains("ignoreCompareQuantity"));
  EXPECT_EQ(old.variables["input"]["quantities"][1]["compareQuantity"], 41);
  expect_valid(old, api_version{2025, 10});
}

TEST(wire_push, idempotent_directive_on_set_and_activate_only) {
  auto r = push_request_document(sample_push(2), api_version{2026, 10});
  auto doc = graphql::parse(r.query);
  ASSERT_TRUE(doc.ok());
  auto& op = doc.doc.operations.at(0);
  EXPECT_EQ(op.kind, graphql::operation_kind::mutation);
  ASSERT_EQ(op.selections.size(), 3u);
  // Mutation fields run in order: tracking, activation, quantities.
  EXPECT_EQ(op.selections[0].name, "inventoryItemUpdate");
  EXPECT_TRUE(op.selections[0].directives.empty());
  EXPECT_EQ(op.selections[1].name, "inventoryActivate");
  ASSERT_EQ(op.selections[1].directives.size(), 1u);
  EXPECT_EQ(op.selections[1].directives[0].name, "idempotent");
  EXPECT_EQ(op.selections[2].name, "inventorySetQuantities");
  ASSERT_EQ(op.selections[2].directives.size(), 1u);
  EXPECT_EQ(op.selections[2].directives[0].name, "idempotent");
  EXPECT_EQ(r.variables["key"], "push-7");
  EXPECT_EQ(r.variables["a0k"], "push-7.a0");
  EXPECT_TRUE(op.directives.empty());        // never on the operation
  EXPECT_FALSE(r.variables.contains("a0q")); // activation without quantity
}

TEST(wire_push, documents_validate_against_each_contract) {
  for (auto v : {api_version{2025, 10}, api_version{2026, 1},
                 api_version{2026, 4}, api_version{2026, 10}})
    expect_valid(push_request_document(sample_push(2), v), v);
  auto old = push_request_document(sample_push(1), api_version{2025, 10});
  EXPECT_EQ(old.query.find("@idempotent"), std::string::npos);
  EXPECT_EQ(old.variables["input"]["ignoreCompareQuantity"], true);
  EXPECT_FALSE(
      old.variables["input"]["quantities"][0].contains("changeFromQuantity"));
  expect_valid(lookup_request({"A", "B'C"}), api_version{2026, 10});
  expect_valid(read_levels_request({"gid://shopify/InventoryItem/1"}),
               api_version{2026, 10});
  expect_valid(levels_page_request("gid://shopify/InventoryItem/1", "c1"),
               api_version{2026, 10});
  expect_valid(sku_candidates_request("A", ""), api_version{2026, 10});
}

TEST(wire_push, refuses_pushes_shopify_would_refuse) {
  api_version v{2026, 10};
  EXPECT_EQ(check_push(sample_push(250), v), "");
  EXPECT_NE(check_push(sample_push(251), v).find("at most 250"),
            std::string::npos);
  auto dup = sample_push(2);
  dup.quantities.push_back(dup.quantities[0]);
  EXPECT_NE(check_push(dup, v).find("quantities[2] repeats item"),
            std::string::npos);
  auto no_key = sample_push(1);
  no_key.idempotency_key = "  ";
  EXPECT_NE(check_push(no_key, v).find("idempotency key"), std::string::npos);
  EXPECT_EQ(check_push(no_key, api_version{2025, 10}), "");
  auto huge = sample_push(1);
  huge.quantities[0].quantity = 1'000'000'001;
  EXPECT_NE(check_push(huge, v), "");
  EXPECT_NE(check_push(push_request{}, v), "");
  auto costly = sample_push(1);
  for (int i = 0; i < 90; ++i)
    costly.activate.push_back(
        {"I", "gid://shopify/Location/" + std::to_string(i), {}});
  EXPECT_NE(check_push(costly, v).find("above Shopify's 1000"),
            std::string::npos);
}

TEST(wire_lookup, aliases_one_search_per_sku_with_escaped_quotes) {
  auto r = lookup_request({"A-1", "it's\\x"}, {25, 2});
  EXPECT_EQ(r.variables["q0"], "sku:'A-1'");
  EXPECT_EQ(r.variables["q1"], "sku:'it\\'s\\\\x'");
  EXPECT_NE(r.query.find("s0: inventoryItems(first: 2, query: $q0)"),
            std::string::npos);
  EXPECT_NE(r.query.find("inventoryLevels(first: 25)"), std::string::npos);
  EXPECT_NE(r.query.find("quantities(names: [\"available\"])"),
            std::string::npos);
}

TEST(wire_lookup, matches_skus_exactly) {
  auto a = parse_answer(R"({"data": {
    "s0": {"nodes": [{"id": "I1", "sku": "AB-10", "tracked": true},
                     {"id": "I2", "sku": "AB-1", "tracked": false,
                      "inventoryLevels": {"nodes": [
                        {"location": {"id": "L1"},
                         "quantities": [{"name": "available", "quantity": 4}]}],
                        "pageInfo": {"hasNextPage": false}}}],
           "pageInfo": {"hasNextPage": false}},
    "s1": {"nodes": [{"id": "I3", "sku": "ab-2"}], "pageInfo": {"hasNextPage": false}},
    "s2": {"nodes": [{"id": "I4", "sku": "X"}, {"id": "I5", "sku": "X"}],
           "pageInfo": {"hasNextPage": true, "endCursor": "c5"}},
    "s3": {"nodes": [{"id": "I6", "sku": "Y-1"}, {"id": "I7", "sku": "Y-2"}],
           "pageInfo": {"hasNextPage": true, "endCursor": "c7"}}}})");
  ASSERT_TRUE(a);
  auto m = parse_lookup(*a, {"AB-1", "AB-2", "X", "Y"});
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].status, sku_status::found);
  EXPECT_EQ(m[0].item.id, "I2");
  EXPECT_FALSE(m[0].item.tracked);
  ASSERT_EQ(m[0].item.levels.size(), 1u);
  EXPECT_EQ(m[0].item.levels[0].location_id, "L1");
  EXPECT_EQ(m[0].item.levels[0].available, 4);
  EXPECT_EQ(m[1].status, sku_status::not_found); // case counts
  EXPECT_EQ(m[2].status, sku_status::ambiguous);
  EXPECT_EQ(m[2].error, "several inventory items have SKU X");
  EXPECT_EQ(m[3].status, sku_status::incomplete);
  EXPECT_EQ(m[3].cursor, "c7");
}

TEST(wire_answer, parses_cost_errors_and_throttling) {
  auto t = parse_answer(R"({"errors":[{"message":"Throttled","extensions":{
      "code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],
    "extensions":{"cost":{"requestedQueryCost":13,"actualQueryCost":null,
      "throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":7,
                        "restoreRate":50.0}}}})");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->throttled());
  EXPECT_TRUE(t->data.is_null());
  ASSERT_TRUE(t->cost);
  EXPECT_EQ(t->cost->requested, 13);
  EXPECT_FALSE(t->cost->actual);
  EXPECT_EQ(t->cost->throttle.maximum_available, 1000);
  EXPECT_EQ(t->cost->throttle.currently_available, 7);
  EXPECT_EQ(t->cost->throttle.restore_rate, 50);

  auto v = parse_answer(
      R"({"errors":[{"message":"InventoryQuantityInput must include the following argument: changeFromQuantity.",
    "extensions":{"code":"INVALID_FIELD_ARGUMENTS"},"path":["inventorySetQuantities"]}],
    "data":{"inventorySetQuantities":null}})");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->throttled());
  ASSERT_NE(v->find_error("INVALID_FIELD_ARGUMENTS"), nullptr);
  EXPECT_EQ(v->errors[0].path, json::array({"inventorySetQuantities"}));

  auto rest = parse_answer(
      R"x({"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"})x");
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->errors.size(), 1u);
  std::string why;
  EXPECT_FALSE(parse_answer("<html>", &why));
  EXPECT_FALSE(why.empty());
}

TEST(wire_push, maps_user_errors_to_rows) {
  auto p = sample_push(3);
  auto a = parse_answer(R"({"data":{
    "track0":{"inventoryItem":null,"userErrors":[{"field":["id"],"message":"gone"}]},
    "activate0":{"inventoryLevel":{"id":"x"},"userErrors":[]},
    "set":{"inventoryAdjustmentGroup":null,"userErrors":[
      {"field":["input","quantities","2","locationId"],"message":"The specified inventory item is not stocked at the location.","code":"ITEM_NOT_STOCKED_AT_LOCATION"},
      {"field":null,"message":"dup","code":"IDEMPOTENCY_KEY_PARAMETER_MISMATCH"}]}}})");
  ASSERT_TRUE(a);
  auto o = parse_push(*a, p);
  EXPECT_FALSE(o.applied);
  ASSERT_EQ(o.row_errors.size(), 1u);
  EXPECT_EQ(o.row_errors[0].row, 2u);
  EXPECT_EQ(o.row_errors[0].error.code, "ITEM_NOT_STOCKED_AT_LOCATION");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_TRUE(o.errors[0].field.empty());
  ASSERT_EQ(o.tracking_errors.size(), 1u);
  EXPECT_EQ(o.tracking_errors[0].first, "gid://shopify/InventoryItem/1");
  EXPECT_TRUE(o.activation_errors.empty());
}

TEST(wire_cost, estimates_match_shopifys_recorded_costs) {
  push_request only_set;
  only_set.quantities = {{"I", "L", 1}};
  EXPECT_EQ(push_cost(only_set), 13);
  EXPECT_EQ(push_cost(sample_push(5)), 13 + 11 + 11);
  EXPECT_EQ(push_cost(2, 3), 13 + 11 + 11); // what the shop paces by
  EXPECT_EQ(push_cost(1, 0), 11);
  EXPECT_EQ(read_levels_cost(2, {10, 2}), 46);
}

TEST(wire_cost, setup_fields_are_cut_to_the_query_cost_limit) {
  // 89 x 11 + 13 = 992 <= 1000 < 90 x 11 + 13.
  EXPECT_EQ(max_setup_fields(), 89u);
  EXPECT_LE(push_cost(max_setup_fields(), 250), max_query_cost);
  EXPECT_GT(push_cost(max_setup_fields() + 1, 1), max_query_cost);
  // A smaller bucket holds fewer: 44 x 11 + 13 = 497.
  EXPECT_EQ(max_setup_fields(500), 44u);
  EXPECT_EQ(max_setup_fields(5), 1u);
}

} // namespace
