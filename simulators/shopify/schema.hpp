#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "channels/shopify/api_version.hpp"
#include "simulators/shopify/graphql.hpp"

/// The part of Shopify's Admin GraphQL schema the simulator serves: the
/// inventory and location types, the three inventory mutations, per API
/// version (the inventory input shapes changed at 2026-01 and 2026-04).
namespace shelfsync::shopify::sim {

/// JSON whose objects keep their insertion order, as GraphQL responses must.
using json = nlohmann::ordered_json;

/// What sort of type a schema type is.
enum class type_kind { scalar, enumeration, object, interface, input_object };

/// An argument of a field or directive, or a field of an input object.
struct input_value_def {
  std::string name;
  graphql::type_ref type;
  /// The default applied when the argument is omitted.
  std::optional<json> default_value;
};

/// A field of an object or interface type.
struct field_def {
  std::string name;
  graphql::type_ref type;
  std::vector<input_value_def> args;
  /// Relay connection: needs `first` or `last`, and is costed by it.
  bool connection = false;

  /// The argument called `name`, or null.
  const input_value_def* find_arg(std::string_view name) const;
};

/// A named type.
struct type_def {
  std::string name;
  type_kind kind = type_kind::object;
  /// Fields of an object or interface.
  std::vector<field_def> fields;
  /// Fields of an input object.
  std::vector<input_value_def> input_fields;
  /// Values of an enum.
  std::vector<std::string> enum_values;
  /// Object types implementing an interface; interfaces of an object.
  std::vector<std::string> related;

  /// The output field called `name`, or null.
  const field_def* find_field(std::string_view name) const;
  /// The input field called `name`, or null.
  const input_value_def* find_input_field(std::string_view name) const;
  /// True for objects, interfaces (selections required).
  bool is_composite() const {
    return kind == type_kind::object || kind == type_kind::interface;
  }
};

/// A directive the schema knows, with where it may appear.
struct directive_def {
  std::string name;
  std::vector<input_value_def> args;
  /// Allowed on fields (else on nothing the simulator checks).
  bool on_field = true;
  /// Allowed on fragment spreads and inline fragments.
  bool on_fragment = true;
};

/// The schema of one API version.
class schema {
 public:
  /// The schema as Shopify serves it for `v` (cached; never null).
  static std::shared_ptr<const schema> for_version(api_version v);

  /// The type called `name`, or null.
  const type_def* find_type(std::string_view name) const;
  /// The directive called `name`, or null.
  const directive_def* find_directive(std::string_view name) const;
  /// True when `object_type` may appear where `abstract_or_same` is expected.
  bool is_possible(std::string_view abstract_or_same,
                   std::string_view object_type) const;

  /// The version this schema describes.
  api_version version() const { return version_; }

  /// Root type names.
  static constexpr const char* query_root = "QueryRoot";
  static constexpr const char* mutation_root = "Mutation";

 private:
  explicit schema(api_version v);
  void add(type_def t);

  api_version version_;
  std::map<std::string, type_def, std::less<>> types_;
  std::vector<directive_def> directives_;
};

} // namespace shelfsync::shopify::sim
