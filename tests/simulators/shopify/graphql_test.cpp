#include "simulators/shopify/graphql.hpp"

#include <gtest/gtest.h>

using namespace shelfsync::shopify::graphql;

namespace {

TEST(graphql_parser, parses_operations_variables_aliases_and_directives) {
  auto r = parse(R"(
    # a comment, and commas are ignored
    mutation Push($input: InventorySetQuantitiesInput!, $key: String! = "k-1",
                  $ids: [ID!]) {
      set: inventorySetQuantities(input: $input) @idempotent(key: $key) {
        userErrors { field message code }
      }
    })");
  ASSERT_TRUE(r.ok()) << r.error->message;
  ASSERT_EQ(r.doc.operations.size(), 1u);
  auto& op = r.doc.operations[0];
  EXPECT_EQ(op.kind, operation_kind::mutation);
  EXPECT_EQ(op.name, "Push");
  ASSERT_EQ(op.variables.size(), 3u);
  EXPECT_EQ(op.variables[0].type.to_string(), "InventorySetQuantitiesInput!");
  EXPECT_EQ(op.variables[1].default_value->text, "k-1");
  EXPECT_EQ(op.variables[2].type.to_string(), "[ID!]");
  EXPECT_EQ(op.variables[2].type.base(), "ID");
  auto& f = op.selections[0];
  EXPECT_EQ(f.alias, "set");
  EXPECT_EQ(f.name, "inventorySetQuantities");
  EXPECT_EQ(f.response_key(), "set");
  ASSERT_EQ(f.directives.size(), 1u);
  EXPECT_EQ(f.directives[0].name, "idempotent");
  EXPECT_EQ(f.directives[0].arguments[0].val.type, value::kind::variable);
  EXPECT_EQ(f.selections[0].selections.size(), 3u);
  EXPECT_EQ(f.at.line, 5);
  EXPECT_EQ(f.at.column, 7);
}

TEST(graphql_parser, parses_fragments_inline_fragments_and_anonymous_query) {
  auto r = parse(R"({ nodes(ids: ["a", "b"]) { __typename ...Item
                       ... on Location { name } ... @include(if: true) { id } } }
                     fragment Item on InventoryItem { id sku })");
  ASSERT_TRUE(r.ok()) << r.error->message;
  auto& op = r.doc.operations[0];
  EXPECT_EQ(op.kind, operation_kind::query);
  EXPECT_TRUE(op.name.empty());
  auto& nodes = op.selections[0];
  ASSERT_EQ(nodes.selections.size(), 4u);
  EXPECT_EQ(nodes.selections[1].type, selection::kind::fragment_spread);
  EXPECT_EQ(nodes.selections[1].name, "Item");
  EXPECT_EQ(nodes.selections[2].type, selection::kind::inline_fragment);
  EXPECT_EQ(nodes.selections[2].type_condition, "Location");
  EXPECT_EQ(nodes.selections[3].type_condition, "");
  EXPECT_EQ(nodes.selections[3].directives[0].name, "include");
  ASSERT_NE(r.doc.find_fragment("Item"), nullptr);
  EXPECT_EQ(r.doc.find_fragment("Item")->type_condition, "InventoryItem");
}

TEST(graphql_parser, decodes_string_escapes_and_block_strings) {
  auto r = parse(
      R"({ a(q: "sku:'A\\'B' \"x\" \\ \/ \n\t\u00e9\ud83d\ude00") b(q: """
        first
          second
      """) })");
  ASSERT_TRUE(r.ok()) << r.error->message;
  auto& sels = r.doc.operations[0].selections;
  EXPECT_EQ(sels[0].arguments[0].val.text,
            "sku:'A\\'B' \"x\" \\ / \n\t\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(sels[1].arguments[0].val.text, "first\n  second");
}

TEST(graphql_parser, parses_literals) {
  auto r = parse(
      R"({ f(a: -12, b: 1.5e3, c: true, d: null, e: ENUM, g: [1, [2]], h: {x: {y: "z"}}) })");
  ASSERT_TRUE(r.ok()) << r.error->message;
  auto& args = r.doc.operations[0].selections[0].arguments;
  EXPECT_EQ(args[0].val.type, value::kind::integer);
  EXPECT_EQ(args[0].val.text, "-12");
  EXPECT_EQ(args[1].val.type, value::kind::floating);
  EXPECT_TRUE(args[2].val.boolean);
  EXPECT_EQ(args[3].val.type, value::kind::null);
  EXPECT_EQ(args[4].val.type, value::kind::enumeration);
  EXPECT_EQ(args[5].val.items[1].items[0].text, "2");
  EXPECT_EQ(args[6].val.fields[0].second.fields[0].second.text, "z");
}

TEST(graphql_parser, reports_errors_with_line_and_column) {
  auto r = parse("query {\n  inventoryItems(first: 2 {\n}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->at.line, 2);
  EXPECT_EQ(r.error->at.column, 27);
  EXPECT_EQ(r.error->message, "Parse error on \"{\" (LCURLY) at [2, 27]");

  auto eof = parse("{ a { b }");
  ASSERT_FALSE(eof.ok());
  EXPECT_EQ(eof.error->message.rfind("Unexpected end of document", 0), 0u);

  auto bad_string = parse("{ a(x: \"unterminated) }");
  ASSERT_FALSE(bad_string.ok());
  EXPECT_EQ(bad_string.error->at.column, 8);

  auto bad_escape = parse(R"({ a(x: "\q") })");
  ASSERT_FALSE(bad_escape.ok());

  EXPECT_FALSE(parse("").ok());
  EXPECT_FALSE(parse("{ }").ok());
  EXPECT_FALSE(parse("fragment on on X { a }").ok());
}

TEST(graphql_parser, parses_type_references) {
  EXPECT_EQ(parse_type("[[Int!]]!")->to_string(), "[[Int!]]!");
  EXPECT_FALSE(parse_type("[Int").has_value());
  EXPECT_FALSE(parse_type("Int Int").has_value());
}

} // namespace
