#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// The syntax tree of GraphQL executable documents (operations and
/// fragments), and a parser for them. The simulator executes what this parses;
/// the tests use it to check the documents the client builds.
namespace shelfsync::shopify::graphql {

// -- syntax tree -------------------------------------------------------------

/// A 1-based line and column in a document, as GraphQL errors report them.
struct position {
  int line = 0;
  int column = 0;
};

/// A value literal; variables stay unresolved until execution.
struct value {
  /// What the literal is.
  enum class kind {
    null,
    variable,
    integer,
    floating,
    string,
    boolean,
    enumeration,
    list,
    object,
  };
  kind type = kind::null;
  /// Variable or enum name, decoded string, or the number's lexeme.
  std::string text;
  /// The value of a boolean literal.
  bool boolean = false;
  /// The elements of a list literal.
  std::vector<value> items;
  /// The fields of an object literal, in document order.
  std::vector<std::pair<std::string, value>> fields;
  /// Where the literal starts.
  position at;
};

/// `name: value` in a field's or directive's argument list.
struct argument {
  std::string name;
  graphql::value val;
  position at;
};

/// `@name(arguments)`.
struct directive {
  std::string name;
  std::vector<argument> arguments;
  position at;
};

/// One entry of a selection set: a field, a fragment spread or an inline
/// fragment.
struct selection {
  /// Which of the three this is.
  enum class kind { field, fragment_spread, inline_fragment };
  kind type = kind::field;
  /// The alias of a field; empty when none was given.
  std::string alias;
  /// The field name, or the name of the spread fragment.
  std::string name;
  /// `on Type` of an inline fragment; empty when omitted.
  std::string type_condition;
  std::vector<argument> arguments;
  std::vector<directive> directives;
  std::vector<selection> selections;
  position at;

  /// The key under which the field appears in the response.
  const std::string& response_key() const {
    return alias.empty() ? name : alias;
  }
};

/// A type reference such as `[ID!]!`.
struct type_ref {
  /// The named type; empty for a list type.
  std::string name;
  /// The element type of a list type (exactly one entry), else empty.
  std::vector<type_ref> list_of;
  bool non_null = false;

  /// True for `[...]`.
  bool is_list() const { return !list_of.empty(); }
  /// The innermost named type.
  const std::string& base() const {
    return is_list() ? list_of.front().base() : name;
  }
  /// The type as GraphQL spells it, e.g. `[String!]!`.
  std::string to_string() const;
};

/// `$name: Type = default`.
struct variable_definition {
  std::string name;
  type_ref type;
  std::optional<value> default_value;
  position at;
};

/// The three operation kinds.
enum class operation_kind { query, mutation, subscription };

/// The spelling of an operation kind, e.g. "mutation".
const char* to_string(operation_kind k);

/// A query, mutation or subscription; `name` is empty when anonymous.
struct operation {
  operation_kind kind = operation_kind::query;
  std::string name;
  std::vector<variable_definition> variables;
  std::vector<directive> directives;
  std::vector<selection> selections;
  position at;
};

/// `fragment Name on Type { ... }`.
struct fragment {
  std::string name;
  std::string type_condition;
  std::vector<directive> directives;
  std::vector<selection> selections;
  position at;
};

/// A parsed executable document.
struct document {
  std::vector<operation> operations;
  std::vector<fragment> fragments;

  /// The fragment called `name`, or null.
  const fragment* find_fragment(std::string_view name) const;
};

// -- parsing -----------------------------------------------------------------

/// Why a document could not be parsed, and where.
struct syntax_error {
  /// graphql-ruby's wording, as Shopify returns it, e.g.
  /// `Parse error on "}" (RCURLY) at [1, 10]`.
  std::string message;
  position at;
};

/// A document, or the first syntax error in it.
struct parse_result {
  document doc;
  std::optional<syntax_error> error;

  /// True when the document parsed.
  bool ok() const { return !error; }
};

/// Parses an executable document (operations and fragments).
parse_result parse(std::string_view source);

/// Parses a type reference such as `[ID!]!`; returns nullopt if malformed.
std::optional<type_ref> parse_type(std::string_view text);

} // namespace shelfsync::shopify::graphql
